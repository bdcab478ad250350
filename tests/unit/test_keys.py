"""Keys and identifiers: pure functions."""

from chalicelib import keys


def test_user_keys_are_namespaced_by_role():
    assert keys.agent_pk(1) == "agent#1"
    assert keys.customer_pk(1) == "customer#1"
    assert keys.agent_pk(1) != keys.customer_pk(1)
    assert keys.login_pk("agent", "annasianna") == "login#agent#annasianna"


def test_a_teams_supervisor_sockets_have_a_partition_no_user_key_can_name():
    assert keys.team_watch_pk("sales") == "watch#sales"
    assert all(not keys.team_watch_pk("sales").startswith(f"{role}#") for role in keys.ROLES)


def test_chat_item_keys_share_the_channel_partition_without_clashing():
    assert keys.channel_pk("X") == "channel#X"
    assert keys.message_sk("ABC") == "msg#ABC"
    assert not keys.CHANNEL_SK.startswith(keys.MESSAGE_SK_PREFIX)
    assert keys.idempotency_sk("customer", 1, "k1") == "idem#customer#1#k1"
    assert not keys.idempotency_sk("customer", 1, "k1").startswith(keys.MESSAGE_SK_PREFIX)


def test_message_ids_order_message_keys_by_time():
    first = keys.message_sk(keys.new_id(now_ms=1_000))
    second = keys.message_sk(keys.new_id(now_ms=2_000))
    assert first < second


def test_offline_agents_rank_after_every_online_agent():
    assert keys.rank(0, online=True) == 0
    assert keys.rank(999, online=True) < keys.rank(0, online=False)
    assert keys.rank(3, online=False) == keys.OFFLINE_RANK_OFFSET + 3


def test_new_ids_are_26_crockford_characters_and_unique():
    ids = {keys.new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 26 and set(i) <= set(keys._CROCKFORD) for i in ids)


def test_new_ids_sort_by_time():
    earlier = [keys.new_id(now_ms=1_700_000_000_000) for _ in range(50)]
    later = [keys.new_id(now_ms=1_700_000_000_001) for _ in range(50)]
    assert max(earlier) < min(later)


def test_now_iso_is_utc_with_milliseconds():
    stamp = keys.now_iso()
    assert stamp.endswith("Z") and len(stamp) == len("2026-11-24T05:43:12.123Z")


def test_ids_made_one_after_the_other_are_strictly_increasing():
    from chalicelib.keys import new_id

    ids = [new_id() for _ in range(2000)]  # many share a millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
