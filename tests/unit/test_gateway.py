"""Matching a request that reached the function under the HTTP API's ``$default`` route (pure)."""

from chalicelib.routes.gateway import Match, match_route, request_path

ROUTES = [
    "/agent/login",
    "/agent/{agent_id}/chat",
    "/agent/{agent_id}/chat/send",
    "/console",
    "/console/{asset}",
    "/supervisor/{supervisor_id}/agents/{agent_id}",
]


def test_the_stage_prefix_and_one_trailing_slash_are_dropped():
    assert request_path("/api/console/", "api") == "/console"
    assert request_path("/api/agent/1/chat", "api") == "/agent/1/chat"
    assert request_path("/api", "api") == "/"
    assert request_path("/api/", "api") == "/"


def test_the_default_stage_has_no_prefix_and_other_prefixes_stay():
    assert request_path("/api/console", "$default") == "/api/console"
    assert request_path("/apiary/console", "api") == "/apiary/console"
    assert request_path("/", None) == "/"


def test_a_parameter_segment_matches_one_non_empty_segment():
    assert match_route(ROUTES, "/agent/7/chat") == Match("/agent/{agent_id}/chat", {"agent_id": "7"})
    assert match_route(ROUTES, "/supervisor/1/agents/3") == Match(
        "/supervisor/{supervisor_id}/agents/{agent_id}", {"supervisor_id": "1", "agent_id": "3"}
    )
    assert match_route(ROUTES, "/agent//chat") is None
    assert match_route(ROUTES, "/agent/7/chat/send/more") is None


def test_a_fixed_segment_wins_over_a_parameter():
    routes = ["/agent/{agent_id}", "/agent/login"]
    assert match_route(routes, "/agent/login") == Match("/agent/login", {})
    assert match_route(routes, "/agent/12") == Match("/agent/{agent_id}", {"agent_id": "12"})


def test_no_route_is_none():
    assert match_route(ROUTES, "/wp-login.php") is None
    assert match_route(ROUTES, "/") is None
    assert match_route([], "/console") is None
