"""The evidence log: append-only SQLite, one hash chain per stream (probe name).

Why per stream: an episode's evidence is then a contiguous, self-checking slice of its target's
chain (plus slices of each canary chain showing the node was healthy), which a verifier can
check without the node's unrelated observations. A stream is written in probe start order
because the scheduler never has two probes of one target in flight.

Triggers make UPDATE and DELETE fail, so the log cannot be edited through SQLite by mistake.
Appends are signed immediately and written in batches by `flush()`; nothing refers to an
observation before it is flushed (roots are computed only from flushed rows), so a crash loses
at most the unflushed tail and never leaves the chain inconsistent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from eth_utils.crypto import keccak

from ..errors import EvidenceError
from ..keys import NodeKey
from ..outcome import ProbeResult
from .observation import (
    ZERO_HASH,
    SignedObservation,
    observation_body,
    recover_signer,
    sign_observation,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS observations (
    stream TEXT NOT NULL,
    idx INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    hash BLOB NOT NULL,
    body BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (stream, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS observations_by_time ON observations (stream, started_ms);
CREATE TRIGGER IF NOT EXISTS observations_no_update BEFORE UPDATE ON observations
BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS observations_no_delete BEFORE DELETE ON observations
BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
"""


class EvidenceLog:
    def __init__(self, path: Path, key: NodeKey) -> None:
        self._key = key
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'node'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('node', ?)", (key.address,))
            self._db.commit()
        elif row[0] != key.address:
            raise EvidenceError(f"{path} is the evidence log of {row[0]}, not of {key.address}")
        self._heads: dict[str, tuple[int, bytes]] = {
            stream: (idx, digest)
            for stream, idx, digest in self._db.execute(
                "SELECT o.stream, o.idx, o.hash FROM observations o "
                "JOIN (SELECT stream, MAX(idx) AS idx FROM observations GROUP BY stream) m "
                "ON o.stream = m.stream AND o.idx = m.idx"
            )
        }
        self._pending: list[tuple[str, int, int, bytes, bytes, bytes]] = []
        self.appended = 0

    @property
    def node(self) -> str:
        return self._key.address

    def append(self, *, stream: str, kind: str, canary: bool, service_id: bytes | None,
               planned: float, started: float, result: ProbeResult) -> SignedObservation:
        last_index, prev_hash = self._heads.get(stream, (-1, ZERO_HASH))
        body = observation_body(
            node=self._key.address, stream=stream, index=last_index + 1, prev_hash=prev_hash,
            kind=kind, canary=canary, service_id=service_id, planned_ms=round(planned * 1000),
            started_ms=round(started * 1000), result=result,
        )
        obs = sign_observation(self._key, body)
        self._heads[stream] = (last_index + 1, obs.hash)
        self._pending.append(
            (stream, last_index + 1, body["started_ms"], obs.hash, obs.canonical, obs.signature)
        )
        self.appended += 1
        return obs

    def flush(self) -> int:
        if not self._pending:
            return 0
        rows, self._pending = self._pending, []
        with self._db:
            self._db.executemany("INSERT INTO observations VALUES (?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def segment(self, stream: str, start: int, end: int) -> list[SignedObservation]:
        """Observations of `stream` started in [start, end) (unix seconds), in chain order."""
        self.flush()
        rows = self._db.execute(
            "SELECT body, hash, signature FROM observations "
            "WHERE stream = ? AND started_ms >= ? AND started_ms < ? ORDER BY idx",
            (stream, start * 1000, end * 1000),
        )
        return [SignedObservation(bytes(b), bytes(h), bytes(s)) for b, h, s in rows]

    def recent(self, stream: str, limit: int) -> list[SignedObservation]:
        """The latest `limit` observations of `stream`, newest first."""
        self.flush()
        rows = self._db.execute(
            "SELECT body, hash, signature FROM observations WHERE stream = ? ORDER BY idx DESC LIMIT ?",
            (stream, limit),
        )
        return [SignedObservation(bytes(b), bytes(h), bytes(s)) for b, h, s in rows]

    def window(self, streams: Iterable[str], start: int, end: int) -> list[SignedObservation]:
        """The evidence for a window: each stream's slice, streams in name order."""
        return [obs for s in sorted(set(streams)) for obs in self.segment(s, start, end)]

    def streams(self) -> list[str]:
        self.flush()
        return [r[0] for r in self._db.execute("SELECT DISTINCT stream FROM observations")]

    def check_stream(self, stream: str) -> list[str]:
        """Re-verify a whole stream: hashes, signatures and links. Returns problems found."""
        self.flush()
        problems: list[str] = []
        prev, expected = ZERO_HASH, 0
        for idx, digest, body, sig in self._db.execute(
            "SELECT idx, hash, body, signature FROM observations WHERE stream = ? ORDER BY idx",
            (stream,),
        ):
            obs = SignedObservation(bytes(body), bytes(digest), bytes(sig))
            if keccak(obs.canonical) != obs.hash:
                problems.append(f"{stream}[{idx}]: hash does not match body")
            try:
                if recover_signer(obs.hash, obs.signature) != self._key.address:
                    problems.append(f"{stream}[{idx}]: not signed by this node")
            except ValueError as exc:
                problems.append(f"{stream}[{idx}]: {exc}")
            if idx != expected or obs.body.get("prev_hash") != "0x" + prev.hex():
                problems.append(f"{stream}[{idx}]: chain broken before this observation")
            prev, expected = obs.hash, idx + 1
        return problems

    def close(self) -> None:
        self.flush()
        self._db.close()
