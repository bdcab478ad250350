"""The seeding command: demo users exactly as SPEC.md lists them, extras for load tests."""

from chalicelib.store.dynamo import from_item, get_client
from tests.support import invariants
from tools import seed


def logins():
    from chalicelib.config import get_settings

    items = get_client().scan(TableName=get_settings().users_table)["Items"]
    return {i["pk"]: i for i in map(from_item, items) if i["pk"].startswith("login#")}


def test_demo_users_are_seeded_with_hashed_passwords_only(seeded):
    found = logins()
    assert len(found) == 12  # 3 agents, 8 customers, 1 supervisor
    for user in seed.DEMO_USERS:
        item = found[f"login#{user.role}#{user.username}"]
        assert item["user_id"] == user.user_id
        assert item["password_hash"].startswith("$argon2id$")
        assert user.password not in str(item)
    state = invariants.snapshot()
    assert sorted(a["agent_id"] for a in state["agents"]) == [1, 2, 3]
    assert sorted(c["customer_id"] for c in state["customers"]) == list(range(1, 9))
    assert all(a["status"] == "offline" and a["active_count"] == 0 for a in state["agents"])


def test_seeding_twice_duplicates_nothing(seeded):
    assert seed.seed_demo() == 0
    assert len(logins()) == 12


def test_extra_users_for_load_tests(seeded, monkeypatch):
    monkeypatch.setattr(seed, "hash_password", lambda p: f"hash-of-{len(p)}")
    assert seed.seed_extra("agent", 5, "pw") == 5
    assert seed.seed_extra("customer", 20, "pw") == 20
    state = invariants.snapshot()
    assert sorted(a["agent_id"] for a in state["agents"]) == list(range(1, 9))
    assert len(state["customers"]) == 28
    assert "login#customer#customer28" in logins()
    assert seed.seed_extra("agent", 5, "pw") == 0


def test_the_command_line_creates_tables_and_users(tables, monkeypatch):
    monkeypatch.setattr(seed, "hash_password", lambda p: "h")
    assert seed.main(["--agents", "2", "--customers", "3"]) == 0
    state = invariants.snapshot()
    assert len(state["agents"]) == 5 and len(state["customers"]) == 11


def test_extra_users_can_log_in(api):
    seed.seed_extra("agent", 1, "load-pass-1")
    reply = api.request("POST", "/agent/login", form={"username": "agent4", "password": "load-pass-1"})
    assert reply.status == 200 and reply.body["user"]["id"] == 4
