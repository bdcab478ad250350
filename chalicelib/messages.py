"""Messages: sending into an active chat, idempotently when the client asks."""

from __future__ import annotations

from chalicelib import keys
from chalicelib.channels import customer_active_channel
from chalicelib.models import Message, Principal
from chalicelib.store import Replayed, Store


def send(
    store: Store,
    principal: Principal,
    *,
    text: str,
    customer_id: int,
    idempotency_key: str | None = None,
) -> tuple[Message, bool]:
    """Send ``text`` into the active chat of ``customer_id`` (the caller, or an agent's recipient).

    Returns ``(message, created)``: a repeated ``idempotency_key`` returns the
    first message with ``created=False`` and stores nothing (the same key with
    another text is a ``Conflict``, ``idempotency_key_reused``). Raises
    ``NotFound`` (no such customer), ``Conflict`` (no active chat), ``Forbidden`` (an agent
    writing into another agent's chat).
    """
    channel = customer_active_channel(store, principal, customer_id)
    message = Message(
        message_id=keys.new_id(),
        channel_id=channel.channel_id,
        sender_role=principal.role,
        sender_id=principal.user_id,
        text=text,
        created_at=keys.now_iso(),
    )
    # The token and the channel were proven by the read above, in the same request; the commit does not
    # prove them again (a ConditionCheck costs 2 write units, and it makes the message's put a
    # transaction: 2 more). The window: a logout, a resolve or a transfer landing in the milliseconds
    # between that read and this put lets this one message in, stamped before it landed; the next
    # request is refused (README, Security). Without an idempotency key the put is one PutItem (1 unit).
    transaction = store.transaction()
    if idempotency_key is not None:
        transaction.add(store.messages.remember(message, idempotency_key))
    transaction.add(store.messages.put(message))
    try:
        transaction.commit()
    except Replayed as replayed:
        return replayed.message, False
    return message, True
