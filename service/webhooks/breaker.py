"""A circuit breaker per destination: after `failures` consecutive failed attempts the circuit
opens and nothing is sent there for `cooldown` seconds; then one trial attempt is let through
(half-open): success closes the circuit, failure opens it again for another cool-down.

Pure and clock-injected (`now` is passed in), so the state machine is tested without sleeping.
The key is chosen by the caller; the dispatcher keys by (tenant, origin) so that one tenant's
failing hooks never hold back another tenant's deliveries to the same host."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

K = TypeVar("K")


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    trial: bool = False  # a half-open trial attempt is in flight


class Breakers(Generic[K]):
    def __init__(self, failures: int = 5, cooldown: float = 60.0) -> None:
        self.threshold = max(1, failures)
        self.cooldown = cooldown
        self._circuits: dict[K, _Circuit] = {}

    def state(self, key: K, now: float) -> State:
        c = self._circuits.get(key)
        if c is None or c.opened_at is None:
            return State.CLOSED
        if now - c.opened_at < self.cooldown:
            return State.OPEN
        return State.HALF_OPEN

    def allow(self, key: K, now: float) -> bool:
        """May an attempt start now? In half-open state only one trial at a time."""
        state = self.state(key, now)
        if state is State.CLOSED:
            return True
        if state is State.OPEN:
            return False
        return not self._circuits[key].trial

    def closed_off(self, now: float) -> tuple[set[K], set[K]]:
        """A snapshot for a claim made elsewhere: (keys that may not start an attempt now, keys
        that may start exactly one trial). Keys in neither are closed: free to go."""
        blocked = {key for key in self._circuits if not self.allow(key, now)}
        trial = {key for key in self._circuits
                 if key not in blocked and self.state(key, now) is State.HALF_OPEN}
        return blocked, trial

    def started(self, key: K, now: float) -> None:
        """Record that an attempt the caller was allowed to make has started."""
        if self.state(key, now) is State.HALF_OPEN:
            self._circuits[key].trial = True

    def succeeded(self, key: K) -> None:
        self._circuits.pop(key, None)

    def failed(self, key: K, now: float) -> None:
        c = self._circuits.setdefault(key, _Circuit())
        c.failures += 1
        if c.trial or c.failures >= self.threshold:
            c.opened_at = now
        c.trial = False
