"""The real-time path in the packaged template: the WebSocket API, the stream and queue event sources, the queues.

Read from ``make package``'s output (``conftest.py``), so each test fails if ``tools/package.py`` stops wiring
what it claims; the queues are also deployed in moto's CloudFormation from ``infra/tables.json``.
"""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from moto import mock_aws

import app as app_module
from chalicelib import webhooks
from chalicelib.store import tables as schema
from tests.support.stacks import deploy_tables
from tests.support.templates import functions, get_att
from tools import package

STAGES = package.STAGES
STREAM_HANDLERS = {"UsersEvents": ("app.users_events", "UsersTable"), "ChatsEvents": ("app.chats_events", "ChatsTable")}
QUEUES = ("WebhookQueue", "WebhookDeadLetterQueue", "StreamDeadLetterQueue")
FOURTEEN_DAYS = 14 * 24 * 3600
# AWS's advice for a queue that feeds a function: hide a received message for six times the function's timeout.
VISIBILITY_PER_FUNCTION_TIMEOUT = 6


def events(template: dict, function: str) -> list[dict]:
    return list(functions(template)[function].get("Events", {}).values())


@pytest.mark.parametrize("stage", STAGES)
def test_the_websocket_api_routes_connect_disconnect_and_messages_to_the_apps_handlers(templates, stage):
    resources = templates[stage]["Resources"]
    assert resources["WebsocketAPI"]["Properties"]["ProtocolType"] == "WEBSOCKET"
    handlers = {}
    for route in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"):
        integration = route["Target"]["Fn::Join"][1][1]["Ref"]
        function = resources[integration]["Properties"]["IntegrationUri"]["Fn::Sub"][1]["WebsocketHandler"]["Ref"]
        handlers[route["RouteKey"]] = resources[function]["Properties"]["Handler"]
    assert handlers == {"$connect": "app.ws_connect", "$disconnect": "app.ws_disconnect", "$default": "app.ws_message"}


@pytest.mark.parametrize("stage", STAGES)
def test_each_stream_handler_reads_its_tables_stream(templates, stage):
    resources = templates[stage]["Resources"]
    for function, (handler, table) in STREAM_HANDLERS.items():
        assert resources[function]["Properties"]["Handler"] == handler
        (source,) = events(templates[stage], function)
        assert source["Type"] == "DynamoDB"
        assert source["Properties"]["Stream"] == get_att(table, "StreamArn")
        stream = resources[table]["Properties"]["StreamSpecification"]
        assert stream == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


@pytest.mark.parametrize("stage", STAGES)
def test_a_failing_stream_batch_is_split_retried_then_recorded_in_the_dead_letter_queue(templates, stage):
    for function in STREAM_HANDLERS:
        (source,) = events(templates[stage], function)
        properties = source["Properties"]
        assert properties["BatchSize"] == app_module.STREAM_BATCH_SIZE == 100
        assert properties["StartingPosition"] == "LATEST"
        assert properties["BisectBatchOnFunctionError"] is True
        assert properties["MaximumRetryAttempts"] == package.STREAM_MAX_RETRY_ATTEMPTS
        assert 1 <= package.STREAM_MAX_RETRY_ATTEMPTS <= 10  # bounded: a poison record cannot hold a shard for a day
        assert properties["MaximumRecordAgeInSeconds"] == package.STREAM_MAX_RECORD_AGE_SECONDS
        assert 60 <= package.STREAM_MAX_RECORD_AGE_SECONDS < 24 * 3600  # within the stream's 24 h retention
        assert properties["DestinationConfig"] == {"OnFailure": {"Destination": get_att("StreamDeadLetterQueue")}}


