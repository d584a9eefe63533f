"""The oracle node: schedule → probes → evidence → minute verdicts → episodes → reports →
transmission.

`run_once()` is one cycle (probe what is due and wait for it, judge closed minutes, sign, maybe
transmit) that a test drives with a manual clock. `run_forever()` is the daemon: a dispatcher
starts probes at their slots, a one-second tick judges minutes, a transmit loop submits; on
stop it starts no new probe, lets in-flight probes and submissions finish, and returns a
summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.runtime import private_dir

from .clock import Clock, SystemClock
from .config import NodeConfig, ProbeSpec, TargetConfig
from .episodes import EpisodeEvent, EpisodeRule, Idle, Open, State, step
from .evidence.bundle import episode_bundle
from .evidence.store import EvidenceLog
from .keys import NodeKey
from .metrics import NodeMetrics
from .outcome import Outcome, ProbeResult
from .reporting import Reporter
from .reports import SignedReport
from .runner import ProbeRunner
from .schedule import Schedule, Slot
from .state import NodeState
from .transmit.submitters import Submitter
from .transmit.transmitter import Transmission, Transmitter
from .verdicts import Tally, Verdict, VerdictRule, bucket_of, judge, node_healthy

log = logging.getLogger("oracles.node")

# The tick is a cadence, not a time source: what it judges is read from the injected clock.
TICK_SECONDS = 1.0
# After a longer pause (suspended host) the missed minutes are not judged one by one: they are
# UNKNOWN, which the episode machines treat exactly like a gap in the sequence.
MAX_CATCH_UP_BUCKETS = 10
STALL_SECONDS = 15.0
# At start the certificate facts of `GET /v1/targets` are restored from this many of a TLS
# target's latest observations (a run of failed handshakes carries no certificate).
CERT_RESTORE_OBSERVATIONS = 200


@dataclass
class CycleResult:
    probes: int = 0
    buckets: list[int] = field(default_factory=list)
    events: list[tuple[str, EpisodeEvent]] = field(default_factory=list)
    reports: list[SignedReport] = field(default_factory=list)
    transmissions: list[Transmission] = field(default_factory=list)


@dataclass(frozen=True)
class NodeSummary:
    node: str
    uptime_s: float
    probes: int
    observations: int
    minutes_judged: int
    reports_signed: int
    sets_transmitted: int
    transmit_failures: int
    slots_skipped: int

    def line(self) -> str:
        return (f"cybercover-oracle {self.node} stopped after {self.uptime_s:.0f} s: "
                f"{self.probes} probes, {self.observations} observations, "
                f"{self.minutes_judged} minutes judged, {self.reports_signed} reports signed, "
                f"{self.sets_transmitted} sets transmitted ({self.transmit_failures} failed), "
                f"{self.slots_skipped} slots skipped")


class OracleNode:
    def __init__(self, config: NodeConfig, key: NodeKey, *, clock: Clock | None = None,
                 submitter: Submitter | None = None, metrics: NodeMetrics | None = None,
                 signers: frozenset[str] | None = None,
                 peer_transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.key = key
        self.clock: Clock = clock or SystemClock()
        self.metrics = metrics or NodeMetrics()
        data_dir = config.node.data_dir
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.evidence = EvidenceLog(data_dir / "evidence.sqlite3", key)
        self.state = NodeState(data_dir / "node.sqlite3")
        self.bucket_seconds = config.chain.bucket_seconds
        self.state.bind_bucket(self.bucket_seconds)
        private_dir(data_dir)  # 0700 / 0600 whatever the umask (SQLite's journals copy the mode)
        self.started_at = self.clock.time()
        self.schedule = Schedule(config.probes, key.address, self.started_at)
        self.tally = Tally(self.bucket_seconds)
        self.runner = ProbeRunner(self.clock, config.node.max_concurrency, self._record,
                                  self.metrics)
        self.reporter = Reporter(config, key, self.evidence, self.state, self.clock,
                                 self.metrics)
        self._specs: dict[str, ProbeSpec] = {p.name: p for p in config.probes}
        self._targets: dict[str, TargetConfig] = {t.name: t for t in config.targets}
        self._canaries = tuple(c.name for c in config.canaries)
        self._rules = {
            t.name: (VerdictRule(t.threshold_fraction, t.min_samples),
                     EpisodeRule(t.open_after, t.close_after, self.bucket_seconds))
            for t in config.targets
        }
        restored = self.state.machines()
        self._machines: dict[str, State] = {t.name: restored.get(t.name, Idle())
                                            for t in config.targets}
        # The bucket the node started in is partial: judge from the first full bucket.
        self._next_bucket = max(math.ceil(self.started_at / self.bucket_seconds),
                                self.state.next_bucket() or 0)
        self._last_outcome: dict[str, Outcome] = {}
        # Per target: its latest probe (start, outcome) and latest certificate reading
        # (start, days left), what `GET /v1/targets` publishes.
        self._last_probe: dict[str, tuple[float, Outcome]] = {}
        self._last_cert: dict[str, tuple[float, int]] = {}
        self._restore_target_facts()
        self._last_verdict: dict[str, Verdict] = {}
        self._skipped_seen = 0
        self._last_tick = self.started_at
        self._last_transmit = -math.inf
        self._stopping = False
        self.minutes_judged = 0
        self.reports_signed = 0
        self.transmitter: Transmitter | None = None
        t = config.transmit
        if t.enabled:
            if submitter is None or t.quorum is None:
                raise ValueError("a transmitting node needs a submitter and a quorum")
            self.transmitter = Transmitter(
                submitter=submitter, quorum=t.quorum,
                config_version=config.node.config_version, chain_id=config.chain.chain_id,
                oracle_address=config.chain.oracle_address, peers=t.peers,
                own_reports=lambda since: self.state.latest_reports(since=since),
                clock=self.clock, lookback=t.lookback, peer_timeout=t.peer_timeout,
                signers=signers, metrics=self.metrics, transport=peer_transport)
        self._update_open_gauge()
        if not self._canaries:
            log.warning("no canaries configured: the node cannot tell its own network "
                        "trouble from a target outage")

    @property
    def address(self) -> str:
        return self.key.address

    # -- probing
    def _record(self, spec: ProbeSpec, slot: Slot, started: float, result: ProbeResult) -> None:
        target = self._targets.get(spec.name)
        is_canary = target is None
        self.evidence.append(
            stream=spec.name, kind=spec.kind, canary=is_canary,
            service_id=target.service_id_bytes if target else None,
            planned=slot.planned, started=started, result=result)
        self.tally.add(spec.name, started, result.outcome)
        if not is_canary:
            self._last_probe[spec.name] = (started, result.outcome)
            if result.cert_days_left is not None:
                self._last_cert[spec.name] = (started, result.cert_days_left)
        m = self.metrics
        m.probes.labels(target=spec.name, kind=spec.kind, outcome=result.outcome.value).inc()
        m.probe_duration.labels(kind=spec.kind).observe(result.duration_ms / 1000)
        m.observations.inc()
        if self._last_outcome.get(spec.name) != result.outcome:
            self._last_outcome[spec.name] = result.outcome
            log.info("probe outcome changed", extra={
                "probe": spec.name, "canary": is_canary, "outcome": result.outcome.value,
                "detail": result.detail, "duration_ms": result.duration_ms})

    def _dispatch_due(self, now: float) -> list[asyncio.Task[None]]:
        tasks = []
        for slot in self.schedule.pop_due(now):
            task = self.runner.dispatch(self._specs[slot.name], slot)
            if task is not None:
                tasks.append(task)
        if (behind := self.schedule.skipped - self._skipped_seen) > 0:
            self._skipped_seen = self.schedule.skipped
            self.metrics.slots_skipped.labels(reason="behind").inc(behind)
        return tasks

    # -- judging
    def process_buckets(self, now: float) -> CycleResult:
        """Judge every bucket that is over and whose probes have all finished."""
        out = CycleResult()
        limit = bucket_of(now, self.bucket_seconds)
        earliest = self.runner.earliest_start_in_flight()
        if earliest is not None:
            limit = min(limit, bucket_of(earliest, self.bucket_seconds))
        if limit <= self._next_bucket:
            return out
        if limit - self._next_bucket > MAX_CATCH_UP_BUCKETS:
            log.warning("minutes not judged after a pause; treated as unknown",
                        extra={"minutes": limit - 1 - self._next_bucket})
            self._next_bucket = limit - 1
        self.evidence.flush()
        for bucket in range(self._next_bucket, limit):
            self._judge(bucket, out)
        self.tally.drop_before(limit)
        self._update_open_gauge()
        return out

    def _judge(self, bucket: int, out: CycleResult) -> None:
        samples = self.tally.pop(bucket)
        healthy = node_healthy(self._canaries, samples)
        with self.state.transaction():
            for target in self.config.targets:
                verdict_rule, episode_rule = self._rules[target.name]
                verdict = judge(samples.get(target.name, Counter()), verdict_rule, healthy)
                self.metrics.verdicts.labels(target=target.name,
                                             verdict=verdict.verdict.value).inc()
                if self._last_verdict.get(target.name) != verdict.verdict:
                    self._last_verdict[target.name] = verdict.verdict
                    log.info("verdict changed", extra={
                        "target": target.name, "minute": bucket * self.bucket_seconds,
                        "verdict": verdict.verdict.value, "reason": verdict.reason})
                before = self._machines[target.name]
                after, event = step(before, bucket, verdict.verdict, episode_rule)
                self._machines[target.name] = after
                self.state.save_machine(target.name, after)
                if event is not None:
                    out.events.append((target.name, event))
                    self._on_event(target, event, out)
            self.state.set_next_bucket(bucket + 1)
        self._next_bucket = bucket + 1
        self.minutes_judged += 1
        out.buckets.append(bucket)

    def _on_event(self, target: TargetConfig, event: EpisodeEvent, out: CycleResult) -> None:
        log.info(f"episode {event.change.value}", extra={
            "target": target.name, "start": event.start, "end": event.end,
            "down_seconds": event.down_seconds})
        report = self.reporter.handle(target, event)
        if report is not None:
            self.reports_signed += 1
            out.reports.append(report)

    def _update_open_gauge(self) -> None:
        self.metrics.open_episodes.set(
            sum(isinstance(s, Open) for s in self._machines.values()))

    # -- transmitting
    async def _maybe_transmit(self, force: bool) -> list[Transmission]:
        if self.transmitter is None:
            return []
        now = self.clock.time()
        if not force and now - self._last_transmit < self.config.transmit.interval:
            return []
        self._last_transmit = now
        return await self.transmitter.transmit_once()

    # -- cycles
    async def run_once(self) -> CycleResult:
        tasks = [] if self._stopping else self._dispatch_due(self.clock.time())
        if tasks:
            await asyncio.gather(*tasks)
        if self.runner.fatal is not None:
            raise self.runner.fatal
        out = self.process_buckets(self.clock.time())
        out.probes = len(tasks)
        out.transmissions = await self._maybe_transmit(force=bool(out.reports))
        self._last_tick = self.clock.time()
        return out

    async def _dispatch_forever(self) -> None:
        while (due := self.schedule.next_due()) is not None:
            await self.clock.sleep_until(due)
            self._dispatch_due(self.clock.time())

    async def _transmit_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._maybe_transmit(force=False)
            except Exception:
                log.exception("transmit cycle failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=TICK_SECONDS)

    async def run_forever(self, stop: asyncio.Event) -> NodeSummary:
        log.info("oracle node running", extra={
            "node": self.address, "targets": len(self.config.targets),
            "canaries": len(self._canaries), "transmitter": self.transmitter is not None})
        dispatcher = asyncio.create_task(self._dispatch_forever(), name="dispatcher")
        transmit = (asyncio.create_task(self._transmit_forever(stop), name="transmit")
                    if self.transmitter else None)
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=TICK_SECONDS)
                if dispatcher.done() and (failure := dispatcher.exception()) is not None:
                    raise failure  # the schedule must never stop silently
                if self.runner.fatal is not None:
                    raise self.runner.fatal
                self.evidence.flush()
                self.process_buckets(self.clock.time())
                self._last_tick = self.clock.time()
        finally:
            self._stopping = True
            dispatcher.cancel()
            await asyncio.gather(dispatcher, return_exceptions=True)
            if self.runner.tasks:  # bounded by the probes' own deadlines
                grace = max(p.timeout for p in self.config.probes) + 1
                await asyncio.wait(set(self.runner.tasks), timeout=grace)
            self.evidence.flush()
            self.process_buckets(self.clock.time())
            if transmit is not None:
                stop.set()
                await transmit  # an in-flight submission completes; no new one starts
        return self.summary()

    def summary(self) -> NodeSummary:
        t = self.transmitter
        return NodeSummary(
            node=self.address, uptime_s=self.clock.time() - self.started_at,
            probes=self.runner.completed, observations=self.evidence.appended,
            minutes_judged=self.minutes_judged, reports_signed=self.reports_signed,
            sets_transmitted=t.submitted if t else 0, transmit_failures=t.failed if t else 0,
            slots_skipped=self.schedule.skipped + self.runner.skipped_busy)

    # -- views for the HTTP API
    def health(self) -> dict[str, Any]:
        age = self.clock.time() - self._last_tick
        refused = self.transmitter.unauthorized if self.transmitter else None
        status = "stopping" if self._stopping else ("stalled" if age > STALL_SECONDS else
                                                     "relay_key_refused" if refused else "ok")
        return {
            "status": status, "node": self.address, "last_cycle_age_s": round(age, 3),
            **({"error": refused} if refused else {}),
            "probes_in_flight": self.runner.in_flight,
            "open_episodes": sum(isinstance(s, Open) for s in self._machines.values()),
            "next_minute": self._next_bucket * self.bucket_seconds,  # the next bucket's start
            "bucket_seconds": self.bucket_seconds,
        }

    def _restore_target_facts(self) -> None:
        for target in self.config.targets:
            for obs in self.evidence.recent(target.name, 1 if target.kind != "tls" else CERT_RESTORE_OBSERVATIONS):
                body = obs.body
                started = int(body["started_ms"]) / 1000
                self._last_probe.setdefault(target.name, (started, Outcome(body["outcome"])))
                if body.get("cert_days_left") is not None:
                    self._last_cert[target.name] = (started, int(body["cert_days_left"]))
                    break

    def targets(self) -> list[dict[str, Any]]:
        """What the node monitors and its latest facts, per target (canaries left out): the
        latest probe's time and outcome and, for TLS probes, the certificate's days left at the
        latest handshake that presented one (null when none did)."""
        out = []
        for t in self.config.targets:
            probe = self._last_probe.get(t.name)
            cert = self._last_cert.get(t.name)
            out.append({
                "name": t.name, "kind": t.kind, "service_id": "0x" + t.service_id_bytes.hex(),
                "threshold_seconds": t.threshold_seconds,
                "last_probe_at": round(probe[0]) if probe else None,
                "last_outcome": probe[1].value if probe else None,
                "cert_days_left": cert[1] if cert else None,
                "cert_checked_at": round(cert[0]) if cert else None,
                "min_days_left": t.min_days_left if t.kind == "tls" else None,
            })
        return out

    def evidence_bundle(self, episode: str, seq: int | None = None) -> dict[str, Any]:
        return episode_bundle(self.state, self.evidence, node=self.address,
                              canaries=self._canaries, episode=episode, seq=seq)

    async def aclose(self) -> None:
        if self.transmitter is not None:
            await self.transmitter.aclose()
        self.evidence.close()
        self.state.close()
