"""The insurer's figures (issue 13, item 7), overall and per tenant, from the projection read at
one block (the indexer's cursor) and CoverPool read at that same block, so every figure describes
one state of the chain. Exact arithmetic throughout: money in token minor units (integers),
ratios as fractions rounded once, half to even, to `PLACES` decimals.

What each figure counts:

- *Underwriting automation* = quotes decided without a person ÷ all attributed quotes. Every quote
  is decided by the rating engine (offer, a Medium sub-limit, or a decline); a quote counts as a
  person's decision when it was asked for with a key of a person's role (`underwriter`, `admin`:
  someone at a desk priced that cover), and as automatic when a `distributor` key asked (the
  platform's integration, embedded in its subscription flow, with nobody reviewing it). Quotes
  made before migration 0018 recorded no role: they are `unattributed`, in neither side.
- *Claims automation* = payouts settled without review ÷ all payouts, by amount and by count
  (each `PayoutSent` is one payout). Reviewed: a payout of a claim approved by the claims role
  (`ClaimApproved`) or closed after its deadline (`ClaimLapsed`: it went to review, nobody
  decided). Each decided claim pays exactly one `PayoutSent` of its approved amount (PolicyBook
  `_payClaim`, `_expireOne`), so automatic = all payouts − approved claims − lapsed claims.
- *Loss ratio* = paid ÷ earned premium. Paid: every payout (sent or credited to the payee).
  Earned: per policy, the premium pro rata of its cover elapsed at the figures' block time,
  `premium × (min(t, end) − start) ÷ (end − start)`; a cancelled policy has earned what the pool
  kept, `premium − refund` (the cancellation fee included).
- *Capital* (pool-wide): CoverPool's `totalAssets`, `freeCapital`, `lockedCapital`, `owedCapital`;
  utilisation = locked ÷ (free + locked). For a tenant: the collateral its live covers hold,
  Σ (limit − paid), and that as a share of free + locked.
- *Exposure per covered service*: live (active) policies, Σ limit (what PolicyBook's
  `serviceExposure` counts) and Σ (limit − paid) (what they can still pay). A live group cover
  (CohortBook) adds its members left (added − removed) to `policies`, its collateral still
  locked to `at_risk` and that plus what it paid to `exposure`; its premium (less refunds) counts
  as written and earned like a policy's, its payouts as paid (amount; `paid_count` stays per
  policy payout), so the pool's locked capital is Σ `at_risk` with group covers live.
- *Verified outage to payout*: per payout, its block time minus the block time of the first
  `OutageVerified` of the episode it pays (the latest episode of the policy's service that
  started inside the cover and was verified by then); p50 and p95 by nearest rank
  (the ⌈q·n⌉-th smallest), in seconds.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from contracts.enums import PolicyStatus
from service.chain import episodes
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.db import models as m
from service.errors import ChainError, NotFound

log = logging.getLogger(__name__)

PLACES = 6
# 保险科技"十四五"发展规划（征求意见稿）, shared/seeds/003_b7e7ba67010514c9.txt lines 368–370:
# "推动行业平均承保自动化率超过 70%，核保自动化率超过 80%，理赔自动化率超过 40%". Both are strict
# ("超过": more than). The plan's 核保 (underwriting review) > 80 % is not tracked separately.
UNDERWRITING_TARGET = Fraction(70, 100)
CLAIMS_TARGET = Fraction(40, 100)
TARGET_SOURCE = ("shared/seeds/003_b7e7ba67010514c9.txt (保险科技“十四五”发展规划, 征求意见稿) lines 368–370: "
                 "承保自动化率超过 70%, 理赔自动化率超过 40%")
AUTOMATIC_ROLES = frozenset({"distributor"})  # a platform integration's key; every other role is a person
QUANTILES = (Fraction(1, 2), Fraction(95, 100))


def ratio(num: int | Fraction, den: int | Fraction) -> str | None:
    """num ÷ den as a decimal string with PLACES places, rounded half to even; None when den is 0."""
    if den == 0:
        return None
    q = round(Fraction(num) / Fraction(den) * 10**PLACES)  # Fraction rounds half to even
    sign, q = ("-", -q) if q < 0 else ("", q)
    return f"{sign}{q // 10**PLACES}.{q % 10**PLACES:0{PLACES}d}"


def nearest_rank(values: list[int], q: Fraction) -> int | None:
    """The ⌈q·n⌉-th smallest of `values` (sorted), None when empty."""
    if not values:
        return None
    return values[max(1, math.ceil(q * len(values))) - 1]


@dataclass
class Tally:
    """The raw sums of one scope (overall or one tenant)."""

    quotes_automatic: int = 0
    quotes_person: int = 0
    quotes_unattributed: int = 0
    paid_amount: int = 0
    paid_count: int = 0
    reviewed_amount: int = 0
    reviewed_count: int = 0
    lapsed_amount: int = 0
    lapsed_count: int = 0
    policies: int = 0
    written_premium: int = 0
    refunds: int = 0
    earned: Fraction = Fraction(0)
    locked: int = 0
    exposure: dict[str, list[int]] = field(default_factory=dict)  # service → [policies, Σ limit, Σ limit − paid]
    delays: list[int] = field(default_factory=list)
    delays_unattributed: int = 0

    @property
    def automatic_amount(self) -> int:
        return self.paid_amount - self.reviewed_amount - self.lapsed_amount

    @property
    def automatic_count(self) -> int:
        return self.paid_count - self.reviewed_count - self.lapsed_count


@dataclass(frozen=True)
class Pool:
    assets: int
    free: int
    locked: int
    owed: int


@dataclass
class Snapshot:
    block: int
    time: int
    pool: Pool
    overall: Tally
    tenants: dict[str, Tally]

    def of(self, tenant_id: str | None) -> Tally:
        return self.overall if tenant_id is None else self.tenants.get(tenant_id) or Tally()


_TIMES: dict[tuple[int, int], int] = {}  # (gateway, block) → timestamp, for payouts projected before 0018


def _block_time(gw: Gateway, block: int) -> int:
    key = (id(gw), block)
    if key not in _TIMES:
        if len(_TIMES) >= 65_536:
            _TIMES.clear()
        _TIMES[key] = gw.block_time(block)
    return _TIMES[key]


def _pool(gw: Gateway, block: int) -> Pool:
    fns = gw.pool.functions
    try:
        return Pool(*(int(f().call(block_identifier=block)) for f in
                      (fns.totalAssets, fns.freeCapital, fns.lockedCapital, fns.owedCapital)))
    except Exception as exc:  # noqa: BLE001 - any node failure is the chain being unreadable
        raise ChainError(f"CoverPool could not be read at block {block}: {type(exc).__name__}",
                         type="chain_unavailable", status=503) from None


def snapshot(session: Session, gw: Gateway, block: int) -> Snapshot:
    """Every figure's raw sums, overall and per tenant, at `block` (the projection's cursor)."""
    block = max(block, gw.first_block)
    try:
        at = gw.block_time(block)
    except Exception as exc:  # noqa: BLE001
        raise ChainError(f"block {block} could not be read: {type(exc).__name__}", type="chain_unavailable",
                         status=503) from None
    pool = _pool(gw, block)
    overall = Tally()
    tenants: dict[str, Tally] = defaultdict(Tally)

    def scopes(tenant_id: str | None) -> tuple[Tally, ...]:
        return (overall,) if tenant_id is None else (overall, tenants[tenant_id])

    for tenant_id, role, n in session.execute(select(m.Quote.tenant_id, m.Quote.requested_role, func.count())
                                              .group_by(m.Quote.tenant_id, m.Quote.requested_role)):
        for t in scopes(tenant_id):
            if role is None:
                t.quotes_unattributed += n
            elif role in AUTOMATIC_ROLES:
                t.quotes_automatic += n
            else:
                t.quotes_person += n

    owners: dict[int, str] = {pid: tid for pid, tid in session.execute(
        select(m.PolicyOwner.policy_id, m.PolicyOwner.tenant_id))}
    products = {p.id: p for p in session.scalars(select(m.Product))}
    policies = {p.id: p for p in session.scalars(select(m.Policy))}
    for p in policies.values():
        service = products[p.product_id].service_id if p.product_id in products else "unknown"
        if p.status == PolicyStatus.CANCELLED:
            earned = Fraction(p.premium - (p.refund or 0))
        else:
            length = p.cover_end - p.cover_start
            elapsed = min(max(at - p.cover_start, 0), length)
            earned = Fraction(p.premium * elapsed, length) if length > 0 else Fraction(p.premium)
        for t in scopes(owners.get(p.id)):
            t.policies += 1
            t.written_premium += p.premium
            t.refunds += p.refund or 0
            t.earned += earned
            if p.status == PolicyStatus.ACTIVE:
                t.locked += p.limit - p.paid
                row = t.exposure.setdefault(service, [0, 0, 0])
                row[0] += 1
                row[1] += p.limit
                row[2] += p.limit - p.paid

    _group_covers(session, at, products, scopes)

    for c in session.scalars(select(m.Claim).where(m.Claim.status.in_(("approved", "lapsed")))):
        for t in scopes(owners.get(c.policy_id)):
            if c.status == "approved":
                t.reviewed_amount += c.approved or 0
                t.reviewed_count += 1
            else:
                t.lapsed_amount += c.approved or 0
                t.lapsed_count += 1

    payouts = list(session.scalars(select(m.Payout)))
    delay = _Delays(session, gw, products, policies)
    for pay in payouts:
        d = delay.of(pay)
        for t in scopes(owners.get(pay.policy_id)):
            t.paid_amount += pay.amount
            t.paid_count += 1
            if d is None:
                t.delays_unattributed += 1
            else:
                t.delays.append(d)
    for t in (overall, *tenants.values()):
        t.delays.sort()
    return Snapshot(block, at, pool, overall, dict(tenants))


def _group_covers(session: Session, at: int, products: dict[int, m.Product],
                  scopes: Any) -> None:
    """The group covers' share of premium, capital and exposure (see the module docstring)."""
    owners = {c: t for c, t in session.execute(select(m.CohortFile.cohort_id, m.CohortFile.tenant_id)
                                              .where(m.CohortFile.cohort_id.is_not(None)))}
    added = dict(session.execute(select(m.CohortSegment.cohort_id, func.sum(m.CohortSegment.count))
                                 .group_by(m.CohortSegment.cohort_id)).all())
    removed = dict(session.execute(select(m.CohortRemoval.cohort_id, func.count())
                                   .group_by(m.CohortRemoval.cohort_id)).all())
    for c in session.scalars(select(m.Cohort)):
        service = products[c.product_id].service_id if c.product_id in products else "unknown"
        kept = c.premium - c.refunded
        length = c.cover_end - c.cover_start
        elapsed = min(max(at - c.cover_start, 0), length)
        earned = Fraction(kept * elapsed, length) if length > 0 else Fraction(kept)
        for t in scopes(owners.get(c.id)):
            t.written_premium += c.premium
            t.refunds += c.refunded
            t.earned += earned
            t.paid_amount += c.paid
            if not c.closed:
                t.locked += c.locked
                row = t.exposure.setdefault(service, [0, 0, 0])
                row[0] += int(added.get(c.id) or 0) - int(removed.get(c.id) or 0)
                row[1] += c.locked + c.paid
                row[2] += c.locked


