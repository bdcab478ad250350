"""Reading the packaged CloudFormation templates (``make package``'s ``sam.json``) in the infrastructure tests."""

from __future__ import annotations


def get_att(resource: str, attribute: str = "Arn") -> dict:
    return {"Fn::GetAtt": [resource, attribute]}


def in_account(service: str, resource: str) -> dict:
    """An ARN of this stack's account and region."""
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"}


def of_type(template: dict, prefix: str) -> dict[str, dict]:
    """The template's resources whose type starts with ``prefix``, by logical id."""
    return {name: r for name, r in template["Resources"].items() if r["Type"].startswith(prefix)}


def functions(template: dict) -> dict[str, dict]:
    """The functions' properties, by logical id."""
    return {name: r["Properties"] for name, r in of_type(template, "AWS::Serverless::Function").items()}
