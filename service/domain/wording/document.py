"""The policy schedule of one cover: what the holder is told before issuance, as a canonical
JSON document (RFC 8785, like assessment reports) whose keccak256 goes into the on-chain record.

Every rule is stated twice: in numbers (what `policy verify` checks against the chain) and in
words, English and Chinese, generated from those numbers (service.domain.wording.words). A batch
builds and serialises the part all its covers share once (`Covers`), then per cover only the
holder commitment and the beneficiary."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import rfc8785
from eth_utils.crypto import keccak

from contracts.enums import PayoutKind
from contracts.records import Product
from service.assessment.canonical import canonical_bytes
from service.domain.wording.words import amount, duration, instant, pair

SCHEMA = "cybercover.policy-schedule/1"
ISSUANCE = "issuance"  # cover_start of a cover that starts with its issuing transaction
MAINTENANCE_PERIOD = 30 * 86400  # OutageOracle.MAINTENANCE_PERIOD: a window's budget period
EXCLUDED_EVENTS = ("cyber_war", "state_backed_attack", "provider_wide_systemic_event")
PER_COVER = ("holder", "beneficiary")
MAX_SAFE_INT = 2**53 - 1  # the only fields that differ between covers of one issuance


@dataclass(frozen=True)
class Token:
    address: str
    symbol: str | None = None
    decimals: int | None = None


@dataclass(frozen=True)
class Maintenance:
    """OutageOracle.maintenanceRules of the service, when the chain has them."""

    min_notice: int
    max_seconds_per_period: int


@dataclass(frozen=True)
class Basis:
    """What one issuance fixes for all its covers."""

    insurer: str
    assessor: str
    chain_id: int
    policy_book: str
    product_id: int
    product: Product  # the on-chain terms (PolicyBook.product)
    product_name: str
    service: str  # the covered service's name (its on-chain id is keccak256 of it)
    token: Token
    limit: int
    premium: int
    risk_level: str
    report_id: bytes  # the anchor id of the underwriting report (PolicyTerms.reportHash)
    subject: bytes
    cover_end: int
    cover_start: int | None = None  # None: the block time of the issuing transaction
    conditions: Sequence[str] = ()
    pricing: Mapping[str, Any] | None = None  # the quote's pricing breakdown, when it has one
    maintenance: Maintenance | None = None
    cancellation_fee: int | None = None  # None: the chain has no cancellation terms
    renewal_of: int | None = None


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def units(n: int) -> str:
    """A token amount (uint96, minor units) as a decimal string: JSON numbers are exact only up
    to 2^53 − 1, which 500 units of an 18-decimal token already exceed."""
    return str(n)


def _exact(value: Any) -> Any:
    """The pricing breakdown's values, with integers beyond JSON's exact range as decimal strings."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INT:
        return str(value)
    if isinstance(value, list | tuple):
        return [_exact(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _exact(v) for k, v in value.items()}
    return value


def _money(b: Basis, units: int) -> str:
    return amount(units, b.token.symbol, b.token.decimals)


def _trigger(b: Basis) -> dict[str, Any]:
    en, zh = duration(b.product.trigger_seconds)
    return {"threshold_seconds": b.product.trigger_seconds, **pair(
        f"An outage of {b.service} verified on-chain by the oracle quorum triggers this cover when its downtime "
        f"exceeds {en} ({b.product.trigger_seconds} s). Downtime is the sum of the verified windows of one outage "
        "episode (windows at most the oracle's merge gap apart); gaps between windows do not count. An episode "
        "is counted once its start is final on-chain.",
        f"经预言机法定多数在链上验证的 {b.service} 中断，"
        f"其停机时长超过{zh}（{b.product.trigger_seconds} 秒）即触发本保障。"
        "停机时长为同一中断事件（相隔不超过预言机合并间隔的各验证窗口）内各验证窗口之和，窗口之间的间隔不计入。"
        "中断事件的开始时间在链上确定后方予计算。")}


def _payout(b: Basis) -> dict[str, Any]:
    p = b.product
    pay = _money(b, p.payout_amount)
    cap_en = f"The total paid over the cover never exceeds its limit of {_money(b, b.limit)}."
    cap_zh = f"保险期间内累计赔付不超过本保障限额 {_money(b, b.limit)}。"
    out: dict[str, Any] = {"kind": p.payout_kind.label, "amount": units(p.payout_amount)}
    if p.payout_kind is PayoutKind.FIXED:
        return {**out, **pair(f"Each outage episode that triggers the cover pays {pay}. " + cap_en,
                              f"每一次触发本保障的中断事件赔付 {pay}。" + cap_zh)}
    en, zh = duration(p.unit_seconds)
    return {**out, "unit_seconds": p.unit_seconds, **pair(
        f"Each triggering outage episode pays {pay} for every started {en} ({p.unit_seconds} s) of downtime "
        f"beyond the threshold: ceil((downtime − threshold) / {p.unit_seconds}) × {pay}. " + cap_en,
        f"每一次触发本保障的中断事件，超过阈值的停机时长每开始一个{zh}（{p.unit_seconds} 秒）赔付 {pay}："
        f"向上取整((停机时长 − 阈值) / {p.unit_seconds}) × {pay}。" + cap_zh)}


def _periods(b: Basis) -> dict[str, Any]:
    p = b.product
    (wen, wzh), (gen, gzh) = duration(p.waiting_seconds), duration(p.grace_seconds)
    waiting_en = ("A renewal has no waiting period: outages count from its cover start."
                  if b.renewal_of else f"Waiting period: {wen}; outages starting within it after the cover "
                  "start are excluded.")
    waiting_zh = ("续保无等待期：自保险起期起计算中断。" if b.renewal_of
                  else f"等待期：{wzh}；保险起期后等待期内开始的中断不予赔付。")
    return {"waiting_seconds": 0 if b.renewal_of else p.waiting_seconds, "grace_seconds": p.grace_seconds, **pair(
        f"{waiting_en} Grace period: {gen}; outages that started before the cover end and are verified within it "
        "after the cover end still settle.",
        f"{waiting_zh}宽限期：{gzh}；保险止期前开始、于止期后宽限期内完成验证的中断仍予结算。")}


def _limits(b: Basis) -> dict[str, Any]:
    p = b.product
    review_en, review_zh = duration(p.claim_seconds)
    return {"policy_limit": units(p.policy_limit), "limit": units(b.limit), "auto_pay_limit": units(p.auto_pay_limit),
            "claim_review_seconds": p.claim_seconds, **pair(
                f"Limit of this cover: {_money(b, b.limit)} (product limit {_money(b, p.policy_limit)}). Entitlement "
                f"up to {_money(b, p.auto_pay_limit)} is paid automatically to the beneficiary; any more goes to "
                f"claims review, and a claim not decided within {review_en} is deemed approved and paid.",
                f"本保障限额：{_money(b, b.limit)}（产品限额 {_money(b, p.policy_limit)}）。累计应赔金额在 "
                f"{_money(b, p.auto_pay_limit)} 以内的部分自动支付给受益人；超出部分进入理赔审核，"
                f"{review_zh}内未作决定的理赔视为批准并支付。")}


def _maintenance(b: Basis) -> dict[str, Any]:
    rule_en = "under the maintenance rules set on-chain for the service (OutageOracle.maintenanceRules)"
    rule_zh = "按链上为该服务设定的维护规则（OutageOracle.maintenanceRules）"
    numbers: dict[str, Any] = {}
    if b.maintenance is not None:
        (nen, nzh), (men, mzh) = duration(b.maintenance.min_notice), duration(b.maintenance.max_seconds_per_period)
        numbers = {"min_notice_seconds": b.maintenance.min_notice,
                   "max_seconds_per_period": b.maintenance.max_seconds_per_period,
                   "period_seconds": MAINTENANCE_PERIOD}
        rule_en += f"; at issuance: declared at least {nen} in advance, at most {men} per 30-day period"
        rule_zh += f"；出单时：至少提前{nzh}声明，每30天周期内合计不超过{mzh}"
    return {"code": "declared_maintenance", **numbers, **pair(
        f"Downtime inside a maintenance window the operator of {b.service} declared on-chain in advance, {rule_en}, "
        "does not count; an outage that runs past a window counts only beyond it. A window is never declared "
        "retroactively, and a window cancelled before it starts does not exclude anything.",
        f"{b.service} 的运营方事先在链上声明的维护窗口（{rule_zh}）内的停机不计入；"
        "超出维护窗口持续的中断仅计算窗口之外的部分。"
        "维护窗口不得追溯声明；开始前已取消的窗口不构成除外。")}


def _exclusions(b: Basis) -> list[dict[str, Any]]:
    wen, wzh = duration(0 if b.renewal_of else b.product.waiting_seconds)
    known = {"code": "known_loss", "waiting_seconds": 0 if b.renewal_of else b.product.waiting_seconds, **pair(
        f"Known loss: an outage episode that started before the cover start or within the waiting period ({wen}) "
        "is excluded whole, even where it continues into the cover.",
        f"已知损失：在保险起期之前或等待期（{wzh}）内开始的中断事件整体除外，即使其持续至保险期间内。")}
    events = {"code": "excluded_event", "events": list(EXCLUDED_EVENTS), "handling": "claims_review", **pair(
        "Excluded events (T/SNISA 04002—2025 §4.2.3 c): war and cyber war, state-backed attacks, and a provider-wide "
        "systemic event, declared on-chain by governance for one or more services behind its timelock delay. "
        "Entitlement from outages inside a declared event period is never paid automatically: it goes to claims "
        "review with the reason excluded_event.",
        "除外事件（T/SNISA 04002—2025 §4.2.3 c）：战争及网络战争、国家支持的攻击、服务提供商范围的系统性事件，"
        "由治理机构经时间锁延迟后在链上为一个或多个服务声明。声明的事件期间内中断所产生的应赔金额不自动支付，"
        "而是以 excluded_event 为理由进入理赔审核。")}
    return [known, _maintenance(b), events]


def _premium(b: Basis) -> dict[str, Any]:
    out: dict[str, Any] = {"amount": units(b.premium), "risk_level": b.risk_level, **pair(
        f"Premium: {_money(b, b.premium)}, collected from the distributor at issuance, priced on the anchored "
        f"assessment (risk level {b.risk_level}).",
        f"保险费：{_money(b, b.premium)}，于出单时向分销方收取，"
        f"依据已锚定的风险评估报告定价（风险等级 {b.risk_level}）。")}
    if b.pricing is not None:
        out["pricing"] = {k: _exact(v) for k, v in b.pricing.items()}
    return out


def _cancellation(b: Basis) -> dict[str, Any]:
    if b.cancellation_fee is None:
        return pair("This cover cannot be cancelled.", "本保障不可退保。")
    fee = _money(b, b.cancellation_fee)
    return {"fee": units(b.cancellation_fee), "refund_rule": "pro_rata_unexpired_minus_fee", **pair(
        "The distributor that issued the cover, or the insurer, may cancel it before the cover end. The refund, "
        "paid to the issuing distributor, is floor(premium × (cover end − max(now, cover start)) / (cover end − "
        f"cover start)) minus the cancellation fee of {fee}, never below zero. Cancellation is refused while an "
        "outage of the service is in progress or not yet settled, and after any payout, claim or entitlement.",
        "出单的分销方或保险人可在保险止期前退保。退还保费支付给出单分销方，"
        "金额为 floor(保险费 × (止期 − max(当前时间, 起期)) / "
        f"(止期 − 起期)) 减去退保手续费 {fee}，不低于零。"
        "服务中断进行中或尚未结算时，以及已有赔付、理赔或应赔金额后，不得退保。")}


def _renewal(b: Basis) -> dict[str, str]:
    return pair(
        "Before the cover end, the cover may be renewed from a fresh quote on the latest live assessment report of "
        "the same insured: the follow-on cover starts exactly at this cover's end, with no gap and no waiting "
        "period, at the premium then quoted (a worse risk level re-prices or declines).",
        "保险止期前可依据同一被保险人最新有效的评估报告重新报价续保：续保保障自本保障止期起无缝衔接，无等待期，"
        "按届时报价收取保险费（风险等级变差时重新定价或拒保）。")


def _period(b: Basis) -> dict[str, Any]:
    start_en = "the block time of the issuing transaction" if b.cover_start is None else instant(b.cover_start)
    start_zh = "出单交易所在区块的时间" if b.cover_start is None else instant(b.cover_start)
    return pair(f"Cover period: from {start_en} until {instant(b.cover_end)} (exclusive).",
                f"保险期间：自{start_zh}起，至 {instant(b.cover_end)} 止（不含）。")


def common(b: Basis) -> dict[str, Any]:
    """Every field of the schedule but the per-cover ones (`PER_COVER`)."""
    p = b.product
    token: dict[str, Any] = {"address": b.token.address}
    if b.token.symbol is not None:
        token["symbol"] = b.token.symbol
    if b.token.decimals is not None:
        token["decimals"] = b.token.decimals
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "insurer": {"name": b.insurer, "assessor": b.assessor},
        "chain": {"chain_id": b.chain_id, "policy_book": b.policy_book},
        "product": {"id": b.product_id, "name": b.product_name, "service": b.service,
                    "service_id": _hex(p.service_id)},
        "trigger": _trigger(b),
        "payout": _payout(b),
        "periods": _periods(b),
        "limits": _limits(b),
        "exclusions": _exclusions(b),
        "premium": _premium(b),
        "cancellation": _cancellation(b),
        "renewal": _renewal(b),
        "cover_start": ISSUANCE if b.cover_start is None else b.cover_start,
        "cover_end": b.cover_end,
        "cover_period": _period(b),
        "token": token,
        "underwriting": {"report_hash": _hex(b.report_id), "subject": _hex(b.subject),
                         "conditions": list(b.conditions)},
    }
    if b.renewal_of:
        doc["renewal_of"] = b.renewal_of
    canonical_bytes(doc)  # refuses floats, nulls and oversized integers once, for every cover
    return doc


