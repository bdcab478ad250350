"""Logins (users table, ``login#<role>#<username>``): the only writer of password hashes.

A login names the user it belongs to; the hash never leaves the store except
inside ``Credentials``, which has no JSON form.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib import keys
from chalicelib.models import Credentials
from chalicelib.store.batch import Ref, ref
from chalicelib.store.dynamo import call, is_condition_failure, to_item, to_values
from chalicelib.store.tables import ITEM_IS_NEW
from chalicelib.store.transaction import Item


def decode(item: dict[str, Any]) -> Credentials:
    return Credentials(
        role=item["role"],
        user_id=int(item["user_id"]),
        username=item["username"],
        password_hash=item["password_hash"],
    )


class Logins:
    def __init__(self, table: str) -> None:
        self.table = table

    def ref(self, role: str, username: str) -> Ref[Credentials]:
        return ref(self.table, decode, pk=keys.login_pk(role, username))

    def new(self, role: str, user_id: int, username: str, password_hash: str) -> Item:
        values = {
            "pk": keys.login_pk(role, username),
            "role": role,
            "user_id": user_id,
            "username": username,
            "password_hash": password_hash,
        }
        put = {"TableName": self.table, "Item": to_item(values), "ConditionExpression": ITEM_IS_NEW}
        return Item("login", {"Put": put})

    def replace_hash(self, credentials: Credentials, new_hash: str) -> None:
        """Store a rehashed password, unless the password changed meanwhile."""
        try:
            call(
                "update_item",
                TableName=self.table,
                Key=to_item({"pk": keys.login_pk(credentials.role, credentials.username)}),
                UpdateExpression="SET password_hash = :new",
                ConditionExpression="password_hash = :old",
                ExpressionAttributeValues=to_values({":new": new_hash, ":old": credentials.password_hash}),
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
