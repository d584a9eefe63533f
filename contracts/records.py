"""The structs Python reads from and sends to the contracts, as named frozen records.

A record's fields are the Solidity struct's (or a view's named outputs), in ABI order, in
snake_case; enum fields are decoded into `contracts.enums`. tests/contracts/test_records.py checks
each record against the ABI, so nobody outside `contracts` indexes a struct by position.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from typing import Any, Self, get_type_hints

from contracts.enums import ChainEnum, PayoutKind, PolicyStatus, ReportKind, RiskLevel


def solidity_name(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


@cache
def _types(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


class Struct:
    @classmethod
    def decode(cls, value: Any) -> Self:
        """From web3: a tuple in field order (a view's return), or a mapping keyed by the Solidity
        names (a struct inside event args)."""
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        raw = [value[solidity_name(n)] for n in names] if hasattr(value, "keys") else list(value)
        return cls(*(_coerce(_types(cls)[n], v) for n, v in zip(names, raw, strict=True)))

    @classmethod
    def of(cls, obj: Any) -> Self:
        """From an object carrying the fields as attributes (a projection row; bytes as 0x-hex)."""
        return cls(*(_coerce(_types(cls)[f.name], getattr(obj, f.name)) for f in fields(cls)))  # type: ignore[arg-type]

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple, in field order (what a contract function takes for the struct)."""
        return tuple(getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]


def _coerce(kind: Any, value: Any) -> Any:
    if isinstance(kind, type) and issubclass(kind, ChainEnum):
        return kind(value)
    if kind is bytes and isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value) if kind is bytes else value


@dataclass(frozen=True)
class Product(Struct):  # IPolicyBook.Product
    service_id: bytes
    trigger_seconds: int
    payout_kind: PayoutKind
    unit_seconds: int
    waiting_seconds: int
    grace_seconds: int
    active: bool
    auto_pay_limit: int
    payout_amount: int
    policy_limit: int
    max_cover_seconds: int
    max_start_delay: int
    min_premium: int
    medium_limit: int
    min_rate_ppm: int
    claim_seconds: int
    exposure_cap: int


@dataclass(frozen=True)
class PolicyTerms(Struct):  # IPolicyBook.PolicyTerms: what an issuer asks for
    product_id: int
    cover_start: int
    cover_end: int
    limit: int
    premium: int
    beneficiary: str
    holder: bytes
    subject: bytes
    report_hash: bytes


@dataclass(frozen=True)
class PolicyRecord(Struct):  # IPolicyBook.Policy: the record whose hash the book stores
    product_id: int
    cover_start: int
    cover_end: int
    limit: int
    beneficiary: str
    issuer: str
    holder: bytes
    subject: bytes
    report_hash: bytes
    settled: int = 0
    paid: int = 0
    open_claim: int = 0
    status: PolicyStatus = PolicyStatus.ACTIVE


@dataclass(frozen=True)
class Episode(Struct):  # IOutageOracle.Episode (episodesIn)
    start: int
    end: int
    down_seconds: int  # outside declared maintenance: what pays
    maintenance_seconds: int  # inside declared, uncancelled maintenance windows: never pays
    ongoing: bool
    settled: bool
    windows: int
    excluded_event: int  # 0, or 1 + the index of the first excluded event it overlaps


@dataclass(frozen=True)
class MaintenanceRules(Struct):  # IOutageOracle.MaintenanceRules
    maintainer: str
    min_notice: int
    max_seconds_per_period: int


@dataclass(frozen=True)
class Maintenance(Struct):  # IOutageOracle.Maintenance (maintenanceAt)
    start: int
    end: int
    declared_at: int
    cancelled: bool


@dataclass(frozen=True)
class ExcludedEvent(Struct):  # IOutageOracle.ExcludedEvent (excludedEventAt)
    start: int
    end: int
    reason: bytes
    declared_at: int


@dataclass(frozen=True)
class Anchor(Struct):  # IAssessmentRegistry.Anchor (anchorOf)
    assessor_index: int
    anchored_at: int
    score_bps: int
    risk_level: RiskLevel
    kind: ReportKind
    revoked: bool
    superseded: bool
    subject: bytes


@dataclass(frozen=True)
class Verification(Struct):  # IAssessmentRegistry.Verification (verify, verifyInBatch)
    valid: bool
    assessor: str
    assessor_capability: int
    anchored_at: int  # 0: not anchored by this assessor
    score_bps: int
    risk_level: RiskLevel
    kind: ReportKind
    subject: bytes  # the first 128 bits of the subject commitment
    revoked: bool
    superseded_by: bytes


@dataclass(frozen=True)
class UnderwritingStatus(Struct):  # IAssessmentRegistry.underwritingStatus's outputs
    live: bool
    risk_level: RiskLevel
    kind: ReportKind
