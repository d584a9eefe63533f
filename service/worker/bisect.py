"""Sending a batch so that one bad item cannot sink the others.

A batch whose transaction is refused (a revert in simulation, a failed estimate, a mined
status 0) is split in halves, and each half is sent on its own, down to the single items that
fail alone. k failing items in a batch of n cost O(k log n) attempts; almost all of them are
simulations that spend no gas. Errors that say nothing about the items (a transport failure,
a transaction whose outcome is unknown) are not bisected: they propagate to the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from service.errors import ChainError

T = TypeVar("T")
# Broadcast but unconfirmed: it may still be mined, so sending its items again is not safe.
UNKNOWN_OUTCOME = frozenset({"no_receipt"})


@dataclass
class Split(Generic[T]):
    sent: list[list[T]] = field(default_factory=list)  # one transaction each
    failed: list[tuple[T, ChainError]] = field(default_factory=list)  # each refused on its own


def isolatable(exc: ChainError) -> bool:
    """Whether a failed send is about its items (bisect it) rather than about the chain."""
    return exc.type not in UNKNOWN_OUTCOME


def send_bisected(items: list[T], send: Callable[[list[T]], list[T]]) -> Split[T]:
    """`send` sends one batch and returns the items it actually sent (it may drop some that
    turned out to be owed nothing); it raises `ChainError` when the batch is refused."""
    split: Split[T] = Split()

    def attempt(batch: list[T]) -> None:
        if not batch:
            return
        try:
            done = send(batch)
        except ChainError as exc:
            if not isolatable(exc):
                raise
            if len(batch) == 1:
                split.failed.append((batch[0], exc))
                return
            mid = len(batch) // 2
            attempt(batch[:mid])
            attempt(batch[mid:])
            return
        if done:
            split.sent.append(done)

    attempt(items)
    return split
