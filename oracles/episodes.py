"""Outage episodes with hysteresis: a pure, deterministic state machine over bucket verdicts.

- Idle → Open after K consecutive DOWN buckets; the episode starts at the first of them.
- Open → closed after M consecutive UP buckets; UP blips shorter than M neither close the
  episode nor count as downtime (`down_buckets` counts DOWN buckets only).
- The end of an episode is the end of its last DOWN bucket. Without UNKNOWN buckets that is
  exactly the start of the first UP bucket of the closing run.
- UNKNOWN neither opens nor closes:
  * while idle it breaks a run of DOWN buckets (opening needs K the node actually saw down);
  * while open it changes nothing: it does not extend the end, does not count as downtime, and
    neither advances nor resets the run of UP buckets. So UNKNOWN buckets between the last
    DOWN and the closing UP run are *not* inside the window: the end never covers minutes the
    node did not see down. A gap in the bucket sequence (the node was stopped) is UNKNOWN.

Buckets are indices (`unix_seconds // bucket_seconds`, 60 s by default: the rule's
`bucket_seconds`) and must be fed in increasing order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from .verdicts import BUCKET_SECONDS, Verdict


@dataclass(frozen=True, slots=True)
class EpisodeRule:
    open_after: int  # K
    close_after: int  # M
    bucket_seconds: int = BUCKET_SECONDS  # the deployment's verdict bucket

    def __post_init__(self) -> None:
        if self.open_after < 1 or self.close_after < 1:
            raise ValueError("K and M are at least 1")
        if self.bucket_seconds < 1:
            raise ValueError("a bucket lasts at least 1 s")


@dataclass(frozen=True, slots=True)
class Idle:
    last_bucket: int | None = None
    run_start: int | None = None  # first bucket of the current DOWN run
    run_length: int = 0


@dataclass(frozen=True, slots=True)
class Open:
    last_bucket: int
    start_bucket: int
    last_down_bucket: int
    down_buckets: int
    up_run: int = 0

    def window(self, bucket_seconds: int = BUCKET_SECONDS) -> tuple[int, int]:
        """[start, end) in unix seconds: the first DOWN bucket's start to the last's end."""
        return self.start_bucket * bucket_seconds, (self.last_down_bucket + 1) * bucket_seconds


State = Idle | Open


class Change(StrEnum):
    OPENED = "opened"
    GREW = "grew"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class EpisodeEvent:
    change: Change
    start: int  # unix seconds, start of the first DOWN bucket
    end: int  # unix seconds, end of the last DOWN bucket
    down_seconds: int  # DOWN buckets only: blips and UNKNOWN buckets are not downtime

    @property
    def ongoing(self) -> bool:
        return self.change is not Change.CLOSED


def _event(change: Change, state: Open, seconds: int) -> EpisodeEvent:
    start, end = state.window(seconds)
    return EpisodeEvent(change, start, end, state.down_buckets * seconds)


def step(state: State, bucket: int, verdict: Verdict, rule: EpisodeRule
         ) -> tuple[State, EpisodeEvent | None]:
    if state.last_bucket is not None and bucket <= state.last_bucket:
        raise ValueError(f"bucket {bucket} is not after {state.last_bucket}")

    if isinstance(state, Idle):
        if verdict is not Verdict.DOWN:
            return Idle(last_bucket=bucket), None  # UP and UNKNOWN both break the run
        contiguous = state.run_start is not None and state.last_bucket == bucket - 1
        run_start = state.run_start if contiguous and state.run_start is not None else bucket
        run_length = state.run_length + 1 if contiguous else 1
        if run_length < rule.open_after:
            return Idle(last_bucket=bucket, run_start=run_start, run_length=run_length), None
        opened = Open(last_bucket=bucket, start_bucket=run_start, last_down_bucket=bucket,
                      down_buckets=run_length)
        return opened, _event(Change.OPENED, opened, rule.bucket_seconds)

    if verdict is Verdict.DOWN:
        grown = Open(last_bucket=bucket, start_bucket=state.start_bucket,
                     last_down_bucket=bucket, down_buckets=state.down_buckets + 1)
        return grown, _event(Change.GREW, grown, rule.bucket_seconds)
    if verdict is Verdict.UNKNOWN:
        return replace(state, last_bucket=bucket), None
    up_run = state.up_run + 1
    if up_run >= rule.close_after:
        return Idle(last_bucket=bucket), _event(Change.CLOSED, state, rule.bucket_seconds)
    return replace(state, last_bucket=bucket, up_run=up_run), None


def run(verdicts: list[tuple[int, Verdict]], rule: EpisodeRule, state: State | None = None
        ) -> tuple[State, list[EpisodeEvent]]:
    """Fold a sequence of (bucket, verdict) through `step`; returns final state and events."""
    current: State = state if state is not None else Idle()
    events: list[EpisodeEvent] = []
    for bucket, verdict in verdicts:
        current, event = step(current, bucket, verdict, rule)
        if event is not None:
            events.append(event)
    return current, events


def dump_state(state: State) -> dict[str, Any]:
    return {"state": "open" if isinstance(state, Open) else "idle", **asdict(state)}


def load_state(data: dict[str, Any]) -> State:
    fields = {k: v for k, v in data.items() if k != "state"}
    return Open(**fields) if data.get("state") == "open" else Idle(**fields)
