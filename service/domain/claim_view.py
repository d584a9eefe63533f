"""What a claims reviewer sees of a claim (`GET /v1/claims/{id}`), and the facts an approval is
checked against.

- The episodes behind the claim: the verified outage episodes of the policy's service that the
  book counts for the cover (OutageOracle.episodesIn's grouping, service.chain.episodes): started
  inside the counted cover (cover start plus any waiting period, before cover end), final, and
  longer than the product's trigger. Each with its windows, the oracle signers that backed each
  window (the OutageVerified bitmap, named through the projected OracleConfigSet of its config
  version), the transaction and block, and per signer an evidence link on that oracle node
  (`settings.oracle_nodes`: signer address → node base URL; the node's
  `GET /v1/evidence/{episode_id}` route, the episode id found through its `GET /v1/reports`).
- The incident report on file for the policy's subject and service (or the one the decision
  used), with its verification: anchored, live, bound, kind, and whether its stated outage
  window (`report["incident"]["outage"]`) overlaps an episode of the claim.
- The amount in review and the decision deadline in chain time.

Evidence look-ups go to the nodes over HTTP, bounded by `oracle_node_timeout`, in parallel; a
node that does not answer is shown as `unreachable`, never an error of the view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from eth_utils import to_checksum_address
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.enums import PayoutKind, ReportKind
from service.assessment.anchoring import report_anchor_id
from service.chain.episodes import Episode
from service.chain.gateway import Gateway
from service.db import models as m
from service.domain.exclusions import service_episodes

KIND_INCIDENT = int(ReportKind.INCIDENT)
INCIDENT = "incident"  # report["kind"] of a §8 report


@dataclass
class ClaimContext:
    """A claim with its policy and product, and the episodes behind it at chain time `now`."""

    claim: m.Claim
    policy: m.Policy
    product: m.Product
    episodes: list[Episode]
    now: int


def counted_from(policy: m.Policy, product: m.Product) -> int:
    """Outages count from cover start plus the waiting period; a renewal has none (PolicyBook._countFrom)."""
    return policy.cover_start + (product.waiting_seconds if policy.renewal_of == 0 else 0)


def episode_entitlement(product: m.Product, e: Episode) -> int:
    """What one episode is owed before the policy limit (Entitlement.compute); 0 below the trigger."""
    if e.down_seconds <= product.trigger_seconds:
        return 0
    if product.payout_kind == PayoutKind.PER_UNIT:
        units = -(-(e.down_seconds - product.trigger_seconds) // product.unit_seconds)
        return product.payout_amount * units
    return product.payout_amount


def claim_episodes(session: Session, policy: m.Policy, product: m.Product, merge_gap: int, finality: int,
                   now: int) -> list[Episode]:
    """The episodes the book counts for this cover: started in [counted_from, cover_end), final, above the trigger."""
    sid = product.service_id
    rows = session.scalars(select(m.Outage).where(m.Outage.service_id == sid))  # all: episodes span windows
    start = counted_from(policy, product)
    return [e for e in service_episodes(session, sid, rows, merge_gap, finality)
            if start <= e.start < policy.cover_end and e.final(now) and e.down_seconds > product.trigger_seconds]


def context(session: Session, gw: Gateway, claim: m.Claim, now: int | None = None) -> ClaimContext | None:
    policy = session.get(m.Policy, claim.policy_id)
    product = session.get(m.Product, policy.product_id) if policy is not None else None
    if policy is None or product is None:
        return None
    now = gw.now() if now is None else now
    return ClaimContext(claim, policy, product, claim_episodes(session, policy, product, *gw.episode_params(), now),
                        now)


def overlaps(outage: Mapping[str, Any], episodes: Iterable[Episode]) -> bool:
    """Whether the window [outage.start, outage.end) overlaps any of the episodes' [start, end)."""
    start, end = outage.get("start"), outage.get("end")
    if not isinstance(start, int) or not isinstance(end, int):
        return False
    return any(start < e.end and e.start < end for e in episodes)


def stated_outage(report: Mapping[str, Any]) -> dict[str, Any] | None:
    incident = report.get("incident")
    outage = incident.get("outage") if isinstance(incident, Mapping) else None
    return dict(outage) if isinstance(outage, Mapping) else None


def outage_problem(report: Mapping[str, Any], ctx: ClaimContext) -> str | None:
    """Why the report's stated outage window does not back this claim (None: it does)."""
    outage = stated_outage(report)
    if outage is None:
        return "the incident report states no outage window (report.incident.outage)"
    if str(outage.get("service_id", "")).lower() != ctx.product.service_id.lower():
        return f"the incident report's outage window is of service {outage.get('service_id')}, not the covered service"
    if not overlaps(outage, ctx.episodes):
        spans = ", ".join(f"[{e.start}, {e.end})" for e in ctx.episodes) or "none"
        return (f"the incident report's outage window [{outage.get('start')}, {outage.get('end')}) overlaps no "
                f"episode of the claim (episodes: {spans})")
    return None


