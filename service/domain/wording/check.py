"""Checking a schedule against the chain, as an auditor would (`cybercover policy verify`).

The record a schedule is checked against is the one PolicyBook emitted in PolicyIssued (the book
stores only the record's hash; its events carry the record). A schedule is valid when its hash is
the record's `scheduleHash` and every number it states equals the record's and the product's:
a changed word changes the hash, a changed number with a recomputed hash disagrees with the
record. `check` is pure (record and product in, reasons out); `find` reads the chain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from web3.contract import Contract

from contracts.eip712 import service_id
from contracts.enums import PayoutKind
from contracts.records import PolicyRecord, Product
from service.assessment.errors import ReportError
from service.domain.wording.document import (
    ISSUANCE,
    SCHEMA,
    Basis,
    Maintenance,
    Token,
    common,
    for_cover,
    schedule_hash,
    units,
)

_MISSING = object()


@dataclass(frozen=True)
class Found:
    policy_id: int
    record: PolicyRecord
    product: Product
    block: int
    tx: str


def _at(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _expected(record: Any, product: Product, policy_id: int) -> dict[str, Any]:
    """Every number the schedule states, as the chain has it (path in the document → value)."""
    renewal_of = int(record.renewal_of)
    out: dict[str, Any] = {
        "product.id": record.product_id,
        "product.service_id": _hex(product.service_id),
        "trigger.threshold_seconds": product.trigger_seconds,
        "payout.kind": product.payout_kind.label,
        "payout.amount": units(product.payout_amount),
        "periods.waiting_seconds": 0 if renewal_of else product.waiting_seconds,
        "periods.grace_seconds": product.grace_seconds,
        "limits.policy_limit": units(product.policy_limit),
        "limits.auto_pay_limit": units(product.auto_pay_limit),
        "limits.claim_review_seconds": product.claim_seconds,
        "limits.limit": units(record.limit),
        "premium.amount": units(record.premium),
        "cover_end": record.cover_end,
        "holder": _hex(record.holder),
        "underwriting.subject": _hex(record.subject),
        "underwriting.report_hash": _hex(record.report_hash),
        "renewal_of": renewal_of,
    }
    if product.payout_kind is PayoutKind.PER_UNIT:
        out["payout.unit_seconds"] = product.unit_seconds
    out["cancellation.fee"] = units(product.cancellation_fee)
    return out


def _rebuilt(doc: Mapping[str, Any], record: Any, product: Product) -> dict[str, Any]:
    """The schedule this version of the wording writes for the chain's numbers, taking from `doc`
    only what the chain does not hold (names, token, risk level, conditions, pricing, and the
    maintenance rules in force at issuance)."""
    def get(path: str, default: Any = None) -> Any:
        value = _at(doc, path)
        return default if value is _MISSING else value

    rules = next((x for x in get("exclusions", []) if isinstance(x, Mapping)
                  and x.get("code") == "declared_maintenance"), {})
    maintenance = (Maintenance(rules["min_notice_seconds"], rules["max_seconds_per_period"])
                   if "min_notice_seconds" in rules and "max_seconds_per_period" in rules else None)
    token = get("token", {})
    basis = Basis(
        insurer=get("insurer.name", ""), assessor=get("insurer.assessor", ""), chain_id=get("chain.chain_id", 0),
        policy_book=get("chain.policy_book", ""), product_id=record.product_id, product=product,
        product_name=get("product.name", ""), service=get("product.service", ""),
        token=Token(token.get("address", ""), token.get("symbol"), token.get("decimals")), limit=record.limit,
        premium=record.premium, risk_level=get("premium.risk_level", ""), report_id=bytes(record.report_hash),
        subject=bytes(record.subject), cover_end=record.cover_end,
        cover_start=None if get("cover_start") == ISSUANCE else record.cover_start,
        conditions=tuple(get("underwriting.conditions", ())), pricing=get("premium.pricing"),
        maintenance=maintenance, cancellation_fee=product.cancellation_fee,
        renewal_of=int(record.renewal_of) or None)
    return for_cover(common(basis), bytes(record.holder), get("beneficiary", record.beneficiary))


def _words(doc: Mapping[str, Any], record: Any, product: Product) -> list[str]:
    """Whether the words say what the numbers say: the document must be what this wording
    writes for the record and the product."""
    try:
        rebuilt = _rebuilt(doc, record, product)
    except (AttributeError, TypeError, ValueError, KeyError, ReportError) as exc:
        return [f"the document cannot be rebuilt from the chain's numbers: {exc}"]
    differ = sorted(k for k in set(doc) | set(rebuilt) if doc.get(k) != rebuilt.get(k))
    if not differ:
        return []
    return [f"{', '.join(differ)}: the document is not what the {SCHEMA} wording states for the on-chain numbers "
            "(a sentence, a field or a section differs)"]


def check(doc: Mapping[str, Any], record: Any, product: Product, policy_id: int, *, chain_id: int | None = None,
          policy_book: str | None = None) -> list[str]:
    """Every reason `doc` is not the schedule of the on-chain policy `policy_id` (empty: valid)."""
    reasons: list[str] = []
    if doc.get("schema") != SCHEMA:
        reasons.append(f"schema is {doc.get('schema')!r}, expected {SCHEMA!r}")
    h = schedule_hash(doc)
    on_chain = bytes(record.schedule_hash)
    if on_chain != h:
        reasons.append(f"schedule hash {_hex(h)} is not the record's scheduleHash {_hex(on_chain)}: the document "
                       "differs from the one issued")
    expected = _expected(record, product, policy_id)
    for path, want in expected.items():
        got = _at(doc, path)
        if path == "renewal_of" and got is _MISSING:
            got = 0
        if got is _MISSING:
            reasons.append(f"{path} is missing (the chain has {want})")
        elif got != want or type(got) is not type(want):
            reasons.append(f"{path} is {got!r}, the chain has {want!r}")
    service = _at(doc, "product.service")
    if not isinstance(service, str) or service_id(service) != bytes(product.service_id):
        reasons.append(f"product.service {service!r} is not the covered service: its id is not the product's "
                       f"serviceId {_hex(bytes(product.service_id))}")
    beneficiary = _at(doc, "beneficiary")
    if not isinstance(beneficiary, str) or beneficiary.lower() != record.beneficiary.lower():
        reasons.append(f"beneficiary is {beneficiary if beneficiary is not _MISSING else 'missing'}, "
                       f"the chain has {record.beneficiary}")
    start = _at(doc, "cover_start")
    if start != ISSUANCE and (type(start) is not int or start != record.cover_start):
        reasons.append(f"cover_start is {start!r}, the chain has {record.cover_start} (or {ISSUANCE!r} for a cover "
                       "that started with its issuing transaction)")
    if chain_id is not None and _at(doc, "chain.chain_id") != chain_id:
        reasons.append(f"chain.chain_id is {_at(doc, 'chain.chain_id')!r}, the chain is {chain_id}")
    book = _at(doc, "chain.policy_book")
    if policy_book is not None and (not isinstance(book, str) or book.lower() != policy_book.lower()):
        reasons.append(f"chain.policy_book is {book!r}, the manifest's PolicyBook is {policy_book}")
    if not reasons:  # the numbers hold: do the words?
        reasons += _words(doc, record, product)
    return reasons


def _found(book: Contract, log: Any) -> Found:
    record = PolicyRecord.decode(log["args"]["policy"])
    product = Product.decode(book.functions.product(record.product_id).call())
    return Found(int(log["args"]["policyId"]), record, product, int(log["blockNumber"]),
                 log["transactionHash"].to_0x_hex())


def find(book: Contract, doc_hash: bytes, policy_id: int | None, from_block: int) -> Found | None:
    """The policy `policy_id`, or else the first policy whose record carries `doc_hash`."""
    if policy_id is not None:
        logs = book.events.PolicyIssued.get_logs(argument_filters={"policyId": policy_id}, from_block=from_block)
        return _found(book, logs[0]) if logs else None
    for log in book.events.PolicyIssued.get_logs(from_block=from_block):
        if bytes(log["args"]["policy"]["scheduleHash"]) == doc_hash:
            return _found(book, log)
    return None


def verify(book: Contract, doc: Mapping[str, Any], *, policy_id: int | None, from_block: int,
           chain_id: int) -> dict[str, Any]:
    """The verdict: valid, every reason it is not, and the on-chain facts next to the document's."""
    try:
        h = schedule_hash(doc)
    except ReportError as exc:  # a float, a null, a huge integer: no schedule the service issues
        return {"valid": False, "reasons": [str(exc)], "schedule_hash": None, "policy_id": policy_id}
    found = find(book, h, policy_id, from_block)
    out: dict[str, Any] = {"schedule_hash": _hex(h), "policy_id": policy_id}
    if found is None:
        why = (f"no policy {policy_id} on this PolicyBook" if policy_id is not None
               else "no policy on this PolicyBook carries this schedule hash: the document differs from every "
                    "issued schedule, or was never issued")
        return {**out, "valid": False, "reasons": [why]}
    reasons = check(doc, found.record, found.product, found.policy_id, chain_id=chain_id,
                    policy_book=book.address)
    r = found.record
    return {**out, "valid": not reasons, "reasons": reasons, "policy_id": found.policy_id,
            "on_chain": {"schedule_hash": _hex(bytes(r.schedule_hash)), "cover_start": r.cover_start,
                         "cover_end": r.cover_end, "limit": r.limit, "premium": r.premium,
                         "product_id": r.product_id, "block": found.block, "tx": found.tx}}