class _Delays:
    """Verified outage → payout, per payout (see the module docstring)."""

    def __init__(self, session: Session, gw: Gateway, products: dict[int, m.Product],
                 policies: dict[int, m.Policy]) -> None:
        self.session, self.gw, self.products, self.policies = session, gw, products, policies
        self._episodes: dict[str, list[tuple[episodes.Episode, int | None]]] = {}

    def _of_service(self, service_id: str) -> list[tuple[episodes.Episode, int | None]]:
        """The service's episodes, each with the block time it was first verified."""
        if service_id not in self._episodes:
            merge_gap, finality = self.gw.episode_params()
            windows = list(self.session.scalars(select(m.Outage).where(m.Outage.service_id == service_id)))
            verified = [(s, end, t) for s, end, t in self.session.execute(
                select(m.OutageVerification.start, m.OutageVerification.end, m.OutageVerification.block_time)
                .where(m.OutageVerification.service_id == service_id))]
            out = []
            for e in episodes.group(service_id, windows, merge_gap, finality):
                firsts = [t for s, end, t in verified if s <= e.end and end >= e.start]
                out.append((e, min(firsts) if firsts else None))
            self._episodes[service_id] = out
        return self._episodes[service_id]

    def of(self, pay: m.Payout) -> int | None:
        policy = self.policies.get(pay.policy_id)
        product = self.products.get(policy.product_id) if policy is not None else None
        if policy is None or product is None:
            return None
        paid_at = pay.block_time if pay.block_time is not None else _block_time(self.gw, pay.block)
        count_from = policy.cover_start + (0 if policy.renewal_of else product.waiting_seconds)
        best: int | None = None
        for e, first in self._of_service(product.service_id):
            if count_from <= e.start < policy.cover_end and first is not None and first <= paid_at:
                best = first  # episodes come oldest first: the last match is the latest
        return None if best is None else paid_at - best


