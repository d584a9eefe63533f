"""Decoded contract reverts → typed service errors. The decoded custom-error name picks the
status: unauthorised → 403, wrong state → 409, anything else (bad argument) → 400."""

from __future__ import annotations

import re

from contracts.reverts import ContractRevert
from service.errors import ChainError

FORBIDDEN = {
    "AccessControlUnauthorizedAccount", "AssessmentRegistryNotAccredited",
    "AssessmentRegistryNotReportAssessor",
}
CONFLICT = {
    "OutageOracleWindowAlreadyCovered", "OutageOracleWindowOutOfOrder", "OutageOracleStaleConfig",
    "AssessmentRegistryAlreadyAnchored", "AssessmentRegistryAlreadyRevoked", "AssessmentRegistryAlreadySuperseded",
    "PolicyBookProductInactive", "PolicyBookPolicyMismatch", "PolicyBookPolicyNotActive",
    "PolicyBookCoverNotEnded", "PolicyBookClaimNotOpen", "PolicyBookReportNotUnderwritable",
    "CoverPoolInsufficientFreeCapital", "CoverPoolInsufficientLocked", "ERC20InsufficientBalance",
    "ERC20InsufficientAllowance",
}
# Short types clients switch on; others get the snake-cased error name.
TYPES = {
    "OutageOracleWindowAlreadyCovered": "already_covered",
    "AccessControlUnauthorizedAccount": "chain_unauthorized",
    "CoverPoolInsufficientFreeCapital": "insufficient_capital",
}
_PREFIX = re.compile(r"^(OutageOracle|AssessmentRegistry|PolicyBook|CoverPool)")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", _PREFIX.sub("", name)).lower()


def revert_error(revert: ContractRevert) -> ChainError:
    status = 403 if revert.name in FORBIDDEN else 409 if revert.name in CONFLICT else 400
    return ChainError(f"the chain refused: {revert}", type=TYPES.get(revert.name, _snake(revert.name)),
                      status=status)
