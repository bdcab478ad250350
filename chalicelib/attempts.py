"""Login attempts: what an attempt counts against, reserving it before the password is
checked, and giving it back after a success (the arithmetic is ``chalicelib.throttling``)."""

from __future__ import annotations

from chalicelib import throttling
from chalicelib.auth import device_id
from chalicelib.config import Settings
from chalicelib.errors import TooManyRequests
from chalicelib.store import Store
from chalicelib.store.batch import Ref
from chalicelib.store.throttle import Counter
from chalicelib.throttling import Window

USER, SOURCE, DEVICE = "user", "source", "device"


class Attempt:
    """One login attempt: its counters in the current sliding window."""

    def __init__(
        self, store: Store, settings: Settings, role: str, username: str, source: str | None, device_token: str | None,
        now: float,
    ) -> None:  # fmt: skip
        self.store = store
        self.now = now
        self.window = Window.at(now, settings.login_window_seconds)
        self.counters = counters(settings, role, username, source, device_token)
        self.counts: list[tuple[int, int]] = []

    def refs(self) -> list[Ref[int]]:
        """The counters to read (previous and current window of each), beside the login."""
        return [ref for counter in self.counters for ref in self.store.throttle.refs(counter, self.window)]

    def reserve(self, counts: list[int | None]) -> None:
        """Reserve the attempt on every counter, given what ``refs`` read; or raise ``TooManyRequests``.

        One conditional write per counter, the source address's first (not one transaction: that
        would cost twice the write units). A reservation that is refused leaves the ones before it
        counted: an attempt refused for its username still counts against its address, never the
        other way round, so nobody can spend a user's attempts from an address that has none left.
        """
        self.counts = [(p or 0, c or 0) for p, c in zip(counts[::2], counts[1::2], strict=True)]
        reservations = []
        for counter, (previous, current) in zip(self.counters, self.counts, strict=True):
            allowed = throttling.room(counter.limit, previous, self.window, self.now)
            wait = throttling.retry_after(counter.limit, previous, max(current, allowed), self.window, self.now)
            if current >= allowed:
                raise too_many_attempts(wait)
            reservation = self.store.throttle.reserve(counter, self.window, allowed)
            reservations.append(reservation.failing_as(lambda _current, wait=wait: too_many_attempts(wait)))
        for reservation in reservations:  # in the counters' order: the address's first
            self.store.transaction().add(reservation).commit()

    def succeeded(self) -> None:
        """The password was right: the user (or device) starts afresh; the address gets its attempt back.
        One write per counter window (each stands alone: one left undone only counts an attempt too many)."""
        for counter, (previous, _) in zip(self.counters, self.counts, strict=True):
            if counter.kind == SOURCE:
                releases = [self.store.throttle.refund(counter, self.window)]
            else:
                releases = self.store.throttle.forget(counter, self.window, previous_too=previous > 0)
            for release in releases:
                self.store.transaction().add(release).commit()


def counters(
    settings: Settings, role: str, username: str, source: str | None, device_token: str | None
) -> list[Counter]:
    """What an attempt counts against: its device, if it shows a valid device token of the
    username; else the source address and the username (reserved in this order: ``Attempt.reserve``)."""
    device = device_id(settings, device_token, role, username) if device_token else None
    if device is not None:
        return [Counter(DEVICE, device, settings.login_max_failures)]
    found = [Counter(SOURCE, source, settings.login_max_failures_per_source)] if source else []
    return [*found, Counter(USER, f"{role}#{username}", settings.login_max_failures)]


def too_many_attempts(retry_after: int) -> TooManyRequests:
    return TooManyRequests("too many failed logins; try again later", retry_after=retry_after)
