"""``make package``: the deployable template and Lambda zip for one stage, checked.

    python -m tools.package --stage dev [--api http|rest] [--out build]

1. Writes the merge template ``build/<stage>-tables.json``: ``infra/tables.json``
   pinned to the stage (its ``Stage`` parameter can only be this stage, so the
   tables and the function's environment cannot name different stages), plus
   the real-time wiring and IAM below and fixes of chalice's output.
2. Runs ``chalice package --merge-template`` into ``build/<stage>/``
   (``sam.json`` and ``deployment.zip``).
3. With ``--api http`` (the default; ``API_TYPE`` in the environment sets it
   too), replaces chalice's REST API in ``sam.json`` by an HTTP API
   (``use_http_api``, below).
4. Fails if the zip is larger than ``MAX_ZIP_BYTES`` or ships boto3/botocore
   (the Lambda runtime provides them; shipping them would only add cold-start
   time and megabytes), and prints its size.
5. Fails if a function would run with another role than the service role, or
   an event source still names a placeholder (``check_wiring``).
6. Runs cfn-lint on ``sam.json``.

**The HTTP API** (``--api http``, the default: $1.00 per million requests
against the REST API's $3.50, us-east-1) is an ``AWS::ApiGatewayV2::Api``
defined by an OpenAPI body (the form SAM itself emits for an HTTP API): one
route per route of the app (``app.app.routes``, the ``OPTIONS`` preflights
included) plus the catch-all ``$default``, every one integrated with
``APIHandler`` (``app.app``, the same handler) in payload format 1.0, the
REST-shaped event Chalice reads. A route's event names it in
``requestContext.resourcePath`` (``/agent/{agent_id}/chat``), as the REST API's
does, so Chalice dispatches it unchanged; what no route matches (a trailing
slash, a method a path lacks, an unknown path) reaches the function under
``$default`` and is matched by the app itself (``chalicelib/routes/gateway.py``:
the REST API's matching, or our 404). Its stage is ``api`` like the REST
API's, so URLs keep their shape (the ``EndpointURL`` output), deploys
automatically, and is throttled per stage (``HTTP_API_THROTTLING``). CORS stays
the app's: an HTTP API with a CORS configuration would answer preflights itself
and drop the app's CORS headers. One Lambda permission lets the API invoke the
function. The gateway's own few answers (throttling 429, a body over 10 MB, a
function that fails) cannot be customized on an HTTP API: they are its bare
``{"message": ...}`` bodies (README, Deploy).

**The REST API** (``--api rest``) is chalice's, as generated. API Gateway
answers some requests itself, before the function: an unknown path (its 403
``Missing Authentication Token``, or with an ``Authorization`` header a message
echoing the header back), throttling, a body too large, a timeout. The
template's gateway responses give those our error shape and security headers
(an unknown path is a 404, as under ``chalice local``). They sit in the API's
definition (``x-amazon-apigateway-gateway-responses``) rather than in separate
``AWS::ApiGateway::GatewayResponse`` resources: the definition is what each
deployment of a SAM API snapshots, and separate resources are dropped or left
undeployed when the definition changes (aws/serverless-application-model#390).

Real-time wiring (the app's decorators name placeholder stream and queue
ARNs; the merge template points them at ``infra/tables.json``):

- the stream handlers (``UsersEvents``, ``ChatsEvents``) read the tables'
  streams (``Fn::GetAtt <Table>.StreamArn``), bisect a failing batch, retry it
  ``STREAM_MAX_RETRY_ATTEMPTS`` times or until its records are
  ``STREAM_MAX_RECORD_AGE_SECONDS`` old, then record where it was in
  ``StreamDeadLetterQueue`` and move on;
- the webhook consumer (``WebhookDeliveries``) reads ``WebhookQueue``;
- every function gets ``WS_URL`` and ``WS_MANAGEMENT_URL`` (the WebSocket API
  of this stack) and ``WEBHOOK_QUEUE_URL``, through SAM ``Globals`` (a value a
  stage sets in ``.chalice/config.json`` wins, e.g. a custom domain's URL);
- IAM: every function runs with chalice's one shared role (``DefaultRole``:
  ``autogen_policy`` is on, so chalice makes one role for all functions), whose
  generated policy (wildcard resources) is replaced by ``service_policy``:
  each grant names this stack's own tables, indexes, streams, queues, WebSocket
  API, SSM parameters and log groups, and nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from chalicelib.routes.gateway import NOT_FOUND_MESSAGE

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "infra" / "tables.json"
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
STAGES = ("dev", "prod")
API_TYPES = ("http", "rest")
DEFAULT_API_TYPE = "http"  # README, Deploy: $1.00 vs $3.50 per million requests
MAX_ZIP_BYTES = 5 * 1024 * 1024  # documented in README (Deploy)
NOT_SHIPPED = ("boto3/", "botocore/", "s3transfer/")
# API Gateway's own answers: (status, or None to keep the gateway's; code; message). Fixed text only:
# $context.error.messageString can carry the request's Authorization header.
GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found", NOT_FOUND_MESSAGE),
    "THROTTLED": (None, "too_many_requests", "too many requests; try again shortly"),
    "REQUEST_TOO_LARGE": (None, "body_too_large", "the request is too large"),
    "INTEGRATION_TIMEOUT": (None, "timeout", "the request took too long; try again"),
    "DEFAULT_4XX": (None, "bad_request", "the request was refused before it reached the service"),
    "DEFAULT_5XX": (None, "gateway_error", "the service could not answer; try again"),
}

# -- the API: chalice's logical ids (REST), and ours (HTTP) ------------------------------------------------------
API_FUNCTION = "APIHandler"  # app.app
API_PERMISSION = "APIHandlerInvokePermission"  # chalice's; the HTTP API keeps the name, naming its own API
REST_API = "RestAPI"
HTTP_API = "HttpApi"
HTTP_API_STAGE = "HttpApiStage"
PAYLOAD_FORMAT_VERSION = "1.0"  # the REST-shaped event chalice's handler reads (2.0 has no resourcePath)
DEFAULT_ROUTE = "$default"
# A ceiling per stage on what the HTTP API passes to the function (beyond it, the gateway answers 429):
# far above a help desk's traffic, and below what prod's reserved concurrency of 200 serves at the
# 30-50 ms a request takes (4,000-6,600 a second; a long poll holds a function for up to 20 s). dev gets a
# tenth. Raise them here for more traffic. The REST API sets none: the account's limits apply (10,000 a
# second, burst 5,000, shared by every API of the account and region).
HTTP_API_THROTTLING = {
    "dev": {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200},
    "prod": {"ThrottlingRateLimit": 1000, "ThrottlingBurstLimit": 2000},
}

# -- real-time wiring: logical ids chalice gives app.py's functions, and ours in infra/tables.json ---------------
SERVICE_ROLE = "DefaultRole"  # chalice's one role for every function when autogen_policy is on (the default)
STREAM_HANDLERS = {"UsersEvents": "UsersTable", "ChatsEvents": "ChatsTable"}  # app.users_events, app.chats_events
WEBHOOK_CONSUMER = "WebhookDeliveries"  # app.webhook_deliveries
WEBHOOK_QUEUE = "WebhookQueue"
STREAM_DEAD_LETTER_QUEUE = "StreamDeadLetterQueue"
WEBSOCKET_API = "WebsocketAPI"

# A stream batch whose handler fails is split in two and each half retried (BisectBatchOnFunctionError), so
# one bad record holds up only itself; after STREAM_MAX_RETRY_ATTEMPTS retries, or once its records are
# STREAM_MAX_RECORD_AGE_SECONDS old, Lambda writes where the batch was (shard, sequence numbers) to
# StreamDeadLetterQueue and moves on: the shard keeps flowing, and the records stay in the stream for 24 h.
# The batch size is app.STREAM_BATCH_SIZE (the decorator's). LATEST: a new stack does not replay old records.
STREAM_STARTING_POSITION = "LATEST"
STREAM_MAX_RETRY_ATTEMPTS = 5
STREAM_MAX_RECORD_AGE_SECONDS = 3600

# What the request-path store code calls (a test reads them from its source and compares).
TABLE_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]
# What Lambda's event source mapping calls to read a stream, with the function's role.
STREAM_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
# What Lambda's SQS poller calls with the function's role, and the consumer's own visibility changes (backoff).
QUEUE_CONSUMER_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
]
# The log groups are in the template (with their retention): the functions only write to them.
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]


def gateway_responses() -> dict:
    """``x-amazon-apigateway-gateway-responses``: the gateway's own errors in our shape, with our headers."""
    from chalicelib.routes.common import SECURITY_HEADERS

    headers = {f"gatewayresponse.header.{name}": f"'{value}'" for name, value in SECURITY_HEADERS.items()}
    responses = {}
    for response_type, (status, code, message) in GATEWAY_ERRORS.items():
        body = json.dumps({"error": {"code": code, "message": message}})
        response = {"responseParameters": headers, "responseTemplates": {"application/json": body}}
        if status:
            response["statusCode"] = status
        responses[response_type] = response
    return responses


