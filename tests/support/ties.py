"""A deterministic tie-break for tests that aim a chat at one agent (the service's is random)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class LowestIdFirst:
    """Among agents tied at the least load, the lowest agent id (patch ``chalicelib.allocation._TIES``)."""

    def choice(self, tied: Sequence[Any]) -> Any:
        return min(tied, key=lambda a: a.agent_id)