def for_cover(shared: Mapping[str, Any], holder: bytes, beneficiary: str) -> dict[str, Any]:
    return {**shared, "holder": _hex(holder), "beneficiary": beneficiary}


_PLAIN = re.compile(r"0x[0-9a-fA-F]*")  # a JSON string of these needs no escape: its JCS form is itself, quoted


class Covers:
    """The schedules of many covers on one basis. The shared members are serialised once; each
    cover's canonical bytes are those members and its own two, in JCS order (object keys sorted
    by UTF-16 code units: these keys are ASCII, so by byte). rfc8785 spends ~0.5 ms on one whole
    schedule; a batch of 10,000 would spend seconds re-serialising the same sentences."""

    def __init__(self, basis: Basis) -> None:
        self.shared = common(basis)
        assert all(k.isascii() for k in self.shared) and not set(PER_COVER) & set(self.shared)
        self._members = {k: rfc8785.dumps(k) + b":" + rfc8785.dumps(v) for k, v in self.shared.items()}

    def cover(self, holder: bytes, beneficiary: str) -> tuple[dict[str, Any], bytes]:
        """(document, schedule hash) of one cover."""
        doc = for_cover(self.shared, holder, beneficiary)
        if not _PLAIN.fullmatch(beneficiary):
            return doc, schedule_hash(doc)
        members = {**self._members, "holder": b'"holder":"' + _hex(holder).encode() + b'"',
                   "beneficiary": b'"beneficiary":"' + beneficiary.encode() + b'"'}
        return doc, keccak(b"{" + b",".join(members[k] for k in sorted(members)) + b"}")


def schedule(basis: Basis, holder: bytes, beneficiary: str) -> dict[str, Any]:
    """The schedule of one cover."""
    return for_cover(common(basis), holder, beneficiary)


def schedule_hash(doc: Mapping[str, Any]) -> bytes:
    """keccak256 of the RFC 8785 bytes: what PolicyTerms.scheduleHash carries."""
    return keccak(canonical_bytes(doc))