def stage_template(stage: str, api: str = DEFAULT_API_TYPE) -> dict:
    """``infra/tables.json`` for one stage, plus the fixes and wiring the generated template needs."""
    template = json.loads(TABLES.read_text())
    parameter = template["Parameters"]["Stage"]
    parameter["Default"] = stage
    parameter["AllowedValues"] = [stage]
    parameter.pop("AllowedPattern", None)
    # One stage: the production-only settings are decided here, not by a condition.
    production = stage == "prod"
    tables = table_resources(template)
    for resource in tables.values():
        resource["Properties"]["DeletionProtectionEnabled"] = production
    template.pop("Conditions", None)
    # chalice 1.34 names the log group after "${ApiHandler}", a resource that
    # does not exist (the function is "APIHandler"); cfn-lint rejects it and
    # CloudFormation would fail the deploy.
    template["Resources"]["ApiHandlerLogGroup"] = {
        "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${APIHandler}"}}
    }
    if api == "rest":
        # Merged into the API that chalice generates (RestAPI, an AWS::Serverless::Api).
        template["Resources"][REST_API] = {
            "Properties": {"DefinitionBody": {"x-amazon-apigateway-gateway-responses": gateway_responses()}}
        }
    ws_stage = websocket_stage(stage)
    template["Resources"].update(event_sources())
    template["Resources"][SERVICE_ROLE] = {
        "Properties": {
            "Policies": [{"PolicyName": "ServicePolicy", "PolicyDocument": service_policy(tables, ws_stage)}]
        }
    }
    template["Globals"] = {"Function": {"Environment": {"Variables": realtime_environment(ws_stage)}}}
    return template


