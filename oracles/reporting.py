"""When the node signs: an episode is first signed when its downtime reaches the target's
`threshold_seconds` (while still ongoing), re-signed every minute it grows, and signed a
last time, `ongoing = false`, when it closes. `seq` rises by one per signature of an episode.

The evidence root covers the target's observations and the canaries' (proof that the node
itself was healthy) started within the signed window.
"""

from __future__ import annotations

import logging

from .clock import Clock
from .config import NodeConfig, TargetConfig
from .episodes import EpisodeEvent
from .evidence.bundle import evidence_root
from .evidence.store import EvidenceLog
from .keys import NodeKey
from .metrics import NodeMetrics
from .reports import SignedReport, episode_id, sign_report
from .state import EpisodeRecord, NodeState

log = logging.getLogger("oracles.reporting")


class Reporter:
    def __init__(self, config: NodeConfig, key: NodeKey, evidence: EvidenceLog,
                 state: NodeState, clock: Clock, metrics: NodeMetrics) -> None:
        self._config = config
        self._key = key
        self._evidence = evidence
        self._state = state
        self._clock = clock
        self._metrics = metrics
        self._canaries = tuple(c.name for c in config.canaries)

    def handle(self, target: TargetConfig, event: EpisodeEvent) -> SignedReport | None:
        """Record the episode change; sign if it is due. Call inside a state transaction."""
        eid = episode_id(target.name, event.start)
        now = int(self._clock.time())
        self._state.save_episode(EpisodeRecord(
            eid, target.name, target.service_id_bytes, event.start, event.end,
            event.down_seconds, event.ongoing, now))
        if event.down_seconds < target.threshold_seconds:
            return None
        previous = self._state.report(eid)
        streams = tuple(sorted({target.name, *self._canaries}))
        root = evidence_root(self._evidence.window(streams, event.start, event.end))
        report = sign_report(
            self._key, episode=eid, target=target.name, service_id=target.service_id_bytes,
            config_version=self._config.node.config_version, start=event.start, end=event.end,
            ongoing=event.ongoing, evidence_root=root,
            seq=previous.report.seq + 1 if previous else 1,
            chain_id=self._config.chain.chain_id,
            verifying_contract=self._config.chain.oracle_address, signed_at=now,
        )
        self._state.add_report(report, streams)
        self._metrics.reports_signed.labels(target=target.name).inc()
        log.info("outage report signed", extra={
            "episode_id": eid, "seq": report.seq, "start": report.start, "end": report.end,
            "ongoing": report.ongoing, "evidence_root": "0x" + root.hex()})
        return report
