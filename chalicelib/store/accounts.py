"""Users, logins and tokens: the users and tokens tables."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import keys
from chalicelib.config import Settings
from chalicelib.errors import NotFound, Unauthorized
from chalicelib.models import OFFLINE, ONLINE, Agent, Credentials, Customer, LoginAttempt, Principal
from chalicelib.schema import TTL_ATTRIBUTE
from chalicelib.store import codec
from chalicelib.store.dynamo import (
    TransactionCancelled,
    call,
    from_item,
    is_condition_failure,
    store_busy,
    to_item,
    to_values,
    transact,
)

# Condition clauses, named once.
ITEM_IS_NEW = "attribute_not_exists(pk)"
ITEM_EXISTS = "attribute_exists(pk)"
TOKEN_NOT_REVOKED = ITEM_IS_NEW  # a revoked token has an item; a live one has none

BATCH_GET_ATTEMPTS = 4


def revoked(message: str = "the token has been revoked; log in again") -> Unauthorized:
    return Unauthorized(message, code="token_revoked")


class AccountStore:
    settings: Settings

    # -- logins -----------------------------------------------------------

    def login_attempt(self, role: str, username: str, source: str | None, window_start: int) -> LoginAttempt:
        """The login of ``username`` in ``role`` and the failures counted in this window, in one round trip."""
        user_key = keys.login_failures_pk(role, username, window_start)
        source_key = keys.source_failures_pk(source, window_start) if source else None
        login_key = keys.login_pk(role, username)
        found = self._batch_get(tokens=(user_key,) + ((source_key,) if source_key else ()), users=(login_key,))
        login = found.get(login_key)
        return LoginAttempt(
            credentials=codec.credentials(login) if login else None,
            user_failures=int(found.get(user_key, {}).get("failures", 0)),
            source_failures=int(found.get(source_key, {}).get("failures", 0)) if source_key else 0,
        )

    def record_login_failure(
        self, role: str, username: str, source: str | None, window_start: int, expires_at: int
    ) -> None:
        """Count one failed login against the username and the source (one transaction)."""
        counters = [keys.login_failures_pk(role, username, window_start)]
        if source:
            counters.append(keys.source_failures_pk(source, window_start))
        items = [
            (
                pk,
                {
                    "Update": {
                        "TableName": self.settings.tokens_table,
                        "Key": to_item({"pk": pk}),
                        "UpdateExpression": "ADD failures :one SET #ttl = :expires",
                        "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE},
                        "ExpressionAttributeValues": to_values({":one": 1, ":expires": expires_at}),
                    }
                },
            )
            for pk in counters
        ]
        try:
            transact(items)
        except TransactionCancelled as cancelled:
            raise store_busy() from cancelled

    def clear_login_failures(self, role: str, username: str, window_start: int) -> None:
        """Forget the username's failures after a successful login (the source's stay counted)."""
        call(
            "delete_item",
            TableName=self.settings.tokens_table,
            Key=to_item({"pk": keys.login_failures_pk(role, username, window_start)}),
        )

    def replace_password_hash(self, credentials: Credentials, new_hash: str) -> None:
        """Store a rehashed password, unless the password changed meanwhile."""
        try:
            call(
                "update_item",
                TableName=self.settings.users_table,
                Key=to_item({"pk": keys.login_pk(credentials.role, credentials.username)}),
                UpdateExpression="SET password_hash = :new",
                ConditionExpression="password_hash = :old",
                ExpressionAttributeValues=to_values({":new": new_hash, ":old": credentials.password_hash}),
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def set_agent_status(self, agent_id: int, online: bool) -> Agent:
        """Put an agent online or offline (its load-index rank follows). Raises ``NotFound``."""
        offset = 0 if online else keys.OFFLINE_RANK_OFFSET
        try:
            response = call(
                "update_item",
                TableName=self.settings.users_table,
                Key=to_item({"pk": keys.agent_pk(agent_id)}),
                UpdateExpression="SET #status = :status, #rank = active_count + :offset",
                ConditionExpression=ITEM_EXISTS,
                ExpressionAttributeNames={"#status": "status", "#rank": "rank"},
                ExpressionAttributeValues=to_values({":status": ONLINE if online else OFFLINE, ":offset": offset}),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise NotFound(f"agent {agent_id} does not exist", code="agent_not_found") from error
            raise
        return codec.agent(from_item(response["Attributes"]))

    def get_customer(self, customer_id: int) -> Customer | None:
        response = call(
            "get_item",
            TableName=self.settings.users_table,
            Key=to_item({"pk": keys.customer_pk(customer_id)}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return codec.customer(from_item(item)) if item else None

    # -- tokens -----------------------------------------------------------

    def revoke_token(self, principal: Principal, *, set_agent_offline: bool) -> None:
        """Log out: revoke the token (until it would have expired) and, for agents, go offline.

        One transaction. Raises ``Unauthorized`` if the token is already revoked.
        """
        revoke = self._revoke_item(principal)
        if not set_agent_offline:
            try:
                call("put_item", **revoke)
            except ClientError as error:
                if is_condition_failure(error):
                    raise revoked("the token is already revoked") from error
                raise
            return
        go_offline = {
            "TableName": self.settings.users_table,
            "Key": to_item({"pk": keys.agent_pk(principal.user_id)}),
            "UpdateExpression": "SET #status = :offline, #rank = active_count + :offset",
            "ConditionExpression": ITEM_EXISTS,
            "ExpressionAttributeNames": {"#status": "status", "#rank": "rank"},
            "ExpressionAttributeValues": to_values({":offline": OFFLINE, ":offset": keys.OFFLINE_RANK_OFFSET}),
        }
        try:
            transact([("token", {"Put": revoke}), ("agent", {"Update": go_offline})])
        except TransactionCancelled as cancelled:
            reasons = cancelled.cancellation
            if reasons.failed("token"):
                raise revoked("the token is already revoked") from cancelled
            if reasons.failed("agent"):
                raise NotFound(f"agent {principal.user_id} does not exist", code="agent_not_found") from cancelled
            raise store_busy() from cancelled

    def _revoke_item(self, principal: Principal) -> dict[str, Any]:
        return {
            "TableName": self.settings.tokens_table,
            "Item": to_item(
                {
                    "pk": keys.revoked_token_pk(principal.jti),
                    "role": principal.role,
                    "user_id": principal.user_id,
                    # Kept a little past the token's own expiry, then removed by TTL.
                    TTL_ATTRIBUTE: principal.expires_at + 60,
                }
            ),
            "ConditionExpression": ITEM_IS_NEW,
        }

    def _transact_as(self, principal: Principal, items: list[tuple[str, dict[str, Any]]]) -> None:
        """``transact`` the labelled items, on condition that ``principal``'s token is not revoked.

        The check rides in the same transaction (no extra round trip).
        Raises ``Unauthorized`` if the token was revoked, else as ``transact``.
        """
        token_check = {
            "ConditionCheck": {
                "TableName": self.settings.tokens_table,
                "Key": to_item({"pk": keys.revoked_token_pk(principal.jti)}),
                "ConditionExpression": TOKEN_NOT_REVOKED,
            }
        }
        try:
            transact([*items, ("token", token_check)])
        except TransactionCancelled as cancelled:
            if cancelled.cancellation.failed("token"):
                raise revoked() from cancelled
            raise

    def _load(
        self,
        principal: Principal,
        *,
        users: tuple[str, ...] = (),
        chats: tuple[tuple[str, str], ...] = (),
    ) -> dict[Any, dict[str, Any]]:
        """Check the token is not revoked and read up to a few items, in one round trip.

        ``users`` are user-table keys (``pk``), ``chats`` chats-table keys
        (``(pk, sk)``). Returns the found items keyed the same way; raises
        ``Unauthorized`` if the token was revoked.
        """
        token_key = keys.revoked_token_pk(principal.jti)
        found = self._batch_get(tokens=(token_key,), users=users, chats=chats)
        if found.pop(token_key, None) is not None:
            raise revoked()
        return found

    def _batch_get(
        self,
        *,
        tokens: tuple[str, ...] = (),
        users: tuple[str, ...] = (),
        chats: tuple[tuple[str, str], ...] = (),
    ) -> dict[Any, dict[str, Any]]:
        """Strongly consistent reads of a few items from any tables, in one round trip."""
        request: dict[str, Any] = {}
        for table, pks in ((self.settings.tokens_table, tokens), (self.settings.users_table, users)):
            if pks:
                request[table] = {"Keys": [to_item({"pk": pk}) for pk in pks], "ConsistentRead": True}
        if chats:
            request[self.settings.chats_table] = {
                "Keys": [to_item({"pk": pk, "sk": sk}) for pk, sk in chats],
                "ConsistentRead": True,
            }
        found: dict[Any, dict[str, Any]] = {}
        for attempt in range(BATCH_GET_ATTEMPTS):
            response = call("batch_get_item", RequestItems=request)
            for table, items in response.get("Responses", {}).items():
                for raw in items:
                    item = from_item(raw)
                    key = item["pk"] if table != self.settings.chats_table else (item["pk"], item["sk"])
                    found[key] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise store_busy()
        return found

    def check_token(self, principal: Principal) -> None:
        """Raise ``Unauthorized`` if ``principal``'s token was revoked (one read)."""
        self._load(principal)

    def customer_for(self, principal: Principal, customer_id: int) -> Customer | None:
        """Check the token and read a customer, in one round trip."""
        key = keys.customer_pk(customer_id)
        item = self._load(principal, users=(key,)).get(key)
        return codec.customer(item) if item else None

    # -- seeding ----------------------------------------------------------

    def create_user(self, role: str, user_id: int, username: str, password_hash: str) -> bool:
        """Create a user and its login together; ``False`` if either already exists."""
        now = keys.now_iso()
        user: dict[str, Any] = {
            "pk": keys.user_pk(role, user_id),
            "username": username,
            "created_at": now,
        }
        if role == keys.AGENT:
            user.update(
                agent_id=user_id,
                status=OFFLINE,
                active_count=0,
                pool=self.settings.agent_pool,
                rank=keys.rank(0, online=False),
                last_assigned_at="",
            )
        else:
            user.update(customer_id=user_id)
        login = {
            "pk": keys.login_pk(role, username),
            "role": role,
            "user_id": user_id,
            "username": username,
            "password_hash": password_hash,
        }
        items = [
            (
                label,
                {
                    "Put": {
                        "TableName": self.settings.users_table,
                        "Item": to_item(values),
                        "ConditionExpression": ITEM_IS_NEW,
                    }
                },
            )
            for label, values in (("user", user), ("login", login))
        ]
        try:
            transact(items)
        except TransactionCancelled as cancelled:
            if cancelled.cancellation.failed("user") or cancelled.cancellation.failed("login"):
                return False
            raise store_busy() from cancelled
        return True
