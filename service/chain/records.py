"""Projected policy rows back into the ABI records the PolicyBook checks against its hash."""

from __future__ import annotations

from typing import Any

from contracts.policies import PolicyRecord
from service.db import models as m


def _b32(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def record(p: m.Policy) -> PolicyRecord:
    return PolicyRecord(
        product_id=p.product_id, cover_start=p.cover_start, cover_end=p.cover_end, limit=p.limit,
        beneficiary=p.beneficiary, issuer=p.issuer, holder=_b32(p.holder), subject=_b32(p.subject),
        report_hash=_b32(p.report_hash), settled=p.settled, paid=p.paid, open_claim=p.open_claim, status=p.status,
    )


def as_tuple(p: m.Policy) -> tuple[Any, ...]:
    return record(p).as_tuple()