@pytest.mark.parametrize("stage", STAGES)
def test_the_webhook_consumer_takes_one_delivery_at_a_time_from_the_webhook_queue(templates, stage):
    assert functions(templates[stage])["WebhookDeliveries"]["Handler"] == "app.webhook_deliveries"
    (source,) = events(templates[stage], "WebhookDeliveries")
    assert source["Type"] == "SQS"
    assert source["Properties"]["Queue"] == get_att("WebhookQueue")
    assert source["Properties"]["BatchSize"] == 1
    # A failed delivery is reported, not raised (no stack trace in the logs): the source must read it.
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_queues_are_the_stages_encrypted_and_dead_letters_are_kept_14_days(templates, stage):
    resources = templates[stage]["Resources"]
    names = {
        "WebhookQueue": "webhooks",
        "WebhookDeadLetterQueue": "webhooks-dlq",
        "StreamDeadLetterQueue": "stream-failures",
    }
    for queue, suffix in names.items():
        properties = resources[queue]["Properties"]
        assert resources[queue]["Type"] == "AWS::SQS::Queue"
        assert properties["QueueName"] == {"Fn::Sub": f"agent-allocation-${{Stage}}-{suffix}"}
        assert properties["SqsManagedSseEnabled"] is True
    for dead_letters in ("WebhookDeadLetterQueue", "StreamDeadLetterQueue"):
        assert resources[dead_letters]["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS
    # A message keeps its first enqueue time in the dead-letter queue: it must outlive the source's retention.
    assert resources["WebhookQueue"]["Properties"]["MessageRetentionPeriod"] < FOURTEEN_DAYS


@pytest.mark.parametrize("stage", STAGES)
def test_a_webhook_delivery_is_hidden_while_it_runs_and_dead_lettered_after_max_receives(templates, stage):
    resources = templates[stage]["Resources"]
    queue = resources["WebhookQueue"]["Properties"]
    timeout = functions(templates[stage])["WebhookDeliveries"]["Timeout"]
    assert queue["VisibilityTimeout"] >= VISIBILITY_PER_FUNCTION_TIMEOUT * timeout
    dead_letters = get_att("WebhookDeadLetterQueue")
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": dead_letters, "maxReceiveCount": webhooks.MAX_RECEIVES}


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_is_told_this_stacks_websocket_api_and_webhook_queue(templates, stage):
    template = templates[stage]
    stage_name = template["Resources"]["WebsocketAPIStage"]["Properties"]["StageName"]
    host = "${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables == {
        "WS_URL": {"Fn::Sub": f"wss://{host}/{stage_name}"},
        "WS_MANAGEMENT_URL": {"Fn::Sub": f"https://{host}/{stage_name}"},
        "WEBHOOK_QUEUE_URL": {"Ref": "WebhookQueue"},
    }
    for name, function in functions(template).items():  # no function overrides them with a value of its own
        assert not set(variables) & set(function["Environment"]["Variables"]), name


@pytest.mark.parametrize("stage", STAGES)
def test_the_connections_table_is_packaged_with_ttl(templates, stage):
    connections = templates[stage]["Resources"]["ConnectionsTable"]["Properties"]
    assert connections["TableName"] == {"Fn::Sub": "agent-allocation-${Stage}-connections"}
    assert connections["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}


def test_packaging_refuses_an_event_source_that_names_a_placeholder(templates):
    template = copy.deepcopy(templates["dev"])
    template["Resources"]["UsersEvents"]["Properties"]["Events"]["UsersEventsDynamodbEventSource"]["Properties"][
        "Stream"
    ] = app_module.USERS_STREAM
    with pytest.raises(SystemExit, match="UsersEvents"):
        package.check_wiring(template)


def test_packaging_refuses_a_function_with_a_role_of_its_own(templates):
    template = copy.deepcopy(templates["dev"])
    template["Resources"]["PresenceSweep"]["Properties"]["Role"] = {"Fn::GetAtt": ["PresenceSweepRole", "Arn"]}
    with pytest.raises(SystemExit, match="PresenceSweep"):
        package.check_wiring(template)


def test_the_queues_deployed_by_cloudformation_redrive_a_failing_delivery_to_its_dead_letter_queue():
    """infra/tables.json in moto's CloudFormation: the queues exist as declared, and a delivery received
    maxReceiveCount times without being deleted moves to the dead-letter queue."""
    with mock_aws():
        outputs = deploy_tables()
        urls = {q: outputs[f"{q}Url"] for q in QUEUES}
        sqs = boto3.client("sqs")
        attributes = {
            q: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["All"])["Attributes"] for q, u in urls.items()
        }
        assert urls["WebhookQueue"].endswith("/agent-allocation-test-webhooks")
        assert all(a["SqsManagedSseEnabled"] == "true" for a in attributes.values())
        redrive = json.loads(attributes["WebhookQueue"]["RedrivePolicy"])
        assert redrive == {
            "deadLetterTargetArn": attributes["WebhookDeadLetterQueue"]["QueueArn"],
            "maxReceiveCount": 8,
        }

        sqs.send_message(QueueUrl=urls["WebhookQueue"], MessageBody='{"event_id": "e1"}')
        for _ in range(redrive["maxReceiveCount"]):  # each delivery fails: the message becomes visible again
            (message,) = sqs.receive_message(QueueUrl=urls["WebhookQueue"])["Messages"]
            sqs.change_message_visibility(
                QueueUrl=urls["WebhookQueue"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        assert "Messages" not in sqs.receive_message(QueueUrl=urls["WebhookQueue"])
        (dead,) = sqs.receive_message(QueueUrl=urls["WebhookDeadLetterQueue"])["Messages"]
        assert dead["Body"] == '{"event_id": "e1"}'