def table_resources(template: dict) -> dict:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}


def websocket_stage(stage: str) -> str:
    """The API Gateway stage chalice deploys the WebSocket API to (``api_gateway_stage``)."""
    config = json.loads(CHALICE_CONFIG.read_text())
    return config["stages"][stage].get("api_gateway_stage", config.get("api_gateway_stage", "api"))


def get_att(resource: str, attribute: str = "Arn") -> dict:
    return {"Fn::GetAtt": [resource, attribute]}


def arn(service: str, resource: str) -> dict:
    """An ARN in this stack's partition, region and account (``resource`` may use ``${...}``)."""
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"}


def event_sources() -> dict:
    """The stream handlers on the tables' streams, the webhook consumer on the webhook queue."""
    resources = {}
    for function, table in STREAM_HANDLERS.items():
        stream = {
            "Stream": get_att(table, "StreamArn"),
            "StartingPosition": STREAM_STARTING_POSITION,
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": STREAM_MAX_RETRY_ATTEMPTS,
            "MaximumRecordAgeInSeconds": STREAM_MAX_RECORD_AGE_SECONDS,
            "DestinationConfig": {"OnFailure": {"Destination": get_att(STREAM_DEAD_LETTER_QUEUE)}},
        }
        resources[function] = {"Properties": {"Events": {f"{function}DynamodbEventSource": {"Properties": stream}}}}
    # A failed delivery is reported as a batch item failure (not raised: no stack trace in the logs).
    queue = {"Queue": get_att(WEBHOOK_QUEUE), "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    resources[WEBHOOK_CONSUMER] = {
        "Properties": {"Events": {f"{WEBHOOK_CONSUMER}SqsEventSource": {"Properties": queue}}}
    }
    return resources


