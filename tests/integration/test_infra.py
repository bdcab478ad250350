"""Infrastructure: the packaged template, least-privilege IAM, and the tables deployed by CloudFormation."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from app import app
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.store import tables as schema
from tests.support import invariants
from tools import package
from tools.api_client import Api, GatewayClient

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
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


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> dict[str, Path]:
    """``make package`` for both stages (chalice package + the merged tables template)."""
    out = tmp_path_factory.mktemp("build")
    return {stage: package.package(stage, out) for stage in STAGES}


def template(packaged, stage) -> dict:
    return json.loads((packaged[stage] / "sam.json").read_text())


@pytest.mark.parametrize("stage", STAGES)
def test_the_packaged_template_passes_cfn_lint(packaged, stage):
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(packaged[stage] / "sam.json")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_every_table_is_recoverable_encrypted_on_demand_and_protected_in_prod(packaged, stage):
    tables = {k: v for k, v in template(packaged, stage)["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert set(tables) == set(schema.TABLE_SETTINGS)
    for resource in tables.values():
        properties = resource["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["SSESpecification"] == {"SSEEnabled": True}
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["DeletionProtectionEnabled"] is (stage == "prod")
        assert resource["DeletionPolicy"] == "Retain"


def _policy_statements(value):
    if isinstance(value, dict):
        if "Statement" in value:
            yield from value["Statement"]
        for child in value.values():
            yield from _policy_statements(child)
    elif isinstance(value, list):
        for child in value:
            yield from _policy_statements(child)


@pytest.mark.parametrize("stage", STAGES)
def test_no_wildcard_grants(packaged, stage):
    statements = list(_policy_statements(template(packaged, stage)["Resources"]))
    assert statements
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(a == "*" or a.endswith(":*") for a in actions), statement
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        assert "*" not in resources, statement


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
def test_the_policy_grants_exactly_the_dynamodb_actions_the_store_uses(stage):
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    granted = {a for s in policy["Statement"] for a in s["Action"] if a.startswith("dynamodb:")}
    needed = {IAM_ACTIONS[op] for op in store_operations()}
    assert "dynamodb:ConditionCheckItem" in needed and "dynamodb:BatchGetItem" in needed  # the scan works
    assert granted == needed


@pytest.mark.parametrize("stage", STAGES)
def test_the_policy_reaches_only_the_stages_own_tables(stage):
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]
    tables = {config["environment_variables"][s.upper()] for s in schema.TABLE_SETTINGS.values()}
    dynamo = [s for s in policy["Statement"] if any(a.startswith("dynamodb:") for a in s["Action"])]
    resources = {r for s in dynamo for r in s["Resource"]}
    expected = {f"arn:aws:dynamodb:*:*:table/{t}" for t in tables}
    assert resources == expected | {f"{r}/index/*" for r in expected}


@pytest.mark.parametrize("stage", STAGES)
def test_the_functions_table_names_are_the_templates(packaged, stage):
    resources = template(packaged, stage)["Resources"]
    env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    for logical_id, setting in schema.TABLE_SETTINGS.items():
        name = resources[logical_id]["Properties"]["TableName"]["Fn::Sub"].replace("${Stage}", stage)
        assert env[setting.upper()] == name


def test_lambda_settings(packaged):
    for stage in STAGES:
        function = template(packaged, stage)["Resources"]["APIHandler"]["Properties"]
        assert function["Timeout"] < 29  # below API Gateway's integration timeout
        assert function["MemorySize"] >= 512
        assert "JWT_SECRET" not in function["Environment"]["Variables"]  # only the SSM parameter's name
    assert template(packaged, "prod")["Resources"]["APIHandler"]["Properties"]["ReservedConcurrentExecutions"] > 0


@pytest.mark.parametrize("stage", STAGES)
def test_the_zip_is_small_and_ships_no_boto3(packaged, stage):
    zip_path = packaged[stage] / "deployment.zip"
    assert package.check_zip(zip_path) <= package.MAX_ZIP_BYTES
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    assert "app.py" in names and any(n.startswith("chalicelib/") for n in names)
    assert not any(n.startswith(("boto3/", "botocore/", "tests/", "tools/", "node_modules/")) for n in names)


def test_the_code_and_the_template_name_the_same_indexes_and_ttl():
    resources = schema.template()["Resources"]
    users = {i["IndexName"] for i in resources["UsersTable"]["Properties"]["GlobalSecondaryIndexes"]}
    chats = {i["IndexName"] for i in resources["ChatsTable"]["Properties"]["GlobalSecondaryIndexes"]}
    assert users == {schema.AGENTS_BY_LOAD}
    assert chats == {
        schema.ACTIVE_CHANNELS_BY_AGENT,
        schema.ACTIVE_CHANNELS_BY_POOL,
        schema.CHATS_BY_CUSTOMER,
        schema.CHATS_BY_AGENT,
    }
    for logical_id in ("ChatsTable", "TokensTable"):
        ttl = resources[logical_id]["Properties"]["TimeToLiveSpecification"]
        assert ttl == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}


def test_the_seed_flow_works_on_tables_deployed_by_cloudformation(monkeypatch, fast_hashing):
    """Create the stack from infra/tables.json in moto's CloudFormation, then serve the seed flow on it."""
    from tools import seed

    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(
            StackName="agent-allocation-test",
            TemplateBody=schema.TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": "test"}],
        )
        outputs = cloudformation.describe_stacks(StackName="agent-allocation-test")["Stacks"][0]["Outputs"]
        names = {o["OutputKey"]: o["OutputValue"] for o in outputs}
        assert names["UsersTableName"] == "agent-allocation-test-users"
        monkeypatch.setenv("USERS_TABLE", names["UsersTableName"])
        monkeypatch.setenv("CHATS_TABLE", names["ChatsTableName"])
        monkeypatch.setenv("TOKENS_TABLE", names["TokensTableName"])
        store_module.reset()
        assert get_settings().users_table == "agent-allocation-test-users"
        seed.seed_demo()

        api = Api(GatewayClient(app))
        agent = api.token("agent", 1)
        customer = api.token("customer", 1)
        channel = api.initiate(1, customer)
        assert channel.status == 201 and channel.body["agent_id"] == 1
        assert api.customer_send(1, customer, "halo").status == 201
        assert api.agent_send(1, agent, 1, "hai").status == 201
        history = api.request("GET", "/agent/1/chat", token=agent, query={"channel_id": channel.body["channel_id"]})
        assert [m["text"] for m in history.body["messages"]] == ["halo", "hai"]
        assert [c["customer_id"] for c in api.active(1, agent).body["channels"]] == [1]
        assert api.resolve(1, agent, 1).status == 200
        assert api.logout("agent", 1, agent).status == 200
        invariants.check()


def gateway_responses(packaged, stage) -> dict:
    api = template(packaged, stage)["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    return api.get("x-amazon-apigateway-gateway-responses", {})


@pytest.mark.parametrize("stage", STAGES)
def test_an_unknown_path_is_our_404_not_api_gateways_403(packaged, stage):
    missing = gateway_responses(packaged, stage)["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    body = json.loads(missing["responseTemplates"]["application/json"])
    assert body["error"]["code"] == "not_found" and body["error"]["message"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_gateways_own_errors_have_our_shape_and_security_headers(packaged, stage):
    from chalicelib.routes.common import SECURITY_HEADERS

    responses = gateway_responses(packaged, stage)
    assert {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for response in responses.values():
        template_ = response["responseTemplates"]["application/json"]
        assert "$" not in template_  # fixed text: nothing of the request (a token, a header) is ever echoed
        assert set(json.loads(template_)) == {"error"} and set(json.loads(template_)["error"]) == {"code", "message"}
        headers = response["responseParameters"]
        for name, value in SECURITY_HEADERS.items():
            assert headers[f"gatewayresponse.header.{name}"] == f"'{value}'"
