"""The payout worker's Prometheus counters, in a registry of their own (one per worker)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.settled = Counter("cybercover_worker_policies_settled", "Policies settled by the worker",
                               registry=self.registry)
        self.expired = Counter("cybercover_worker_policies_expired", "Policies expired by the worker",
                               registry=self.registry)
        self.lapsed = Counter("cybercover_worker_claims_lapsed",
                              "Claims closed by the worker after their decision deadline (paid in full)",
                              registry=self.registry)
        self.payout_failures = Counter(
            "cybercover_worker_payout_failures",
            "Policies whose settle, expire or lapsed-claim close was refused on their own (bisected out of a batch)",
            ["action"], registry=self.registry)
        self.service_failures = Counter(
            "cybercover_worker_service_failures",
            "Services (or the expiry pass) whose cycle failed and is retried next cycle",
            registry=self.registry)