def on_file(session: Session, anchor_id: str) -> m.AssessmentRecord | None:
    """The incident report document anchored under `anchor_id`, if the service holds it: an
    assessment record of kind `incident` whose hash was anchored by the assessor it names."""
    anchor = session.get(m.Anchor, anchor_id.lower())
    if anchor is None:
        return None
    for rec in session.scalars(select(m.AssessmentRecord).where(m.AssessmentRecord.report_hash == anchor.report_hash)
                               .order_by(m.AssessmentRecord.created_at)):
        if rec.report.get("kind") != INCIDENT:
            continue
        try:
            if "0x" + report_anchor_id(rec.report).hex() == anchor.anchor_id:
                return rec
        except Exception:  # noqa: BLE001 - a record naming no assessor is not this anchor's document
            continue
    return None


# --- signers and evidence ----------------------------------------------------------------------

class Signers:
    """Bitmap → addresses, per config version: the projected OracleConfigSet, else the chain's
    current config when its version is the one asked for (a projection from before 0015)."""

    def __init__(self, session: Session, gw: Gateway) -> None:
        self.session, self.gw = session, gw
        self._lists: dict[int, list[str] | None] = {}

    def of(self, version: int, bitmap: int | None) -> list[str] | None:
        if bitmap is None:
            return None
        lst = self._list(version)
        if lst is None:
            return None
        return [lst[i] for i in range(len(lst)) if bitmap >> i & 1]

    def _list(self, version: int) -> list[str] | None:
        if version not in self._lists:
            row = self.session.get(m.OracleConfig, version)
            found: list[str] | None = list(row.signers) if row is not None else None
            if found is None:
                try:
                    current, _, signers = self.gw.oracle.functions.config().call()
                    found = [str(s) for s in signers] if int(current) == version else None
                except Exception:  # noqa: BLE001 - the chain not answering leaves the names unknown
                    found = None
            self._lists[version] = found
        return self._lists[version]


def node_url(nodes: Mapping[str, str], signer: str) -> str | None:
    for address, url in nodes.items():
        if address.lower() == signer.lower():
            return url.rstrip("/")
    return None


def _reports_url(base: str, service_id: str, since: int) -> str:
    return f"{base}/v1/reports?{urlencode({'service_id': service_id, 'since': since})}"


