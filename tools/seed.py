"""Seed users: the original's demo users, and any number of extra ones for load tests.

    python -m tools.seed                      # tables (if missing) + demo users
    python -m tools.seed --agents 50 --customers 2000 --password loadtest-pass

Table names and the endpoint come from the same environment variables as the
service (USERS_TABLE, CHATS_TABLE, TOKENS_TABLE, AWS_ENDPOINT_URL_DYNAMODB).
Seeding is idempotent: users that already exist are left as they are. Extra
users get ids after the demo ones (agents from 4, customers from 9) and
usernames ``agent<id>`` / ``customer<id>``; they share one password, hashed
once per run so that thousands of users seed quickly.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass

from chalicelib.accounts import create_user
from chalicelib.auth import hash_password
from chalicelib.config import get_settings
from chalicelib.keys import AGENT, CUSTOMER, SUPERVISOR
from chalicelib.store import get_store
from chalicelib.store.admin import create_tables

log = logging.getLogger("tools.seed")


@dataclass(frozen=True)
class DemoUser:
    role: str
    user_id: int
    username: str
    password: str


# SPEC.md's demo users, exactly, and the demo supervisor.
DEMO_USERS = (
    DemoUser(AGENT, 1, "annasianna", "strongpass1"),
    DemoUser(AGENT, 2, "rosesimawar", "strongpass2"),
    DemoUser(AGENT, 3, "biruisblue", "strongpass3"),
    DemoUser(CUSTOMER, 1, "daungugur", "strongpass1"),
    DemoUser(CUSTOMER, 2, "mawarberduri", "strongpass2"),
    DemoUser(CUSTOMER, 3, "langitbiru", "strongpass3"),
    DemoUser(CUSTOMER, 4, "jalankenangan", "strongpass4"),
    DemoUser(CUSTOMER, 5, "sepaturoda", "strongpass5"),
    DemoUser(CUSTOMER, 6, "tumblrbiru", "strongpass6"),
    DemoUser(CUSTOMER, 7, "jejakkaki", "strongpass7"),
    DemoUser(CUSTOMER, 8, "tamanbunga", "strongpass8"),
    DemoUser(SUPERVISOR, 1, "supervisor", "strongpass0"),  # wave 2: the supervisor role
)
FIRST_EXTRA_ID = {AGENT: 4, CUSTOMER: 9}


def seed_demo() -> int:
    """Create the demo users that do not exist yet; return how many were created."""
    store = get_store()
    return sum(create_user(store, u.role, u.user_id, u.username, hash_password(u.password)) for u in DEMO_USERS)


def seed_extra(role: str, count: int, password: str, team: str | None = None, first: int | None = None) -> int:
    """Create ``count`` extra users of ``role`` (ids from ``first``, by default after the demo ones;
    agents in ``team``); return how many were new."""
    store = get_store()
    password_hash = hash_password(password)
    first = first or FIRST_EXTRA_ID[role]
    ids = range(first, first + count)
    return sum(create_user(store, role, i, f"{role}{i}", password_hash, team) for i in ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-demo", action="store_true", help="do not create the demo users")
    parser.add_argument("--agents", type=int, default=0, metavar="N", help="extra agents to create")
    parser.add_argument("--customers", type=int, default=0, metavar="N", help="extra customers to create")
    parser.add_argument("--password", default="loadtest-pass", help="password of the extra users")
    parser.add_argument("--team", default=None, help="the team of the extra agents (default: AGENT_POOL)")
    parser.add_argument("--first-id", type=int, default=None, metavar="ID", help="the first extra user's id")
    parser.add_argument("--no-create-tables", action="store_true", help="fail instead of creating missing tables")
    args = parser.parse_args(argv)
    if args.agents < 0 or args.customers < 0:
        parser.error("--agents and --customers must not be negative")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.no_create_tables:
        create_tables(get_settings())
    if not args.no_demo:
        log.info("demo users: %d created", seed_demo())
    if args.agents:
        created = seed_extra(AGENT, args.agents, args.password, args.team, args.first_id)
        log.info("extra agents: %d created", created)
    if args.customers:
        log.info(
            "extra customers: %d created", seed_extra(CUSTOMER, args.customers, args.password, first=args.first_id)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