# --- the answer ---------------------------------------------------------------------------------

def figures(t: Tally, snap: Snapshot, *, tenant_scope: bool) -> dict[str, Any]:
    """One scope's figures, as the API answers them (integers and decimal strings only)."""
    uw_total = t.quotes_automatic + t.quotes_person
    uw = Fraction(t.quotes_automatic, uw_total) if uw_total else None
    by_amount = Fraction(t.automatic_amount, t.paid_amount) if t.paid_amount else None
    by_count = Fraction(t.automatic_count, t.paid_count) if t.paid_count else None
    pool = snap.pool
    capacity = pool.free + pool.locked
    capital: dict[str, Any]
    if tenant_scope:
        capital = {"scope": "tenant", "assets": None, "free": None, "owed": None, "locked": t.locked,
                   "utilisation": ratio(t.locked, capacity)}
    else:
        capital = {"scope": "pool", "assets": pool.assets, "free": pool.free, "owed": pool.owed,
                   "locked": pool.locked, "utilisation": ratio(pool.locked, capacity)}
    return {
        "underwriting": {
            "quotes": uw_total + t.quotes_unattributed, "automatic": t.quotes_automatic, "person": t.quotes_person,
            "unattributed": t.quotes_unattributed, "automation": ratio(t.quotes_automatic, uw_total),
            "target": ratio(UNDERWRITING_TARGET, 1),
            "meets_target": None if uw is None else uw > UNDERWRITING_TARGET,
        },
        "claims": {
            "paid_amount": t.paid_amount, "paid_count": t.paid_count,
            "automatic_amount": t.automatic_amount, "automatic_count": t.automatic_count,
            "reviewed_amount": t.reviewed_amount, "reviewed_count": t.reviewed_count,
            "lapsed_amount": t.lapsed_amount, "lapsed_count": t.lapsed_count,
            "automation_by_amount": ratio(t.automatic_amount, t.paid_amount),
            "automation_by_count": ratio(t.automatic_count, t.paid_count),
            "target": ratio(CLAIMS_TARGET, 1),
            "meets_target_by_amount": None if by_amount is None else by_amount > CLAIMS_TARGET,
            "meets_target_by_count": None if by_count is None else by_count > CLAIMS_TARGET,
        },
        "loss": {
            "policies": t.policies, "written_premium": t.written_premium, "refunds": t.refunds,
            "earned_premium": math.floor(t.earned), "paid": t.paid_amount, "loss_ratio": ratio(t.paid_amount, t.earned),
        },
        "capital": capital,
        "exposure": [{"service_id": s, "policies": n, "exposure": limits, "at_risk": at_risk}
                     for s, (n, limits, at_risk) in sorted(t.exposure.items())],
        "outage_to_payout": {
            "payouts": len(t.delays), "unattributed": t.delays_unattributed,
            "p50_seconds": nearest_rank(t.delays, QUANTILES[0]), "p95_seconds": nearest_rank(t.delays, QUANTILES[1]),
            "max_seconds": t.delays[-1] if t.delays else None,
        },
    }


