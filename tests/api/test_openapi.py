"""The published contract, served (moto): the document at /openapi.json, and every route's JSON within it.

The document itself (valid, in step with the routes and the committed file) is in tests/unit/test_openapi_document.py.
"""

import pytest
from jsonschema import Draft202012Validator

from tools.openapi import document


@pytest.mark.parametrize("engine", ["moto"], indirect=True)
def test_the_document_is_served(api):
    reply = api.request("GET", "/openapi.json")
    assert reply.status == 200 and reply.body == document()


def conforms(method, template, reply):
    """``reply``'s body validates against the document's schema for its status."""
    doc = document()
    schema = doc["paths"][template][method.lower()]["responses"][str(reply.status)]["content"]["application/json"]
    validator = Draft202012Validator({**schema["schema"], "components": doc["components"]})
    errors = [e.message for e in validator.iter_errors(reply.body)]
    assert not errors, (method, template, reply.status, reply.body, errors)
    return reply


@pytest.mark.parametrize("engine", ["moto"], indirect=True)
def test_the_json_of_every_route_validates_against_its_generated_schema(api):
    agent = conforms("POST", "/agent/login", api.login("agent", 1)).body["token"]
    customer = conforms("POST", "/customer/login", api.login("customer", 1)).body["token"]
    conforms("POST", "/customer/login", api.login("customer", 1, password="wrong"))  # 401, the Error shape
    channel = conforms("POST", "/customer/{customer_id}/chat/initiate", api.initiate(1, customer)).body
    conforms("POST", "/customer/{customer_id}/chat/initiate", api.initiate(1, customer))  # 409 with details
    conforms("POST", "/customer/{customer_id}/chat/send", api.customer_send(1, customer, "halo"))
    key = {"Idempotency-Key": "k-1"}
    conforms("POST", "/agent/{agent_id}/chat/send", api.agent_send(1, agent, 1, "hi", headers=key))
    conforms("POST", "/agent/{agent_id}/chat/send", api.agent_send(1, agent, 1, "hi", headers=key))  # 200 replay
    conforms("POST", "/agent/{agent_id}/chat/send", api.agent_send(1, agent, 1, ""))  # 400 with field
    history = {"channel_id": channel["channel_id"], "limit": 1}
    page = api.request("GET", "/agent/1/chat", token=agent, query=history)
    assert conforms("GET", "/agent/{agent_id}/chat", page).body["next_cursor"]
    conforms("GET", "/customer/{customer_id}/chat", api.request("GET", "/customer/1/chat", token=customer))
    conforms("GET", "/agent/{agent_id}/chat/active", api.active(1, agent))
    conforms("POST", "/agent/{agent_id}/chat/resolve", api.resolve(1, agent, 1))
    own = api.request("GET", "/agent/1/chats", token=agent, query={"limit": 1})
    assert conforms("GET", "/agent/{agent_id}/chats", own).body["chats"]
    conforms("GET", "/customer/{customer_id}/chats", api.request("GET", "/customer/1/chats", token=customer))
    conforms("GET", "/customer/{customer_id}/chats", api.request("GET", "/customer/1/chats?limit=0", token=customer))
    conforms("PUT", "/customer/{customer_id}/logout", api.logout("customer", 1, customer))
    conforms("PUT", "/agent/{agent_id}/logout", api.logout("agent", 1, agent))
