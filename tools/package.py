"""``make package``: the deployable template and Lambda zip for one stage, checked.

    python -m tools.package --stage dev [--out build]

1. Writes ``build/<stage>/tables.json``: ``infra/tables.json`` pinned to the
   stage (its ``Stage`` parameter can only be this stage, so the tables and the
   function's environment cannot name different stages).
2. Runs ``chalice package --merge-template`` into ``build/<stage>/``
   (``sam.json`` and ``deployment.zip``).
3. Fails if the zip is larger than ``MAX_ZIP_BYTES`` or ships boto3/botocore
   (the Lambda runtime provides them; shipping them would only add cold-start
   time and megabytes), and prints its size.
4. Runs cfn-lint on ``sam.json``.

API Gateway answers some requests itself, before the function: an unknown path
(its 403 ``Missing Authentication Token``, or with an ``Authorization`` header a
message echoing the header back), throttling, a body too large, a timeout. The
template's gateway responses give those our error shape and security headers
(an unknown path is a 404, as under ``chalice local``). They sit in the API's
definition (``x-amazon-apigateway-gateway-responses``) rather than in separate
``AWS::ApiGateway::GatewayResponse`` resources: the definition is what each
deployment of a SAM API snapshots, and separate resources are dropped or left
undeployed when the definition changes (aws/serverless-application-model#390).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "infra" / "tables.json"
MAX_ZIP_BYTES = 5 * 1024 * 1024  # documented in README (Deploy)
NOT_SHIPPED = ("boto3/", "botocore/", "s3transfer/")
# API Gateway's own answers: (status, or None to keep the gateway's; code; message). Fixed text only:
# $context.error.messageString can carry the request's Authorization header.
GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found", "no route matches this path"),
    "THROTTLED": (None, "too_many_requests", "too many requests; try again shortly"),
    "REQUEST_TOO_LARGE": (None, "body_too_large", "the request is too large"),
    "INTEGRATION_TIMEOUT": (None, "timeout", "the request took too long; try again"),
    "DEFAULT_4XX": (None, "bad_request", "the request was refused before it reached the service"),
    "DEFAULT_5XX": (None, "gateway_error", "the service could not answer; try again"),
}


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


def stage_template(stage: str) -> dict:
    """``infra/tables.json`` for one stage, plus the fixes the generated template needs."""
    template = json.loads(TABLES.read_text())
    parameter = template["Parameters"]["Stage"]
    parameter["Default"] = stage
    parameter["AllowedValues"] = [stage]
    parameter.pop("AllowedPattern", None)
    # One stage: the production-only settings are decided here, not by a condition.
    production = stage == "prod"
    for resource in template["Resources"].values():
        resource["Properties"]["DeletionProtectionEnabled"] = production
    template.pop("Conditions", None)
    # chalice 1.34 names the log group after "${ApiHandler}", a resource that
    # does not exist (the function is "APIHandler"); cfn-lint rejects it and
    # CloudFormation would fail the deploy.
    template["Resources"]["ApiHandlerLogGroup"] = {
        "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${APIHandler}"}}
    }
    # Merged into the API that chalice generates (RestAPI, an AWS::Serverless::Api).
    template["Resources"]["RestAPI"] = {
        "Properties": {"DefinitionBody": {"x-amazon-apigateway-gateway-responses": gateway_responses()}}
    }
    return template


def package(stage: str, out: Path) -> Path:
    """Build ``out/<stage>``; return that directory. Raises ``SystemExit`` on a failed check."""
    target = out / stage
    target.mkdir(parents=True, exist_ok=True)
    merge = out / f"{stage}-tables.json"
    merge.write_text(json.dumps(stage_template(stage), indent=2))
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    chalice = [sys.executable, "-m", "tools.chalice_local"]  # the chalice CLI
    subprocess.run(
        [*chalice, "package", "--stage", stage, "--merge-template", str(merge), str(target)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: chalice's CLI would probe it (see tools/run_local.py)
        check=True,
    )
    check_zip(target / "deployment.zip")
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


def lint(template: Path) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(template)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"package: cfn-lint found problems in {template.name}:\n{result.stdout}{result.stderr}")
    print(f"package: cfn-lint passed on {template.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev", choices=("dev", "prod"))
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    target = package(args.stage, args.out.resolve())
    lint(target / "sam.json")
    print(f"package: ready in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
