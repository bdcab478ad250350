"""Infrastructure: the packaged template, its tables and Lambda settings, and the tables deployed by CloudFormation.

IAM is in ``test_iam.py``; the real-time wiring (WebSocket API, event sources, queues) in
``test_realtime_infra.py``; the HTTP API (the default) in ``test_http_api_infra.py``. The packaged templates
come from ``conftest.py`` (built once per API type).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from moto import mock_aws

from app import app
from chalicelib import store as store_module
from chalicelib.config import get_settings
from chalicelib.store import tables as schema
from tests.support import invariants
from tests.support.stacks import deploy_tables
from tools import package
from tools.api_client import Api, GatewayClient

ROOT = Path(__file__).resolve().parents[2]
STAGES = package.STAGES


@pytest.mark.parametrize("api", package.API_TYPES)
@pytest.mark.parametrize("stage", STAGES)
def test_the_packaged_template_passes_cfn_lint(request, stage, api):
    built = request.getfixturevalue("packaged" if api == package.DEFAULT_API_TYPE else f"packaged_{api}")
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(built[stage] / "sam.json")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_every_table_is_recoverable_encrypted_on_demand_and_protected_in_prod(templates, stage):
    tables = {k: v for k, v in templates[stage]["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert set(tables) == set(schema.TABLE_SETTINGS)
    for resource in tables.values():
        properties = resource["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["SSESpecification"] == {"SSEEnabled": True}
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["DeletionProtectionEnabled"] is (stage == "prod")
        assert resource["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("stage", STAGES)
def test_the_functions_table_names_are_the_templates(templates, stage):
    resources = templates[stage]["Resources"]
    env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    for logical_id, setting in schema.TABLE_SETTINGS.items():
        name = resources[logical_id]["Properties"]["TableName"]["Fn::Sub"].replace("${Stage}", stage)
        assert env[setting.upper()] == name


def test_lambda_settings(templates):
    for stage in STAGES:
        function = templates[stage]["Resources"]["APIHandler"]["Properties"]
        assert function["Timeout"] < 29  # below API Gateway's integration timeout
        assert function["MemorySize"] >= 512
        assert "JWT_SECRET" not in function["Environment"]["Variables"]  # only the SSM parameter's name
    assert templates["prod"]["Resources"]["APIHandler"]["Properties"]["ReservedConcurrentExecutions"] > 0


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
        names = deploy_tables()
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


# -- the REST API option (API_TYPE=rest): its gateway responses. The HTTP API is in test_http_api_infra.py. --


def gateway_responses(templates_rest, stage) -> dict:
    api = templates_rest[stage]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    return api.get("x-amazon-apigateway-gateway-responses", {})


@pytest.mark.parametrize("stage", STAGES)
def test_an_unknown_path_is_our_404_not_api_gateways_403(templates_rest, stage):
    missing = gateway_responses(templates_rest, stage)["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    body = json.loads(missing["responseTemplates"]["application/json"])
    assert body["error"]["code"] == "not_found" and body["error"]["message"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_gateways_own_errors_have_our_shape_and_security_headers(templates_rest, stage):
    from chalicelib.routes.common import SECURITY_HEADERS

    responses = gateway_responses(templates_rest, stage)
    assert {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for response in responses.values():
        template_ = response["responseTemplates"]["application/json"]
        assert "$" not in template_  # fixed text: nothing of the request (a token, a header) is ever echoed
        assert set(json.loads(template_)) == {"error"} and set(json.loads(template_)["error"]) == {"code", "message"}
        headers = response["responseParameters"]
        for name, value in SECURITY_HEADERS.items():
            assert headers[f"gatewayresponse.header.{name}"] == f"'{value}'"
