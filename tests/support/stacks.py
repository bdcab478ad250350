"""``infra/tables.json`` deployed in moto's CloudFormation (call inside ``mock_aws``)."""

from __future__ import annotations

import boto3

from chalicelib.store import tables as schema

STACK = "agent-allocation-test"


def deploy_tables(stage: str = "test") -> dict[str, str]:
    """Create the stack for ``stage``; its outputs by key."""
    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=schema.TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
    )
    outputs = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}
