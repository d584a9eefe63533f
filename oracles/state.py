"""Node state that must survive a restart: episode machines, episodes, signed reports.

Kept apart from the evidence log (a different SQLite file) so the log stays purely
append-only while this state is updated in place. One transaction per judged minute keeps the
machines, episodes and reports consistent with each other.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .episodes import State, dump_state, load_state
from .errors import ConfigError
from .reports import SignedReport

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS machines (target TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    episode_id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    service_id BLOB NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    down_seconds INTEGER NOT NULL,
    ongoing INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS episodes_by_end ON episodes ("end");
CREATE TABLE IF NOT EXISTS reports (
    episode_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    streams TEXT NOT NULL,
    report TEXT NOT NULL,
    PRIMARY KEY (episode_id, seq)
);
"""


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    episode_id: str
    target: str
    service_id: bytes
    start: int
    end: int
    down_seconds: int
    ongoing: bool
    updated_at: int

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "service_id": "0x" + self.service_id.hex()}


@dataclass(frozen=True, slots=True)
class StoredReport:
    report: SignedReport
    streams: tuple[str, ...]  # the evidence streams its root covers


class NodeState:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._db:
            yield

    # -- judged minutes and machines
    def next_bucket(self) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'next_bucket'").fetchone()
        return int(row[0]) if row else None

    def bind_bucket(self, seconds: int) -> None:
        """Records the bucket length the stored bucket indices count in; refuses another one (the
        machines and `next_bucket` would be read in the wrong unit). A state written before the
        length was recorded counted 60 s buckets."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'bucket_seconds'").fetchone()
        stored = int(row[0]) if row else (60 if self.next_bucket() is not None else None)
        if stored is not None and stored != seconds:
            raise ConfigError(f"this node's state counts {stored} s buckets, chain.bucket_seconds is "
                              f"{seconds}: a deployment with another bucket needs a fresh node.data_dir")
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('bucket_seconds', ?)", (str(seconds),))

    def set_next_bucket(self, bucket: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('next_bucket', ?)", (str(bucket),))

    def machines(self) -> dict[str, State]:
        return {t: load_state(json.loads(s))
                for t, s in self._db.execute("SELECT target, state FROM machines")}

    def save_machine(self, target: str, state: State) -> None:
        self._db.execute("INSERT OR REPLACE INTO machines VALUES (?, ?)",
                         (target, json.dumps(dump_state(state))))

    # -- episodes
    def save_episode(self, rec: EpisodeRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO episodes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rec.episode_id, rec.target, rec.service_id, rec.start, rec.end, rec.down_seconds,
             int(rec.ongoing), rec.updated_at),
        )

    def episode(self, episode_id: str) -> EpisodeRecord | None:
        row = self._db.execute("SELECT * FROM episodes WHERE episode_id = ?",
                               (episode_id,)).fetchone()
        return _episode(row) if row else None

    def episodes(self, *, ongoing: bool | None = None, since: int = 0) -> list[EpisodeRecord]:
        sql, args = 'SELECT * FROM episodes WHERE "end" >= ?', [since]
        if ongoing is not None:
            sql += " AND ongoing = ?"
            args.append(int(ongoing))
        return [_episode(r) for r in self._db.execute(sql + " ORDER BY start", args)]

    # -- reports
    def add_report(self, report: SignedReport, streams: tuple[str, ...]) -> None:
        self._db.execute("INSERT INTO reports VALUES (?, ?, ?, ?)",
                         (report.episode_id, report.seq, json.dumps(list(streams)),
                          json.dumps(report.to_json())))

    def report(self, episode_id: str, seq: int | None = None) -> StoredReport | None:
        if seq is None:
            row = self._db.execute(
                "SELECT streams, report FROM reports WHERE episode_id = ? "
                "ORDER BY seq DESC LIMIT 1", (episode_id,)).fetchone()
        else:
            row = self._db.execute(
                "SELECT streams, report FROM reports WHERE episode_id = ? AND seq = ?",
                (episode_id, seq)).fetchone()
        if row is None:
            return None
        return StoredReport(SignedReport.from_json(json.loads(row[1])), tuple(json.loads(row[0])))

    def latest_reports(self, *, service_id: bytes | None = None, since: int = 0
                       ) -> list[SignedReport]:
        """The latest signed report of each episode whose window ends at or after `since`."""
        sql = (
            'SELECT r.report FROM reports r JOIN episodes e USING (episode_id) '
            'WHERE r.seq = (SELECT MAX(seq) FROM reports WHERE episode_id = r.episode_id) '
            'AND e."end" >= ?'
        )
        args: list[object] = [since]
        if service_id is not None:
            sql += " AND e.service_id = ?"
            args.append(service_id)
        rows = self._db.execute(sql + " ORDER BY e.start", args)
        return [SignedReport.from_json(json.loads(r[0])) for r in rows]

    def close(self) -> None:
        self._db.close()


def _episode(row: tuple[Any, ...]) -> EpisodeRecord:
    eid, target, service, start, end, down, ongoing, updated = row
    return EpisodeRecord(str(eid), str(target), bytes(service), int(start), int(end),
                         int(down), bool(ongoing), int(updated))
