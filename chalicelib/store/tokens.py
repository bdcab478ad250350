"""Revoked tokens (tokens table, ``revoked#<jti>``, removed by TTL once the token would
have expired): the only writer of revocations, and the one definition of "not revoked"."""

from __future__ import annotations

from typing import Any

from chalicelib import keys
from chalicelib.errors import Unauthorized
from chalicelib.models import Principal
from chalicelib.store.batch import Ref, ref
from chalicelib.store.dynamo import to_item
from chalicelib.store.tables import ITEM_IS_NEW, TTL_ATTRIBUTE
from chalicelib.store.transaction import Item

# A revoked token has an item; a live one has none.
NOT_REVOKED = ITEM_IS_NEW


def revoked(message: str = "the token has been revoked; log in again") -> Unauthorized:
    return Unauthorized(message, code="token_revoked")


class AlreadyRevoked(Unauthorized):
    def __init__(self) -> None:
        super().__init__("the token is already revoked", code="token_revoked")


class Tokens:
    def __init__(self, table: str) -> None:
        self.table = table

    def revocation_ref(self, principal: Principal) -> Ref[dict[str, Any]]:
        """The revocation of ``principal``'s token, if any (read it beside a route's own items)."""
        return ref(self.table, dict, pk=keys.revoked_token_pk(principal.jti))

    def still_valid(self, principal: Principal) -> Item:
        """The token is not revoked (a transaction's first item). Fails as ``token_revoked``."""
        check = {
            "TableName": self.table,
            "Key": to_item({"pk": keys.revoked_token_pk(principal.jti)}),
            "ConditionExpression": NOT_REVOKED,
        }
        return Item("token", {"ConditionCheck": check}, on_fail=lambda _current: revoked())

    def revoke_session(self, agent_id: int, entry: str) -> Item:
        """Revoke the token of an agent's session entry (``<exp>#<jti>``), whatever its state (forced off)."""
        expires_at, jti = entry.split("#", 1)
        values = {"pk": keys.revoked_token_pk(jti), "role": keys.AGENT, "user_id": agent_id}
        values[TTL_ATTRIBUTE] = int(expires_at) + 60
        return Item(f"token#{jti}", {"Put": {"TableName": self.table, "Item": to_item(values)}})

    def revoke(self, principal: Principal) -> Item:
        """Revoke the token until it would have expired. Fails as ``AlreadyRevoked``."""
        values = {
            "pk": keys.revoked_token_pk(principal.jti),
            "role": principal.role,
            "user_id": principal.user_id,
            # Kept a little past the token's own expiry, then removed by TTL.
            TTL_ATTRIBUTE: principal.expires_at + 60,
        }
        put = {"TableName": self.table, "Item": to_item(values), "ConditionExpression": NOT_REVOKED}
        return Item("token", {"Put": put}, on_fail=lambda _current: AlreadyRevoked())