def realtime_environment(ws_stage: str) -> dict:
    """Every function's WebSocket addresses (this stack's API) and webhook queue."""
    host = f"${{{WEBSOCKET_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
    return {
        "WS_URL": {"Fn::Sub": f"wss://{host}/{ws_stage}"},
        "WS_MANAGEMENT_URL": {"Fn::Sub": f"https://{host}/{ws_stage}"},
        "WEBHOOK_QUEUE_URL": {"Ref": WEBHOOK_QUEUE},
    }


def allow(sid: str, actions: list[str], resources: list) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def table_arns(tables: dict) -> list:
    """Each table's ARN and each of its indexes' ARNs, exactly."""
    arns = []
    for name, resource in tables.items():
        arns.append(get_att(name))
        for index in resource["Properties"].get("GlobalSecondaryIndexes", []):
            arns.append({"Fn::Sub": f"${{{name}.Arn}}/index/{index['IndexName']}"})
    return arns


def service_policy(tables: dict, ws_stage: str) -> dict:
    """The functions' one policy: each grant on this stack's own resources only."""
    connections = arn("execute-api", f"${{{WEBSOCKET_API}}}/{ws_stage}/*/@connections/*")
    return {
        "Version": "2012-10-17",
        "Statement": [
            allow("Tables", TABLE_ACTIONS, table_arns(tables)),
            allow("ReadStreams", STREAM_ACTIONS, [get_att(t, "StreamArn") for t in STREAM_HANDLERS.values()]),
            allow("PushToConnections", ["execute-api:ManageConnections"], [connections]),
            allow("EnqueueWebhooks", ["sqs:SendMessage"], [get_att(WEBHOOK_QUEUE)]),
            allow("ConsumeWebhooks", QUEUE_CONSUMER_ACTIONS, [get_att(WEBHOOK_QUEUE)]),
            allow("RecordFailedStreamBatches", ["sqs:SendMessage"], [get_att(STREAM_DEAD_LETTER_QUEUE)]),
            allow("Secrets", ["ssm:GetParameter"], [arn("ssm", "parameter/agent-allocation/${Stage}/*")]),
            allow("Logs", LOG_ACTIONS, [arn("logs", "log-group:/aws/lambda/${AWS::StackName}-*:*")]),
        ],
    }


def app_routes() -> dict[str, list[str]]:
    """The app's routes: each path template and its methods (``app.app.routes``, preflights included)."""
    from app import app

    return {path: sorted(methods) for path, methods in app.routes.items() if methods}


def path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def http_api_definition(routes: dict[str, list[str]]) -> dict:
    """The HTTP API's OpenAPI body: each route and ``$default``, integrated with the API function in format 1.0."""
    integration = {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": {
            "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            f"${{{API_FUNCTION}.Arn}}/invocations"
        },
        "payloadFormatVersion": PAYLOAD_FORMAT_VERSION,
    }
    paths: dict[str, dict] = {}
    for path, methods in routes.items():
        parameters = [{"name": name, "in": "path", "required": True} for name in path_parameters(path)]
        operation = {"x-amazon-apigateway-integration": integration, "responses": {}}
        if parameters:
            operation["parameters"] = parameters
        paths[path] = {method.lower(): operation for method in methods}
    paths[DEFAULT_ROUTE] = {
        "x-amazon-apigateway-any-method": {
            "x-amazon-apigateway-integration": integration,
            "isDefaultRoute": True,
            "responses": {},
        }
    }
    return {"openapi": "3.0.1", "info": {"title": {"Ref": "AWS::StackName"}, "version": "1.0"}, "paths": paths}


