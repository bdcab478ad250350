"""The agent-allocation API: a Chalice app wiring the agent and customer routes.

Routes live in ``chalicelib/routes``; services, the store and configuration
are built lazily on first use, so importing this module touches neither
boto3 clients nor the environment.

Besides the REST routes, the app has the WebSocket handlers (``$connect``,
``$disconnect``, ``$default``) and one stream handler per table whose changes
become events (``chalicelib/routes/realtime.py``), and the webhook queue's
consumer that POSTs each event to the stage's webhook URLs (``chalicelib/webhooks.py``).
The stream and queue ARNs below are placeholders: ``tools/package.py`` points
the event sources at the streams and the queue in ``infra/tables.json`` (ARNs,
not a queue name: its merge can replace a literal value, not chalice's ``Fn::Sub``).
A scheduled function sweeps silent agents offline every minute (``chalicelib/presence.py``).
"""

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, DynamoDBEvent, SQSEvent, WebsocketEvent

from chalicelib import logs
from chalicelib.config import get_settings
from chalicelib.routes import agents, console, customers, docs, gateway, realtime, schedule, supervisors
from chalicelib.routes.common import preflight, standard_responses

app = Chalice(app_name="agent-allocation")
app.register_middleware(standard_responses, "http")
app.register_blueprint(agents.bp)
app.register_blueprint(customers.bp)
app.register_blueprint(supervisors.bp)
app.register_blueprint(realtime.bp)
app.register_blueprint(docs.bp)
app.register_blueprint(console.bp)

# CORS preflight for every path, answered by the function itself (see
# chalicelib/routes/common.py): which origins are allowed is configuration,
# read at run time, not baked into the API Gateway definition.
for _path in list(app.routes):
    app.route(_path, methods=["OPTIONS"], name=f"preflight_{len(app.routes)}")(preflight)

# What the HTTP API hands over under its catch-all $default route (a trailing slash,
# a method a path lacks, an unknown path) is matched here as the REST API would
# (chalicelib/routes/gateway.py). Inside standard_responses: its 404 gets our headers.
app.register_middleware(gateway.default_route(app.routes), "http")

# -- real-time: WebSocket API and stream event sources ------------------------

app.experimental_feature_flags.update(["WEBSOCKETS"])
USERS_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/agent-allocation-users/stream/placeholder"
CHATS_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/agent-allocation-chats/stream/placeholder"
STREAM_BATCH_SIZE = 100
WEBHOOK_QUEUE = "arn:aws:sqs:us-east-1:000000000000:agent-allocation-webhooks"


# Lambda finds each handler by its name in this module: each is declared here.
@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> dict:
    with logs.handling_event(event, get_settings()):
        return realtime.on_connect(event)


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> None:
    with logs.handling_event(event, get_settings()):
        realtime.on_disconnect(event)


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> None:
    with logs.handling_event(event, get_settings()):
        realtime.on_message(event)


@app.on_dynamodb_record(USERS_STREAM, batch_size=STREAM_BATCH_SIZE)
def users_events(event: DynamoDBEvent) -> None:
    with logs.handling_event(event, get_settings()):
        realtime.on_stream(event)


@app.on_dynamodb_record(CHATS_STREAM, batch_size=STREAM_BATCH_SIZE)
def chats_events(event: DynamoDBEvent) -> None:
    with logs.handling_event(event, get_settings()):
        realtime.on_stream(event)


# One delivery per invocation: a failed one alone is retried (later, by the queue's visibility
# timeout) and, after the redrive policy's receives, left in the dead-letter queue.
@app.on_sqs_message(queue_arn=WEBHOOK_QUEUE, batch_size=1)
def webhook_deliveries(event: SQSEvent) -> dict:
    with logs.handling_event(event, get_settings()):
        return realtime.on_webhook_delivery(event)


# -- presence: agents silent for PRESENCE_TIMEOUT_SECONDS go offline -------------


@app.schedule(Rate(1, unit=Rate.MINUTES))
def presence_sweep(event: CloudWatchEvent) -> None:
    with logs.handling_event(event, get_settings()):
        schedule.sweep()
