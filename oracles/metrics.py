"""Prometheus metrics, on a registry per node (several nodes can share a test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_DRIFT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class NodeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.probes = Counter("oracle_probes", "Probes completed, by outcome class",
                              ["target", "kind", "outcome"], registry=r)
        self.probe_duration = Histogram("oracle_probe_duration_seconds", "Probe duration",
                                        ["kind"], buckets=_LATENCY_BUCKETS, registry=r)
        self.schedule_drift = Histogram(
            "oracle_schedule_drift_seconds", "Actual minus planned probe start",
            buckets=_DRIFT_BUCKETS, registry=r)
        self.slots_skipped = Counter("oracle_probe_slots_skipped",
                                     "Probe slots not run (node behind, or probe still busy)",
                                     ["reason"], registry=r)
        self.verdicts = Counter("oracle_verdicts", "Per-minute verdicts",
                                ["target", "verdict"], registry=r)
        self.open_episodes = Gauge("oracle_open_episodes", "Episodes currently open",
                                   registry=r)
        self.reports_signed = Counter("oracle_reports_signed", "Outage reports signed",
                                      ["target"], registry=r)
        self.reports_submitted = Counter(
            "oracle_reports_submitted", "Report sets transmitted, by result", ["result"],
            registry=r)
        self.observations = Counter("oracle_evidence_observations",
                                    "Observations appended to the evidence log", registry=r)