def use_http_api(template: dict, stage: str, routes: dict[str, list[str]]) -> dict:
    """``template`` (chalice's output) with an HTTP API in place of chalice's REST API: same function,
    same stage name and URL shape, same output names (``EndpointURL``)."""
    resources, outputs = template["Resources"], template["Outputs"]
    missing = [name for name in (REST_API, API_PERMISSION) if name not in resources]
    if missing:
        raise SystemExit(f"package: chalice's template has no {missing[0]}: tools/package.py expects chalice 1.34's")
    rest = resources.pop(REST_API)
    del resources[API_PERMISSION]
    outputs.pop("RestAPIId", None)
    api_stage = rest["Properties"]["StageName"]  # "api" (api_gateway_stage)
    resources[HTTP_API] = {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Body": http_api_definition(routes)}}
    resources[HTTP_API_STAGE] = {
        "Type": "AWS::ApiGatewayV2::Stage",
        "Properties": {
            "ApiId": {"Ref": HTTP_API},
            "StageName": api_stage,
            "AutoDeploy": True,
            "DefaultRouteSettings": HTTP_API_THROTTLING[stage],
        },
    }
    resources[API_PERMISSION] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Ref": API_FUNCTION},
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": arn("execute-api", f"${{{HTTP_API}}}/*"),
        },
    }
    outputs["HttpApiId"] = {"Value": {"Ref": HTTP_API}}
    outputs["EndpointURL"] = {
        "Value": {"Fn::Sub": f"https://${{{HTTP_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{api_stage}/"}
    }
    return template


def package(stage: str, out: Path, api: str = DEFAULT_API_TYPE) -> Path:
    """Build ``out/<stage>`` with an ``api`` ("http" or "rest") API; return that directory. Raises
    ``SystemExit`` on a failed check."""
    if api not in API_TYPES:
        raise SystemExit(f"package: the API type is one of {', '.join(API_TYPES)}, not {api!r}")
    target = out / stage
    target.mkdir(parents=True, exist_ok=True)
    merge = out / f"{stage}-tables.json"
    merge.write_text(json.dumps(stage_template(stage, api), indent=2))
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    chalice = [sys.executable, "-m", "tools.chalice_local"]  # the chalice CLI
    subprocess.run(
        [*chalice, "package", "--stage", stage, "--merge-template", str(merge), str(target)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: chalice's CLI would probe it (see tools/run_local.py)
        check=True,
    )
    sam = target / "sam.json"
    if api == "http":
        sam.write_text(json.dumps(use_http_api(json.loads(sam.read_text()), stage, app_routes()), indent=2) + "\n")
    check_zip(target / "deployment.zip")
    check_wiring(json.loads(sam.read_text()))
    return target


def check_zip(path: Path) -> int:
    size = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        shipped = [n for n in archive.namelist() if n.startswith(NOT_SHIPPED)]
    print(
        f"package: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {size / 1024:.0f} KiB "
        f"(limit {MAX_ZIP_BYTES // 1024} KiB)"
    )
    if shipped:
        raise SystemExit(f"package: the zip ships {shipped[0].split('/')[0]}, which the Lambda runtime provides")
    if size > MAX_ZIP_BYTES:
        raise SystemExit(f"package: the zip is {size} bytes, over the limit of {MAX_ZIP_BYTES}")
    return size


def check_wiring(template: dict) -> None:
    """Fail if a function would not run with the service role or an event source names no resource of ours."""
    resources = template["Resources"]
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        if resource["Properties"].get("Role") != get_att(SERVICE_ROLE):
            raise SystemExit(f"package: {name} does not run with the service role {SERVICE_ROLE}")
        for event_name, event in resource["Properties"].get("Events", {}).items():
            source = event["Properties"].get("Stream", event["Properties"].get("Queue"))
            if event["Type"] in ("DynamoDB", "SQS") and not is_attribute_of(source, resources):
                raise SystemExit(f"package: {name}'s {event_name} reads {source}, not a stream or queue of this stack")


def is_attribute_of(value: object, resources: dict) -> bool:
    """``value`` is ``Fn::GetAtt`` of one of ``resources`` (not a literal ARN, which would be a placeholder)."""
    return isinstance(value, dict) and list(value) == ["Fn::GetAtt"] and value["Fn::GetAtt"][0] in resources


def lint(template: Path) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(template)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"package: cfn-lint found problems in {template.name}:\n{result.stdout}{result.stderr}")
    print(f"package: cfn-lint passed on {template.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev", choices=STAGES)
    parser.add_argument(
        "--api",
        default=os.environ.get("API_TYPE") or DEFAULT_API_TYPE,
        choices=API_TYPES,
        help=f"the API Gateway API in front of the function (default: $API_TYPE, else {DEFAULT_API_TYPE})",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    target = package(args.stage, args.out.resolve(), args.api)
    lint(target / "sam.json")
    print(f"package: ready in {target} ({args.api.upper()} API)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