def answer(session: Session, gw: Gateway, block: int, *, tenant_id: str | None,
           breakdown: bool) -> dict[str, Any]:
    """`tenant_id` None: overall, with every tenant's figures when `breakdown` (insurer staff)."""
    if tenant_id is not None and session.get(m.Tenant, tenant_id) is None:
        raise NotFound(f"no tenant {tenant_id}")
    snap = snapshot(session, gw, block)
    out: dict[str, Any] = {"as_of_block": snap.block, "as_of": snap.time, "tenant_id": tenant_id,
                           "targets_source": TARGET_SOURCE,
                           **figures(snap.of(tenant_id), snap, tenant_scope=tenant_id is not None)}
    if tenant_id is None and breakdown:
        names = {tid: name for tid, name in session.execute(select(m.Tenant.id, m.Tenant.name))}
        out["tenants"] = [{"tenant_id": tid, "name": name, **figures(snap.of(tid), snap, tenant_scope=True)}
                          for tid, name in sorted(names.items(), key=lambda kv: kv[1])]
    else:
        out["tenants"] = None
    return out


# --- Prometheus ---------------------------------------------------------------------------------

def _f(value: int | Fraction | None) -> float:
    return math.nan if value is None else float(value)


class FiguresCollector(Collector):
    """The figures as gauges on /metrics, computed at scrape time (label tenant="all": overall)."""

    def __init__(self, factory: sessionmaker[Session], gw: Gateway, indexer: Indexer) -> None:
        self.factory, self.gw, self.indexer = factory, gw, indexer

    def describe(self) -> Iterable[Any]:
        return []  # computed at scrape time: nothing to read at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.factory() as s:
                snap = snapshot(s, self.gw, self.indexer.block())
        except Exception:  # noqa: BLE001 - a scrape must answer: the figures are left out, and logged
            log.warning("figures could not be computed for /metrics", exc_info=True)
            return
        yield from gauges(snap)


