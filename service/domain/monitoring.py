"""The monitoring facts of an in-policy assessment's period (§7.2.1 event monitoring), pulled by
the service itself, never typed in by the assessor:

- from the chain (its projection): per covered service, the verified outage episodes that overlap
  the period — windows, downtime (`down_seconds`, what pays) and `maintenance_seconds` (declared
  maintenance, never pays) exactly as OutageOracle.episodesIn has them;
- from each configured oracle node (`settings.oracle_nodes`, signer → base URL), over its public
  HTTP API: the episodes it saw (`GET /v1/episodes`), the reports it signed (`GET /v1/reports`),
  the availability that gives over the period, and the TLS certificate days left of its TLS
  probes (`GET /v1/targets`, when the node publishes it). A node that does not answer, or answers
  something unreadable, is listed as `unreachable` with the reason; it never fails the assessment.

Every value is an integer, a string or a boolean: the section goes into the hashed report (RFC
8785 JSON: no floats, no nulls; an absent figure is left out, not null).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.assessment.jsontypes import JSONObject, JSONValue
from service.db import models as m
from service.domain.exclusions import service_episodes

NODE_TIMEOUT = 3.0  # seconds per request to a node: the assessment waits at most this per call
MAX_NODE_BODY = 1 << 20  # bytes read from a node's answer
MAX_NODE_ITEMS = 1000  # episodes / reports looked at per node and call


@dataclass(frozen=True)
class Period:
    start: int  # unix seconds, chain time
    end: int

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def overlap(self, start: int, end: int) -> int:
        return max(0, min(end, self.end) - max(start, self.start))


def chain_facts(session: Session, service_id: str, period: Period, merge_gap: int, finality: int,
                now: int) -> JSONObject:
    """The verified episodes of `service_id` overlapping the period (listed whole, as the chain
    groups them), and their totals."""
    rows = session.scalars(select(m.Outage).where(m.Outage.service_id == service_id).order_by(m.Outage.index))
    episodes: list[JSONValue] = []
    down = maintenance = 0
    for e in service_episodes(session, service_id, rows, merge_gap, finality):
        if not (e.start < period.end and (e.end > period.start or e.ongoing)):
            continue
        down += e.down_seconds
        maintenance += e.maintenance_seconds
        episodes.append({"start": e.start, "end": e.end, "down_seconds": e.down_seconds,
                         "maintenance_seconds": e.maintenance_seconds, "ongoing": e.ongoing,
                         "final": e.final(now), "excluded_event": e.excluded_event,
                         "windows": [{"start": w.start, "end": w.end, "ongoing": w.ongoing} for w in e.windows]})
    return {"episodes": episodes, "episode_count": len(episodes), "down_seconds": down,
            "maintenance_seconds": maintenance}


class NodeUnreadable(Exception):
    """The node did not answer, or not with what its API documents."""


def _get(client: httpx.Client, url: str, params: Mapping[str, str | int]) -> Any:
    try:
        with client.stream("GET", url, params=params) as r:
            if r.status_code == 404:
                return None
            if r.status_code != 200:
                raise NodeUnreadable(f"{r.request.url.path} answered HTTP {r.status_code}")
            body = b""
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > MAX_NODE_BODY:
                    raise NodeUnreadable(f"{r.request.url.path}: answer larger than {MAX_NODE_BODY} bytes")
    except httpx.HTTPError as exc:
        raise NodeUnreadable(f"no answer ({type(exc).__name__})") from None
    try:
        return json.loads(body)
    except ValueError:
        raise NodeUnreadable(f"{url}: not JSON") from None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NodeUnreadable(f"expected an integer, got {type(value).__name__}")
    return value


def _list(doc: Any, key: str) -> list[Any]:
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise NodeUnreadable(f"the answer has no `{key}` list")
    return items[:MAX_NODE_ITEMS]


def _node_service(episodes: list[Any], reports: list[Any] | None, targets: list[Any] | None, sid: str,
                  period: Period) -> JSONObject:
    seen: list[JSONValue] = []
    down = 0
    for e in episodes:
        if not isinstance(e, dict) or str(e.get("service_id", "")).lower() != sid:
            continue
        start, end, secs = _int(e.get("start")), _int(e.get("end")), _int(e.get("down_seconds"))
        if not period.overlap(start, end) and not (e.get("ongoing") is True and start < period.end):
            continue
        down += min(secs, period.overlap(start, end) or secs)
        seen.append({"start": start, "end": end, "down_seconds": secs, "ongoing": e.get("ongoing") is True})
    down = min(down, period.seconds)
    out: JSONObject = {"episodes": seen, "down_seconds": down,
                       "availability_bps": (period.seconds - down) * 10_000 // period.seconds}
    if reports is not None:
        mine = [r for r in reports if isinstance(r, dict) and str(r.get("service_id", "")).lower() == sid]
        out["reports_signed"] = len(mine)
    if targets is not None:
        days = [_int(t["cert_days_left"]) for t in targets if isinstance(t, dict)
                and str(t.get("service_id", "")).lower() == sid and t.get("cert_days_left") is not None]
        if days:
            out["cert_days_left"] = min(days)
    return out


def node_facts(signer: str, base_url: str, service_ids: list[str], period: Period, *,
               transport: httpx.BaseTransport | None = None) -> JSONObject:
    """What one node publishes about the services over the period; `unreachable` (with the
    reason) when it cannot be read. Never raises for the node's sake."""
    base = base_url.rstrip("/")
    try:
        with httpx.Client(timeout=NODE_TIMEOUT, follow_redirects=False, trust_env=False,
                          transport=transport) as client:
            episodes = _get(client, f"{base}/v1/episodes", {"since": period.start})
            if episodes is None:
                raise NodeUnreadable("/v1/episodes answered HTTP 404")
            episode_list = _list(episodes, "episodes")
            reports = _get(client, f"{base}/v1/reports", {"since": period.start})
            report_list = None if reports is None else _list(reports, "reports")
            targets = _get(client, f"{base}/v1/targets", {})
            target_list = None if targets is None else _list(targets, "targets")
            services = {sid: _node_service(episode_list, report_list, target_list, sid, period)
                        for sid in service_ids}
    except (NodeUnreadable, KeyError, TypeError) as exc:
        return {"signer": signer, "status": "unreachable", "reason": str(exc) or type(exc).__name__}
    return {"signer": signer, "status": "reachable", "services": dict(services)}


def monitoring(session: Session, service_ids: Iterable[str], period: Period, nodes: Mapping[str, str], *,
               merge_gap: int, finality: int, now: int,
               transport: httpx.BaseTransport | None = None) -> JSONObject:
    """The report's `monitoring` section: the period, per covered service the chain's facts, and
    per configured node what it publishes (sorted by signer, so the bytes are deterministic)."""
    sids = sorted({s.lower() for s in service_ids})
    return {
        "period": {"start": period.start, "end": period.end},
        "services": [{"service_id": sid, "chain": chain_facts(session, sid, period, merge_gap, finality, now)}
                     for sid in sids],
        "nodes": [node_facts(signer, nodes[signer], sids, period, transport=transport) for signer in sorted(nodes)],
    }
