"""Least-privilege IAM: every function runs with one role whose grants name this stack's own resources only.

The policy is built by ``tools/package.py`` (``service_policy``) into the packaged template. These tests read
it there, compare the DynamoDB actions with what the store's source calls, compare every other grant with the
resources it must reach, and deploy the role in moto's CloudFormation to see each grant resolve to the ARNs of
the tables, streams and queues created beside it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.support.templates import get_att, in_account
from tools import package

ROOT = Path(__file__).resolve().parents[2]
STAGES = package.STAGES
# Store modules off the request path: operator commands, run with an operator's
# credentials, not the function's role. Every other store module is on it.
OPERATOR_STORE_MODULES = ("admin.py", "scans.py")
SERVICE_STORE_MODULES = sorted(
    p.name for p in (ROOT / "chalicelib" / "store").glob("*.py") if p.name not in OPERATOR_STORE_MODULES
)
# IAM action of each DynamoDB API operation and transaction item kind.
IAM_ACTIONS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "batch_get_item": "dynamodb:BatchGetItem",
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
STREAM_READS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
QUEUE_CONSUMER = {"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"}
STREAM_TABLES = ("UsersTable", "ChatsTable")


def statements(template: dict) -> list[dict]:
    """The statements of the service role's one policy."""
    policies = template["Resources"][package.SERVICE_ROLE]["Properties"]["Policies"]
    assert len(policies) == 1
    return policies[0]["PolicyDocument"]["Statement"]


def grants(statements: list[dict]) -> dict[str, list]:
    """Each allowed action and the resources it is allowed on (sorted, comparable)."""
    granted: dict[str, list] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow" and "NotResource" not in statement and "NotAction" not in statement
        for action in statement["Action"]:
            granted.setdefault(action, []).extend(statement["Resource"])
    return {action: sorted(resources, key=json.dumps) for action, resources in granted.items()}


