"""The Solidity enums as Python IntEnums: member order is the uint8 the contracts store, sign and
return. tests/contracts/test_enums.py checks every enum of the ABIs against contracts/src.

`label` is the lower-case name the API, the database and the report documents use."""

from __future__ import annotations

from enum import IntEnum
from typing import Self


class ChainEnum(IntEnum):
    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def of(cls, label: str) -> Self:
        """The member named `label` (e.g. "per_unit"); KeyError when there is none."""
        return cls[label.upper()]


class RiskLevel(ChainEnum):  # IAssessmentRegistry.RiskLevel, standard §6.5 Table 6
    LOW = 0
    LOWER = 1
    MEDIUM = 2
    HIGH = 3


class ReportKind(ChainEnum):  # IAssessmentRegistry.ReportKind
    PRE_UNDERWRITING = 0  # §6
    IN_POLICY = 1  # §7
    INCIDENT = 2  # §8


class PayoutKind(ChainEnum):  # IPolicyBook.PayoutKind
    FIXED = 0
    PER_UNIT = 1


class PolicyStatus(ChainEnum):  # IPolicyBook.PolicyStatus
    ACTIVE = 0
    EXPIRED = 1
    CANCELLED = 2


class ClaimStatus(ChainEnum):  # IPolicyBook.ClaimStatus
    NONE = 0
    OPEN = 1
    APPROVED = 2
    REJECTED = 3
    LAPSED = 4


class ClaimReason(ChainEnum):  # IPolicyBook.ClaimReason
    ABOVE_AUTO_PAY_LIMIT = 0
    EXCLUDED_EVENT = 1