def _lookup(client: httpx.Client, base: str, service_id: str, since: int) -> list[dict[str, Any]] | str:
    """The node's latest signed reports of the service, or why they could not be read."""
    try:
        resp = client.get(_reports_url(base, service_id, since))
        if resp.status_code != 200:
            return f"HTTP {resp.status_code}"
        body = resp.json()
        reports = body.get("reports") if isinstance(body, dict) else None
        if not isinstance(reports, list):
            return "not a node's /v1/reports answer"
        return [r for r in reports if isinstance(r, dict)]
    except (httpx.HTTPError, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"


def _match(reports: list[dict[str, Any]], signer: str, service_id: str, start: int, end: int) -> dict[str, Any] | None:
    """The signer's report of the service overlapping [start, end) the most."""
    best, most = None, 0
    for r in reports:
        rs, re_ = r.get("start"), r.get("end")
        if (not isinstance(rs, int) or not isinstance(re_, int) or not isinstance(r.get("episode_id"), str)
                or str(r.get("signer", "")).lower() != signer.lower()
                or str(r.get("service_id", "")).lower() != service_id.lower()):
            continue
        overlap = min(re_, end) - max(rs, start)
        if overlap > most:
            best, most = r, overlap
    return best


def evidence(nodes: Mapping[str, str], client: httpx.Client | None, service_id: str,
             episodes: list[Episode], signers_of: dict[int, list[str]]) -> dict[tuple[int, str], dict[str, Any]]:
    """Per (episode position, signer): its evidence link. `client` None: not resolved (the list view)."""
    bases = {node_url(nodes, s) for ss in signers_of.values() for s in ss} - {None}
    since = min((e.start for e in episodes), default=0)
    answers: dict[str, list[dict[str, Any]] | str] = {}
    if client is not None and bases:
        with ThreadPoolExecutor(max_workers=min(8, len(bases))) as pool:
            for base, got in zip(bases, pool.map(lambda b: _lookup(client, b, service_id, since), bases),
                                 strict=True):
                answers[base] = got  # type: ignore[index]
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for pos, e in enumerate(episodes):
        for s in signers_of.get(pos, []):
            base = node_url(nodes, s)
            link: dict[str, Any] = {"node": base, "status": "no_node", "url": None, "episode_id": None, "seq": None,
                                    "reports_url": None, "error": None}
            if base is not None:
                link["reports_url"] = _reports_url(base, service_id, e.start)
                got = answers.get(base)
                if client is None:
                    link["status"] = "not_resolved"
                elif isinstance(got, str):
                    link.update(status="unreachable", error=got)
                elif (r := _match(got or [], s, service_id, e.start, e.end)) is None:
                    link["status"] = "not_found"
                else:
                    seq = r.get("seq") if isinstance(r.get("seq"), int) else None
                    url = f"{base}/v1/evidence/{quote(r['episode_id'], safe='')}"
                    link.update(status="resolved", episode_id=r["episode_id"], seq=seq,
                                url=url if seq is None else f"{url}?seq={seq}")
            out[(pos, s)] = link
    return out


def episodes_view(ctx: ClaimContext, signers: Signers, nodes: Mapping[str, str],
                  client: httpx.Client | None) -> list[dict[str, Any]]:
    sid = ctx.product.service_id
    per_window: dict[tuple[int, int], list[str] | None] = {}
    signers_of: dict[int, list[str]] = {}
    for pos, e in enumerate(ctx.episodes):
        seen: list[str] = []
        for w in e.windows:
            named = signers.of(w.config_version, w.signers)  # type: ignore[attr-defined]
            per_window[(pos, w.index)] = named
            seen += [s for s in named or [] if s not in seen]
        signers_of[pos] = sorted(seen, key=str.lower)
    links = evidence(nodes, client, sid, ctx.episodes, signers_of)
    out = []
    for pos, e in enumerate(ctx.episodes):
        windows = [{"index": w.index, "start": w.start, "end": w.end, "ongoing": w.ongoing,
                    "config_version": w.config_version,  # type: ignore[attr-defined]
                    "signers": per_window[(pos, w.index)],
                    "signers_bitmap": None if w.signers is None else str(w.signers),  # type: ignore[attr-defined]
                    "block": w.block, "tx": w.tx}  # type: ignore[attr-defined]
                   for w in e.windows]
        out.append({
            "service_id": sid, "start": e.start, "end": e.end, "down_seconds": e.down_seconds,
            "maintenance_seconds": e.maintenance_seconds, "ongoing": e.ongoing, "final_at": e.final_at,
            "first_index": e.first_index,
            "excluded_event": e.excluded_event - 1 if e.excluded_event else None,
            "entitlement": episode_entitlement(ctx.product, e),
            "windows": windows,
            "signers": [{"address": to_checksum_address(s), "windows": [w.index for w in e.windows
                                                                        if s in (per_window[(pos, w.index)] or [])],
                         "evidence": links[(pos, s)]} for s in signers_of[pos]],
        })
    return out


# --- the incident report ---------------------------------------------------------------------

def incident_view(session: Session, ctx: ClaimContext, binding: bytes) -> dict[str, Any]:
    """The incident report the decision used, else the latest on file for the policy's subject
    and service (preferring anchored ones), with what an approval would find of it. Judged on
    the projection (anchors, revocations); the approval asks the chain itself."""
    binding_hex = "0x" + binding.hex()
    record: m.AssessmentRecord | None = None
    anchor_id: str | None = ctx.claim.incident_report
    if anchor_id is not None:
        record = on_file(session, anchor_id)
    else:
        candidates = [r for r in session.scalars(select(m.AssessmentRecord).where(
            m.AssessmentRecord.subject == binding_hex).order_by(m.AssessmentRecord.created_at.desc()))
            if r.report.get("kind") == INCIDENT]
        ids = {}
        for r in candidates:
            try:
                ids[r.id] = "0x" + report_anchor_id(r.report).hex()
            except Exception:  # noqa: BLE001 - names no assessor: cannot be anchored for a decision
                ids[r.id] = None
        anchored = [r for r in candidates if ids[r.id] and session.get(m.Anchor, ids[r.id]) is not None]
        record = (anchored or candidates or [None])[0]
        anchor_id = ids.get(record.id) if record is not None else None
    anchor = session.get(m.Anchor, anchor_id) if anchor_id else None
    problems: list[str] = []
    if anchor is None:
        problems.append("not_anchored")
    else:
        if anchor.revoked:
            problems.append("revoked")
        if anchor.kind != KIND_INCIDENT:
            problems.append("not_an_incident_report")
        if anchor.subject.lower() != binding_hex.lower():
            problems.append("not_bound_to_policy_subject_and_service")
    if record is None:
        problems.append("not_on_file")
    report = record.report if record is not None else {}
    outage = stated_outage(report) if record is not None else None
    outside = outage_problem(report, ctx) if record is not None else None
    if record is not None and outside is not None:
        problems.append("outside_outage")
    losses = report.get("incident", {}).get("losses") if isinstance(report.get("incident"), dict) else None
    return {
        "anchor_id": anchor_id,
        "on_file": record is not None,
        "assessment_id": record.id if record is not None else None,
        "report_hash": anchor.report_hash if anchor is not None else (record.report_hash if record else None),
        "expected_subject": binding_hex,
        "anchored": anchor is not None,
        "anchor_block": anchor.block if anchor is not None else None,
        "anchor_tx": anchor.tx if anchor is not None else None,
        "outage": outage,
        "quantified_loss": ({"currency": losses.get("currency"), "total_minor": losses.get("total_minor")}
                            if isinstance(losses, dict) else None),
        "verification": {
            "anchored": anchor is not None,
            "live": anchor is not None and not anchor.revoked,
            "incident_kind": anchor is not None and anchor.kind == KIND_INCIDENT,
            "bound": anchor is not None and anchor.subject.lower() == binding_hex.lower(),
            "window_overlaps_claim": record is not None and outside is None,
            "approvable": not problems,
            "problems": problems,
            "detail": outside,
        },
    }


# --- the approval cap --------------------------------------------------------------------------

# ISO 4217 minor-unit digits where they are not 2 (the report's amounts are in minor units of its
# currency: cents, fen, yen, fils).
_MINOR_DIGITS = {c: 0 for c in ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                                "UYI", "VND", "VUV", "XAF", "XOF", "XPF")}
_MINOR_DIGITS |= {c: 3 for c in ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")}
_MINOR_DIGITS |= {"CLF": 4, "UYW": 4}


def minor_digits(currency: str) -> int:
    return _MINOR_DIGITS.get(currency, 2)


def minor_to_token_units(amount_minor: int, currency: str, token_decimals: int) -> int:
    """`amount_minor` minor units of `currency` in token units of a token of that currency with
    `token_decimals` decimals; rounded down (towards the pool) when the token is coarser."""
    shift = token_decimals - minor_digits(currency)
    return amount_minor * 10**shift if shift >= 0 else amount_minor // 10**-shift


def approval_cap(report: Mapping[str, Any] | None, claim_amount: int, token_currency: str | None,
                 token_decimals: int | None) -> dict[str, Any]:
    """The most an approval against this incident report may pay: the claim, and also the report's
    quantified loss (`report.incident.losses.total_minor`) converted to token units when the
    report's currency is the payout token's (`settings.token_currency`); otherwise the claim alone,
    with the reason."""
    incident = report.get("incident") if report is not None else None
    losses = incident.get("losses") if isinstance(incident, dict) else None
    currency = losses.get("currency") if isinstance(losses, dict) else None
    total = losses.get("total_minor") if isinstance(losses, dict) else None
    out: dict[str, Any] = {"amount": claim_amount, "basis": "claim", "claim": claim_amount,
                           "token_currency": token_currency, "token_decimals": token_decimals,
                           "quantified_loss": None}
    if report is None:
        return {**out, "detail": "no incident report: the cap is the claim (an approval needs a report)"}
    if not isinstance(currency, str) or isinstance(total, bool) or not isinstance(total, int) or total < 0:
        return {**out, "detail": "the incident report quantifies no loss: the cap is the claim"}
    loss: dict[str, Any] = {"currency": currency, "total_minor": total, "token_units": None}
    out["quantified_loss"] = loss
    if token_currency is None or token_decimals is None:
        return {**out, "detail": "the payout token's currency is not configured (CYBERCOVER_TOKEN_CURRENCY, "
                                 "CYBERCOVER_TOKEN_DECIMALS): the cap is the claim"}
    if currency != token_currency:
        return {**out, "detail": f"the report's loss is in {currency}, the payout token is {token_currency}: "
                                 "not converted, the cap is the claim"}
    units = minor_to_token_units(total, currency, token_decimals)
    loss["token_units"] = units
    if units < claim_amount:
        return {**out, "amount": units, "basis": "quantified_loss",
                "detail": f"the report's quantified loss, {total} minor units of {currency} = {units} token units "
                          f"({token_decimals} decimals), is below the claim"}
    return {**out, "detail": f"the report's quantified loss, {total} minor units of {currency} = {units} token "
                             f"units ({token_decimals} decimals), covers the claim: the cap is the claim"}
