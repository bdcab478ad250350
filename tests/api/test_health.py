"""GET /health: no token, no data; 200 while the store answers, 503 otherwise."""

from tests.support.dynamo_hooks import failing


def test_health_is_200_without_a_token_and_says_nothing_else(api):
    reply = api.request("GET", "/health")
    assert reply.status == 200 and reply.body == {"status": "ok"}


def test_health_is_503_when_the_store_does_not_answer(api):
    with failing("BatchGetItem", "InternalServerError", status=500):
        reply = api.request("GET", "/health")
    assert reply.status == 503 and reply.error["code"] == "store_unavailable" and reply.headers["Retry-After"]
