"""What the public pages read from the chain itself (not the service's projection): a service's
verified windows (OutageOracle.windowAt), the OutageVerified submissions that built them (signer
bitmap, transaction, block), the oracle configs (OracleConfigSet) naming the signers, the
declared maintenance and excluded events, and the episodes they form (service.chain.episodes,
exactly as OutageOracle.episodesIn groups them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from service.chain.episodes import Episode, group
from service.chain.gateway import Gateway

DAY = 86400


@dataclass
class Submission:
    start: int
    end: int
    ongoing: bool
    config_version: int
    signers: int  # bitmap of the config's signer indices
    block: int
    tx: str
    log_index: int


@dataclass
class ChainWindow:
    index: int
    start: int
    end: int
    ongoing: bool
    start_since: int
    verified_at: int
    config_version: int = 0
    signers: int | None = None  # union of the bitmaps of the submissions inside it (one config version)
    block: int | None = None  # of its latest submission
    tx: str | None = None
    submissions: list[Submission] = field(default_factory=list)


@dataclass
class _Span:
    index: int
    start: int
    end: int
    cancelled: bool = False


def _submissions(gw: Gateway, sid: bytes) -> list[Submission]:
    logs = gw.oracle.events.OutageVerified.get_logs(from_block=gw.first_block, argument_filters={"serviceId": sid})
    out = [Submission(int(lg["args"]["start"]), int(lg["args"]["end"]), bool(lg["args"]["ongoing"]),
                      int(lg["args"]["configVersion"]), int(lg["args"]["signers"]), int(lg["blockNumber"]),
                      lg["transactionHash"].to_0x_hex(), int(lg["logIndex"])) for lg in logs]
    return sorted(out, key=lambda s: (s.block, s.log_index))


def configs(gw: Gateway) -> dict[int, list[str]]:
    """Oracle config version → its signers, in bitmap order (OracleConfigSet events)."""
    out: dict[int, list[str]] = {}
    for lg in gw.oracle.events.OracleConfigSet.get_logs(from_block=gw.first_block):
        out[int(lg["args"]["version"])] = [to_checksum_address(a) for a in lg["args"]["signers"]]
    if not out:  # a deployment whose config logs are out of reach: the current config at least
        version, _, signers = gw.oracle.functions.config().call()
        out[int(version)] = [to_checksum_address(a) for a in signers]
    return out


def named(cfgs: dict[int, list[str]], version: int, bitmap: int | None) -> list[str]:
    lst = cfgs.get(version, [])
    return [] if bitmap is None else [lst[i] for i in range(len(lst)) if bitmap >> i & 1]


def windows(gw: Gateway, sid: bytes) -> list[ChainWindow]:
    fn = gw.oracle.functions
    count = int(fn.windowCount(sid).call())
    subs = _submissions(gw, sid) if count else []
    out = []
    for i in range(count):
        start, end, verified_at, start_since, ongoing = fn.windowAt(sid, i).call()
        w = ChainWindow(i, int(start), int(end), bool(ongoing), int(start_since), int(verified_at))
        w.submissions = [s for s in subs if w.start <= s.start and s.end <= w.end]
        if w.submissions:
            last = w.submissions[-1]
            w.config_version, w.block, w.tx = last.config_version, last.block, last.tx
            bitmap = 0
            for s in w.submissions:
                if s.config_version == last.config_version:
                    bitmap |= s.signers
            w.signers = bitmap
        out.append(w)
    return out


def exclusions(gw: Gateway, sid: bytes) -> tuple[list[_Span], list[_Span]]:
    fn = gw.oracle.functions
    maint = []
    for i in range(int(fn.maintenanceCount(sid).call())):
        start, end, _declared, cancelled = fn.maintenanceAt(sid, i).call()
        maint.append(_Span(i, int(start), int(end), bool(cancelled)))
    events = []
    for i in range(int(fn.excludedEventCount(sid).call())):
        start, end, _reason, _declared = fn.excludedEventAt(sid, i).call()
        events.append(_Span(i, int(start), int(end)))
    return maint, events


def episodes(gw: Gateway, sid: bytes, ws: list[ChainWindow] | None = None) -> list[Episode]:
    ws = windows(gw, sid) if ws is None else ws
    merge_gap, finality = gw.episode_params()
    maint, events = exclusions(gw, sid) if ws else ([], [])
    return group("0x" + sid.hex(), ws, merge_gap, finality, maint, events)


@dataclass
class Day:
    start: int
    down_seconds: int
    outages: int  # episodes overlapping the day
    seconds: int  # of the day elapsed (today: up to now)

    @property
    def uptime(self) -> float:
        return 100.0 if self.seconds <= 0 else max(0.0, 100.0 * (1 - self.down_seconds / self.seconds))

    @property
    def level(self) -> str:
        if self.down_seconds == 0:
            return "ok"
        return "warn" if self.down_seconds < 15 * 60 else "bad"


def daily(ws: list[ChainWindow], eps: list[Episode], now: int, days: int = 90) -> list[Day]:
    """`days` UTC days ending today: verified downtime (an ongoing window counts up to now) and
    the verified outages (episodes) touching each day."""
    today = now - now % DAY
    out = []
    for k in range(days - 1, -1, -1):
        d0 = today - k * DAY
        d1 = min(d0 + DAY, now)
        down = 0
        for w in ws:
            end = max(w.end, now) if w.ongoing else w.end
            down += max(0, min(end, d1) - max(w.start, d0))
        touching = sum(1 for e in eps if e.start < d1 and (max(e.end, now) if e.ongoing else e.end) > d0)
        out.append(Day(d0, down, touching, max(0, d1 - d0)))
    return out


def uptime(ds: list[Day]) -> float:
    total = sum(d.seconds for d in ds)
    return 100.0 if total == 0 else max(0.0, 100.0 * (1 - sum(d.down_seconds for d in ds) / total))


def evidence_links(gw: Gateway, nodes: dict[str, str], timeout: float, sid_hex: str, eps: list[Episode],
                   cfgs: dict[int, list[str]]) -> dict[tuple[int, str], dict[str, Any]]:
    """Per (episode position, signer): the node's evidence link for that episode (claim_view's lookup)."""
    import httpx

    from service.domain.claim_view import evidence

    signers_of: dict[int, list[str]] = {}
    for pos, e in enumerate(eps):
        seen: list[str] = []
        for w in e.windows:
            seen += [s for s in named(cfgs, w.config_version, w.signers) if s not in seen]  # type: ignore[attr-defined]
        signers_of[pos] = seen
    if not nodes:
        return evidence(nodes, None, sid_hex, eps, signers_of)
    with httpx.Client(timeout=timeout) as client:
        return evidence(nodes, client, sid_hex, eps, signers_of)
