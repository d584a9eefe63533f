"""The transmitter: gather signed reports from peers and self, pick quorum sets, submit.

Peers are not trusted: every report is re-authenticated (EIP-712 signature, our domain, our
config version) before selection. A peer that is down costs only its reports. Sets already
submitted (or found covered) are remembered so a steady state sends nothing. A set refused for
good (`refusals`) is not sent again; any other failure is retried after a backoff that doubles
per failed attempt, so a late, older window is retried, never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from eth_utils.crypto import keccak

from contracts.redact import describe, redact

from ..clock import Clock
from ..errors import PeerError, ReportFormatError, SubmissionError, SubmissionRejected, SubmissionUnauthorized
from ..httpjson import PEER_MAX_BYTES, fetch, loads
from ..metrics import NodeMetrics
from ..reports import SignedReport
from .selection import quorum_sets
from .submitters import Submission, SubmitResult, Submitter

log = logging.getLogger("oracles.transmit")


@dataclass(frozen=True, slots=True)
class Transmission:
    submission: Submission
    result: SubmitResult | None  # None: failed, see `error`
    error: str | None = None
    retry_at: float | None = None  # failed and retryable: not sent again before this time


@dataclass(slots=True)
class _Retry:
    attempts: int
    at: float  # clock time of the next attempt
    end: int  # latest window end of the set, for pruning by lookback


def _fingerprint(submission: Submission) -> bytes:
    parts = [submission.service_id, submission.config_version.to_bytes(4, "big")]
    for r in submission.reports:
        parts += [bytes.fromhex(r.signer[2:]), r.start.to_bytes(8, "big"),
                  r.end.to_bytes(8, "big"), r.seq.to_bytes(8, "big"), bytes([r.ongoing])]
    return keccak(b"".join(parts))


class Transmitter:
    def __init__(self, *, submitter: Submitter, quorum: int, config_version: int,
                 chain_id: int, oracle_address: str, peers: tuple[str, ...],
                 own_reports: Callable[[int], list[SignedReport]], clock: Clock,
                 lookback: int = 86_400, peer_timeout: float = 5.0,
                 signers: frozenset[str] | None = None, metrics: NodeMetrics | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 retry_base: float = 5.0, retry_max: float = 300.0) -> None:
        self.submitter = submitter
        self.quorum = quorum
        self.config_version = config_version
        self.chain_id = chain_id
        self.oracle_address = oracle_address
        self.peers = peers
        self.signers = signers
        self._own = own_reports
        self._clock = clock
        self._lookback = lookback
        self._metrics = metrics
        # No keep-alive: one round every few seconds gains nothing from it, and a kept-alive
        # connection to uvicorn's h11 server pays a delayed-ACK stall (~40 ms) per request.
        self._client = httpx.AsyncClient(
            timeout=peer_timeout, transport=transport,
            limits=httpx.Limits(max_keepalive_connections=0))
        self._done: dict[bytes, int] = {}  # fingerprint → window end, pruned by lookback
        self._retry: dict[bytes, _Retry] = {}  # failed, retryable sets waiting out a backoff
        self._retry_base = retry_base
        self._retry_max = retry_max
        self.submitted = 0
        self.failed = 0
        self.unauthorized: str | None = None  # the relay's refusal of our key, until a set passes

    async def fetch_peer(self, peer: str, since: int) -> list[SignedReport]:
        url = peer.rstrip("/") + "/v1/reports"
        try:  # a peer is untrusted: its answer is bounded in size and depth before parsing
            resp, body = await fetch(self._client, "GET", url, max_bytes=PEER_MAX_BYTES,
                                     params={"since": since})
            resp.raise_for_status()
            items = loads(body, max_bytes=PEER_MAX_BYTES)["reports"]
            if not isinstance(items, list):
                raise TypeError("reports is not a list")
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise PeerError(f"peer {redact(peer)}: {describe(exc)}") from None
        out = []
        for item in items:
            try:
                out.append(SignedReport.from_json(item))
            except ReportFormatError as exc:
                log.warning("peer sent a malformed report", extra={"peer": peer,
                                                                   "error": str(exc)})
        return out

    def acceptable(self, report: SignedReport) -> bool:
        return (report.chain_id == self.chain_id
                and report.verifying_contract == self.oracle_address
                and report.config_version == self.config_version
                and report.is_authentic())

    async def gather(self) -> list[SignedReport]:
        since = int(self._clock.time()) - self._lookback
        fetched = await asyncio.gather(*(self.fetch_peer(p, since) for p in self.peers),
                                       return_exceptions=True)
        reports = list(self._own(since))
        for peer, got in zip(self.peers, fetched, strict=True):
            if isinstance(got, BaseException):
                log.warning("peer unavailable", extra={"peer": peer, "error": str(got)})
                continue
            reports.extend(got)
        good = [r for r in reports if self.acceptable(r)]
        if len(good) != len(reports):
            log.warning("discarded reports that failed authentication or config checks",
                        extra={"discarded": len(reports) - len(good)})
        return good

    def plan(self, reports: list[SignedReport]) -> list[Submission]:
        """Submissions not yet made (nor waiting out a backoff), per service, oldest window
        first: an older window is planned like any other, however late it comes."""
        now = self._clock.time()
        out = []
        for service in sorted({r.service_id for r in reports}):
            for chosen in quorum_sets(reports, service_id=service,
                                      config_version=self.config_version,
                                      quorum=self.quorum, signers=self.signers):
                sub = Submission(service, self.config_version, tuple(chosen))
                fp = _fingerprint(sub)
                retry = self._retry.get(fp)
                if fp not in self._done and (retry is None or retry.at <= now):
                    out.append(sub)
        return out

    def _backoff(self, sub: Submission) -> float:
        fp = _fingerprint(sub)
        held = self._retry.get(fp)
        attempts = held.attempts + 1 if held else 1
        at = self._clock.time() + min(self._retry_max, self._retry_base * 2 ** (attempts - 1))
        self._retry[fp] = _Retry(attempts, at, max(r.end for r in sub.reports))
        return at

    async def transmit_once(self) -> list[Transmission]:
        reports = await self.gather()
        since = int(self._clock.time()) - self._lookback
        self._done = {fp: end for fp, end in self._done.items() if end >= since}
        self._retry = {fp: r for fp, r in self._retry.items() if r.end >= since}
        results = []
        for sub in self.plan(reports):
            try:
                result = await self.submitter.submit(sub)
            except SubmissionError as exc:
                self.failed += 1
                rejected = isinstance(exc, SubmissionRejected)
                refused = isinstance(exc, SubmissionUnauthorized)
                if refused:  # our key, not the set: retried, and the node reports itself unhealthy
                    self.unauthorized = str(exc)
                self._count("rejected" if rejected else "unauthorized" if refused else "failed")
                retry_at = None if rejected else self._backoff(sub)
                if rejected:  # the same set would be refused again: do not hammer
                    self._done[_fingerprint(sub)] = max(r.end for r in sub.reports)
                    self._retry.pop(_fingerprint(sub), None)
                log.error("submission failed", extra={
                    "service_id": "0x" + sub.service_id.hex(), "error": str(exc),
                    "will_retry": not rejected, "retry_at": retry_at})
                results.append(Transmission(sub, None, str(exc), retry_at))
                continue
            self.submitted += 1
            self.unauthorized = None
            self._count(result.status.value)
            self._retry.pop(_fingerprint(sub), None)
            self._done[_fingerprint(sub)] = max(r.end for r in sub.reports)
            log.info("report set transmitted", extra={
                "service_id": "0x" + sub.service_id.hex(), "status": result.status.value,
                "tx_hash": result.tx_hash, "signers": [r.signer for r in sub.reports],
                "window": [min(r.start for r in sub.reports), max(r.end for r in sub.reports)],
            })
            results.append(Transmission(sub, result))
        return results

    def _count(self, result: str) -> None:
        if self._metrics is not None:
            self._metrics.reports_submitted.labels(result=result).inc()

    async def aclose(self) -> None:
        await self._client.aclose()
        await self.submitter.aclose()
