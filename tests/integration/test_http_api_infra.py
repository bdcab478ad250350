"""The HTTP API in the packaged template (the default), and the REST API left as the option.

Read from ``make package``'s output (``conftest.py``): one route per route of the app plus ``$default``,
each integrated with ``app.app`` in payload format 1.0 (the events it then receives are run through the
real handler in ``tests/api/test_http_api_events.py``), the ``api`` stage, one invoke permission, the
``EndpointURL`` output; and a REST template that differs from it in the API alone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app import app
from tests.support.templates import of_type
from tools import package

ROOT = Path(__file__).resolve().parents[2]
STAGES = package.STAGES
API_FUNCTION_URI = (
    "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${APIHandler.Arn}/invocations"
)
# API Gateway's account-level throttle per region (a stage's limits cannot exceed it).
ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT = 10_000, 5_000


def body(template: dict) -> dict:
    return template["Resources"][package.HTTP_API]["Properties"]["Body"]


def operations(template: dict):
    """Each (path, method, operation) of the HTTP API's definition."""
    for path, methods in body(template)["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


@pytest.mark.parametrize("stage", STAGES)
def test_the_default_template_has_the_http_api_and_no_rest_api(templates, stage):
    template = templates[stage]
    assert template["Resources"][package.HTTP_API]["Type"] == "AWS::ApiGatewayV2::Api"
    assert not of_type(template, "AWS::ApiGateway::") and not of_type(template, "AWS::Serverless::Api")
    assert "RestAPI" not in json.dumps(template)
    assert "Events" not in template["Resources"]["APIHandler"]["Properties"]  # no SAM Api events either


@pytest.mark.parametrize("stage", STAGES)
def test_every_route_of_the_app_is_a_route_of_the_http_api_and_the_rest_is_default(templates, stage):
    routes = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    defined = {(path, method) for path, method, _ in operations(templates[stage])}
    assert defined == routes | {("$default", "x-amazon-apigateway-any-method")}
    assert {path for path, method in routes if method == "options"} == set(app.routes)  # the preflights too
    assert body(templates[stage])["paths"]["$default"]["x-amazon-apigateway-any-method"]["isDefaultRoute"] is True


@pytest.mark.parametrize("stage", STAGES)
def test_every_route_reaches_app_app_in_payload_format_1_0(templates, stage):
    assert templates[stage]["Resources"]["APIHandler"]["Properties"]["Handler"] == "app.app"
    for path, method, operation in operations(templates[stage]):
        integration = operation["x-amazon-apigateway-integration"]
        assert integration == {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": {"Fn::Sub": API_FUNCTION_URI},
            "payloadFormatVersion": "1.0",
        }, (path, method)


@pytest.mark.parametrize("stage", STAGES)
def test_each_route_declares_the_parameters_of_its_path(templates, stage):
    for path, method, operation in operations(templates[stage]):
        named = re.findall(r"\{(\w+)\}", path)
        declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path" and p["required"]]
        assert declared == named, (path, method)


@pytest.mark.parametrize("stage", STAGES)
def test_cors_is_left_to_the_app(templates, stage):
    """An HTTP API with a CORS configuration answers preflights itself and drops the app's CORS headers."""
    assert "CorsConfiguration" not in templates[stage]["Resources"][package.HTTP_API]["Properties"]
    assert "x-amazon-apigateway-cors" not in body(templates[stage])


# Requests per second and burst per stage, as the README states them.
THROTTLING = {
    "dev": {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200},
    "prod": {"ThrottlingRateLimit": 1000, "ThrottlingBurstLimit": 2000},
}


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_is_api_deploys_itself_and_is_throttled(templates, templates_rest, stage):
    resources = templates[stage]["Resources"]
    properties = resources[package.HTTP_API_STAGE]["Properties"]
    rest_stage = templates_rest[stage]["Resources"]["RestAPI"]["Properties"]["StageName"]
    assert properties["ApiId"] == {"Ref": package.HTTP_API}
    assert properties["StageName"] == rest_stage == resources["WebsocketAPIStage"]["Properties"]["StageName"] == "api"
    assert properties["AutoDeploy"] is True  # every change of the definition is live without a Deployment
    throttle = properties["DefaultRouteSettings"]
    assert throttle == THROTTLING[stage]  # README, Deploy
    assert 0 < throttle["ThrottlingRateLimit"] <= ACCOUNT_RATE_LIMIT
    assert 0 < throttle["ThrottlingBurstLimit"] <= ACCOUNT_BURST_LIMIT


@pytest.mark.parametrize("stage", STAGES)
def test_the_http_api_alone_may_invoke_the_api_function(templates, stage):
    resources = templates[stage]["Resources"]
    permissions = {
        name: r["Properties"]
        for name, r in of_type(templates[stage], "AWS::Lambda::Permission").items()
        if r["Properties"]["FunctionName"] == {"Ref": "APIHandler"}
    }
    assert permissions == {
        package.API_PERMISSION: {
            "FunctionName": {"Ref": "APIHandler"},
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*"},
        }
    }
    assert resources[package.HTTP_API]["Type"] == "AWS::ApiGatewayV2::Api"


@pytest.mark.parametrize("stage", STAGES)
def test_the_endpoint_url_output_keeps_its_name_and_shape(templates, templates_rest, stage):
    http, rest = templates[stage]["Outputs"], templates_rest[stage]["Outputs"]
    url = "https://${%s}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"
    assert http["EndpointURL"] == {"Value": {"Fn::Sub": url % package.HTTP_API}}
    assert rest["EndpointURL"] == {"Value": {"Fn::Sub": url % "RestAPI"}}
    assert http["HttpApiId"] == {"Value": {"Ref": package.HTTP_API}} and "RestAPIId" not in http
    assert "OutputKey=='EndpointURL'" in (ROOT / "Makefile").read_text()  # what make deploy prints


@pytest.mark.parametrize("stage", STAGES)
def test_the_rest_option_differs_from_the_default_in_the_api_alone(templates, templates_rest, stage):
    http, rest = templates[stage], templates_rest[stage]
    api = {package.HTTP_API, package.HTTP_API_STAGE, package.REST_API, package.API_PERMISSION}
    assert set(http["Resources"]) - api == set(rest["Resources"]) - api
    for name in set(http["Resources"]) - api:
        assert http["Resources"][name] == rest["Resources"][name], name
    assert set(rest["Resources"]) & api == {package.REST_API, package.API_PERMISSION}
    assert rest["Resources"][package.REST_API]["Type"] == "AWS::Serverless::Api"
    outputs = {"EndpointURL", "HttpApiId", "RestAPIId"}
    assert {k: v for k, v in http["Outputs"].items() if k not in outputs} == {
        k: v for k, v in rest["Outputs"].items() if k not in outputs
    }
    assert {k: v for k, v in http.items() if k not in ("Resources", "Outputs")} == {
        k: v for k, v in rest.items() if k not in ("Resources", "Outputs")
    }


def test_packaging_refuses_an_unknown_api_type(tmp_path):
    with pytest.raises(SystemExit, match="graphql"):
        package.package("dev", tmp_path, "graphql")


@pytest.mark.parametrize(
    ("argv", "environment", "expected"),
    [
        ([], None, "http"),
        ([], "rest", "rest"),
        (["--api", "http"], "rest", "http"),
        (["--api", "rest"], None, "rest"),
    ],
)
def test_the_api_type_is_the_flag_else_api_type_else_http(monkeypatch, tmp_path, argv, environment, expected):
    chosen = []
    monkeypatch.setattr(package, "package", lambda stage, out, api: chosen.append(api) or tmp_path)
    monkeypatch.setattr(package, "lint", lambda template: None)
    if environment is None:
        monkeypatch.delenv("API_TYPE", raising=False)
    else:
        monkeypatch.setenv("API_TYPE", environment)
    assert package.main(["--stage", "dev", *argv]) == 0
    assert chosen == [expected]


def test_use_http_api_refuses_a_template_without_chalices_rest_api():
    with pytest.raises(SystemExit, match="RestAPI"):
        package.use_http_api({"Resources": {}, "Outputs": {}}, "dev", {"/health": ["GET"]})