def gauges(snap: Snapshot) -> Iterator[GaugeMetricFamily]:
    scopes = [("all", snap.overall), *sorted(snap.tenants.items())]

    def family(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"cybercover_{name}", doc, labels=labels)

    quotes = family("quotes", "Quotes by who decided them (service.domain.figures)", ["tenant", "decided_by"])
    uw = family("underwriting_automation_ratio", "Quotes decided without a person ÷ attributed quotes", ["tenant"])
    paid = family("paid", "Payout amount (token minor units) by how it was settled", ["tenant", "settled"])
    payouts = family("payouts", "Payouts by how they were settled", ["tenant", "settled"])
    claims = family("claims_automation_ratio", "Payouts settled without review ÷ all payouts", ["tenant", "measure"])
    earned = family("earned_premium", "Premium earned pro rata of elapsed cover (token minor units)", ["tenant"])
    loss = family("loss_ratio", "Paid ÷ earned premium", ["tenant"])
    locked = family("locked_collateral", "Collateral held by live covers (token minor units)", ["tenant"])
    delay = family("outage_to_payout_seconds", "Verified outage to payout, nearest-rank quantiles",
                   ["tenant", "quantile"])
    for name, t in scopes:
        for who, n in (("engine", t.quotes_automatic), ("person", t.quotes_person),
                       ("unattributed", t.quotes_unattributed)):
            quotes.add_metric([name, who], n)
        total = t.quotes_automatic + t.quotes_person
        uw.add_metric([name], _f(Fraction(t.quotes_automatic, total) if total else None))
        for how, amount, n in (("automatic", t.automatic_amount, t.automatic_count),
                               ("reviewed", t.reviewed_amount, t.reviewed_count),
                               ("lapsed", t.lapsed_amount, t.lapsed_count)):
            paid.add_metric([name, how], amount)
            payouts.add_metric([name, how], n)
        claims.add_metric([name, "amount"], _f(Fraction(t.automatic_amount, t.paid_amount) if t.paid_amount else None))
        claims.add_metric([name, "count"], _f(Fraction(t.automatic_count, t.paid_count) if t.paid_count else None))
        earned.add_metric([name], _f(t.earned))
        loss.add_metric([name], _f(Fraction(t.paid_amount) / t.earned if t.earned else None))
        locked.add_metric([name], t.locked)
        for q in QUANTILES:
            delay.add_metric([name, str(float(q))], _f(nearest_rank(t.delays, q)))
    yield from (quotes, uw, paid, payouts, claims, earned, loss, locked, delay)
    targets = family("automation_target_ratio", "The insurtech plan's targets (strictly above)", ["figure"])
    targets.add_metric(["underwriting"], float(UNDERWRITING_TARGET))
    targets.add_metric(["claims"], float(CLAIMS_TARGET))
    yield targets
    pool = snap.pool
    capital = family("capital", "CoverPool capital (token minor units)", ["state"])
    for state, v in (("assets", pool.assets), ("free", pool.free), ("locked", pool.locked), ("owed", pool.owed)):
        capital.add_metric([state], v)
    yield capital
    util = family("capital_utilisation_ratio", "locked ÷ (free + locked)", [])
    util.add_metric([], _f(Fraction(pool.locked, pool.free + pool.locked) if pool.free + pool.locked else None))
    yield util
    exposure = family("service_exposure", "Σ limit of live covers per covered service", ["service_id"])
    at_risk = family("service_at_risk", "Σ (limit − paid) of live covers per covered service", ["service_id"])
    for sid, (_, limits, left) in sorted(snap.overall.exposure.items()):
        exposure.add_metric([sid], limits)
        at_risk.add_metric([sid], left)
    yield exposure
    yield at_risk