def tables(template: dict) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_runs_with_the_one_service_role(templates, stage):
    resources = templates[stage]["Resources"]
    roles = [name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert roles == [package.SERVICE_ROLE]
    assert set(functions) == {  # the API, three WebSocket routes, two stream handlers, webhooks, presence sweep
        "APIHandler",
        "WebsocketConnect",
        "WebsocketDisconnect",
        "WebsocketMessage",
        "UsersEvents",
        "ChatsEvents",
        "WebhookDeliveries",
        "PresenceSweep",
    }
    for name, function in functions.items():
        assert function["Properties"]["Role"] == get_att(package.SERVICE_ROLE), name


def every_statement(value: object):
    """Every policy statement anywhere in ``value`` (roles, queue or bucket policies, ...)."""
    if isinstance(value, dict):
        if isinstance(value.get("Statement"), list):
            yield from value["Statement"]
        for child in value.values():
            yield from every_statement(child)
    elif isinstance(value, list):
        for child in value:
            yield from every_statement(child)


@pytest.mark.parametrize("stage", STAGES)
def test_no_wildcard_actions_or_resources(templates, stage):
    lambda_trust = {
        "Sid": "",
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    found = [s for s in every_statement(templates[stage]["Resources"]) if s != lambda_trust]
    assert found == statements(templates[stage])  # the service policy is the template's only permission policy
    for statement in statements(templates[stage]):
        assert not any(a == "*" or a.endswith(":*") for a in statement["Action"]), statement
        for resource in statement["Resource"]:
            # Each resource is an attribute of a resource of this stack or an ARN in its own account and region.
            assert list(resource) in (["Fn::GetAtt"], ["Fn::Sub"]), resource
            if "Fn::Sub" in resource:
                assert resource["Fn::Sub"].startswith(("arn:${AWS::Partition}:", "${")), resource
                assert ":*:" not in resource["Fn::Sub"], resource  # no wildcard region or account


def store_operations() -> set[str]:
    """Every DynamoDB operation the service's store modules can call, read from their source."""
    found = set()
    for name in SERVICE_STORE_MODULES:
        tree = ast.parse((ROOT / "chalicelib" / "store" / name).read_text())
        for node in ast.walk(tree):
            # call("operation", ...) and transaction items {"Put": ...}, {"ConditionCheck": ...}
            is_call = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "call" and node.args
            if is_call and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
            if isinstance(node, ast.Dict):
                for key in node.keys:
                    if isinstance(key, ast.Constant) and key.value in ("Put", "Update", "Delete", "ConditionCheck"):
                        found.add(key.value)
    return found - {"transact_write_items"}  # authorised by its items' own actions


@pytest.mark.parametrize("stage", STAGES)
def test_the_policy_grants_exactly_the_table_actions_the_store_uses(templates, stage):
    granted = {a for a in grants(statements(templates[stage])) if a.startswith("dynamodb:")} - STREAM_READS
    needed = {IAM_ACTIONS[op] for op in store_operations()}
    assert "dynamodb:ConditionCheckItem" in needed and "dynamodb:BatchGetItem" in needed  # the scan works
    assert granted == needed


@pytest.mark.parametrize("stage", STAGES)
def test_table_actions_reach_exactly_the_stacks_tables_and_their_indexes(templates, stage):
    expected = []
    for name, table in tables(templates[stage]).items():
        expected.append(get_att(name))
        for index in table["Properties"].get("GlobalSecondaryIndexes", []):
            expected.append({"Fn::Sub": f"${{{name}.Arn}}/index/{index['IndexName']}"})
    granted = grants(statements(templates[stage]))
    for action in {IAM_ACTIONS[op] for op in store_operations()}:
        assert granted[action] == sorted(expected, key=json.dumps), action


@pytest.mark.parametrize("stage", STAGES)
def test_every_other_grant_reaches_exactly_its_own_resources(templates, stage):
    """Streams, the WebSocket API's connections, the queues, the stage's parameters, the functions' logs."""
    queue = get_att("WebhookQueue")
    expected = {
        **{action: [get_att(t, "StreamArn") for t in STREAM_TABLES] for action in STREAM_READS},
        "execute-api:ManageConnections": [in_account("execute-api", "${WebsocketAPI}/api/*/@connections/*")],
        "sqs:SendMessage": [queue, get_att("StreamDeadLetterQueue")],  # enqueue webhooks; failed stream batches
        **{action: [queue] for action in QUEUE_CONSUMER},
        "ssm:GetParameter": [in_account("ssm", "parameter/agent-allocation/${Stage}/*")],
        "logs:CreateLogStream": [in_account("logs", "log-group:/aws/lambda/${AWS::StackName}-*:*")],
        "logs:PutLogEvents": [in_account("logs", "log-group:/aws/lambda/${AWS::StackName}-*:*")],
    }
    granted = grants(statements(templates[stage]))
    table_actions = {IAM_ACTIONS[op] for op in store_operations()}
    others = {action: resources for action, resources in granted.items() if action not in table_actions}
    assert others == {action: sorted(resources, key=json.dumps) for action, resources in expected.items()}


@pytest.mark.parametrize("stage", STAGES)
def test_manage_connections_is_scoped_to_this_stacks_websocket_api_and_stage(templates, stage):
    resources = templates[stage]["Resources"]
    assert resources["WebsocketAPI"]["Type"] == "AWS::ApiGatewayV2::Api"
    assert resources["WebsocketAPI"]["Properties"]["ProtocolType"] == "WEBSOCKET"
    stage_name = resources["WebsocketAPIStage"]["Properties"]["StageName"]
    connections = in_account("execute-api", f"${{WebsocketAPI}}/{stage_name}/*/@connections/*")
    assert grants(statements(templates[stage]))["execute-api:ManageConnections"] == [connections]


@pytest.mark.parametrize("stage", STAGES)
def test_the_stages_parameters_are_the_ones_it_may_read(stage):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]
    env = config["environment_variables"]
    parameters = {name: value for name, value in env.items() if name.endswith("_PARAMETER")}
    assert parameters["JWT_SECRET_PARAMETER"] == f"/agent-allocation/{stage}/jwt-secret"
    assert parameters["WEBHOOK_SECRET_PARAMETER"] == f"/agent-allocation/{stage}/webhook-secret"
    assert all(value.startswith(f"/agent-allocation/{stage}/") for value in parameters.values())
    assert not {"iam_policy_file", "autogen_policy", "manage_iam_role", "iam_role_arn"} & set(config)


def test_the_policy_resolves_to_the_resources_cloudformation_creates(templates):
    """moto's CloudFormation creates the tables, queues and the role from the packaged template; each grant names
    the ARNs it created. (moto deploys neither SAM functions nor API Gateway v2: the API id is a parameter.)"""
    packaged = templates["dev"]
    kept = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::IAM::Role")
    stack = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {**packaged["Parameters"], "WebsocketAPI": {"Type": "String"}},
        "Resources": {name: r for name, r in packaged["Resources"].items() if r["Type"] in kept},
    }
    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(
            StackName="agent-allocation-dev",
            TemplateBody=json.dumps(stack),
            Parameters=[{"ParameterKey": "WebsocketAPI", "ParameterValue": "a1b2c3"}],
            Capabilities=["CAPABILITY_IAM"],
        )
        role = cloudformation.describe_stack_resource(StackName="agent-allocation-dev", LogicalResourceId="DefaultRole")
        document = boto3.client("iam").get_role_policy(
            RoleName=role["StackResourceDetail"]["PhysicalResourceId"], PolicyName="ServicePolicy"
        )["PolicyDocument"]
        document = document if isinstance(document, dict) else ast.literal_eval(document)  # moto: the dict's repr
        granted = grants(document["Statement"])

        dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        described = {
            name: dynamodb.describe_table(TableName=name)["Table"] for name in dynamodb.list_tables()["TableNames"]
        }
        table_arns = [t["TableArn"] for t in described.values()]
        index_arns = [  # AWS's IndexArn (moto leaves it out)
            f"{t['TableArn']}/index/{i['IndexName']}"
            for t in described.values()
            for i in t.get("GlobalSecondaryIndexes", [])
        ]
        stream_arns = [t["LatestStreamArn"] for t in described.values() if "LatestStreamArn" in t]

        def queue_arn(name: str) -> str:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        webhooks, stream_failures = (
            queue_arn("agent-allocation-dev-webhooks"),
            queue_arn("agent-allocation-dev-stream-failures"),
        )
    account = table_arns[0].split(":")[4]
    assert len(described) == 4 and len(stream_arns) == 2 and index_arns
    assert granted["dynamodb:Query"] == sorted(table_arns + index_arns)
    assert granted["dynamodb:GetRecords"] == sorted(stream_arns)
    assert granted["sqs:SendMessage"] == sorted([webhooks, stream_failures])
    assert granted["sqs:ReceiveMessage"] == [webhooks]
    assert granted["execute-api:ManageConnections"] == [
        f"arn:aws:execute-api:us-east-1:{account}:a1b2c3/api/*/@connections/*"
    ]
    assert granted["ssm:GetParameter"] == [f"arn:aws:ssm:us-east-1:{account}:parameter/agent-allocation/dev/*"]
    assert granted["logs:PutLogEvents"] == [
        f"arn:aws:logs:us-east-1:{account}:log-group:/aws/lambda/agent-allocation-dev-*:*"
    ]
