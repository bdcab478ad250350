"""A user's own chats: every chat a customer opened or an agent was given, any status, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from chalicelib.models import Channel, Principal
from chalicelib.shapes import Out, Shape
from chalicelib.store import Store


@dataclass(frozen=True)
class ChatList:
    chats: list[Channel]
    next_cursor: str | None

    JSON: ClassVar[Shape] = Shape(
        chats=Out(schema={"description": "Newest first; active and resolved."}),
        next_cursor=Out(schema={"description": "Pass as `cursor` for the next page; null on the last page."}),
    )

    def to_dict(self) -> dict[str, Any]:
        return self.JSON.dump(self)


def own_chats(store: Store, caller: Principal, limit: int, cursor: str | None) -> ChatList:
    """One page of the calling customer's or agent's chats, newest first (an eventually
    consistent index: a chat opened a moment ago may not be listed yet).

    Raises ``Unauthorized`` (token revoked) and ``InvalidInput`` (a cursor of another list).
    """
    store.read(caller=caller)
    chats, next_cursor = store.chat_index.page(caller.role, caller.user_id, limit, cursor)
    return ChatList(chats, next_cursor)
