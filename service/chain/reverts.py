"""Decoded contract reverts → typed service errors. Every custom error the contracts the service
calls can raise is classified here, once: unauthorised → 403, wrong state (could succeed later,
or after something else changes on-chain) → 409, bad argument (the request itself is wrong) →
400. `tests/service/test_reverts.py` checks this table against the ABIs both ways, so a
new or renamed contract error cannot slip through unclassified. A revert that is not a custom
error (`Error(string)`, `Panic`, unknown data) is a 400."""

from __future__ import annotations

import re

from contracts.reverts import ContractRevert
from service.errors import ChainError

# The contracts whose errors reach the service (the payout asset is an ERC-20: TestToken's).
CONTRACTS = ("PolicyBook", "OutageOracle", "AssessmentRegistry", "CoverPool", "TestToken")

FORBIDDEN = frozenset({
    "AccessControlUnauthorizedAccount", "AccessControlBadConfirmation",
    "AssessmentRegistryNotAccredited", "AssessmentRegistryNotReportAssessor",
})
CONFLICT = frozenset({
    # OutageOracle: the chain already holds it, or its oracle set moved on / is not set yet.
    "OutageOracleWindowAlreadyCovered", "OutageOracleStaleConfig", "OutageOracleNoConfig",
    # AssessmentRegistry: the anchor's state.
    "AssessmentRegistryAlreadyAnchored", "AssessmentRegistryAlreadyRevoked", "AssessmentRegistryAlreadySuperseded",
    # PolicyBook: product, policy, claim and exposure state.
    "PolicyBookProductInactive", "PolicyBookPolicyMismatch", "PolicyBookCoverNotEnded",
    "PolicyBookClaimNotOpen", "PolicyBookClaimDeadlinePassed", "PolicyBookClaimDecisionPending",
    "PolicyBookReportNotUnderwritable", "PolicyBookProductCapExceeded", "PolicyBookIssuerCapExceeded",
    # CoverPool and the payout asset: capital, balances, allowances, a token that refuses.
    "CoverPoolInsufficientFreeCapital", "CoverPoolInsufficientLocked", "CoverPoolNothingOwed",
    "CoverPoolTransferShortfall", "ERC20InsufficientBalance", "ERC20InsufficientAllowance",
    "SafeERC20FailedOperation", "ReentrancyGuardReentrantCall", "SignerSetDeployFailed",
})
BAD_REQUEST = frozenset({
    "OutageOracleInvalidConfig", "OutageOracleInvalidConfigSigner", "OutageOracleQuorumNotMet",
    "OutageOracleInvalidSignature", "OutageOracleUnknownSigner", "OutageOracleDuplicateSigner",
    "OutageOracleInvalidWindow", "OutageOracleWindowInFuture", "OutageOracleReportsDisjoint",
    "AssessmentRegistryZeroAddress", "AssessmentRegistryInvalidCapability", "AssessmentRegistryZeroHash",
    "AssessmentRegistryZeroSubject", "AssessmentRegistryInvalidScore", "AssessmentRegistryUnknownReport",
    "AssessmentRegistryInPolicyNotSuccessor", "AssessmentRegistrySubjectMismatch", "AssessmentRegistryKindMismatch",
    "AssessmentRegistrySignatureExpired", "AssessmentRegistryInvalidSignature", "AssessmentRegistryEmptyBatch",
    "AssessmentRegistryUnknownBatch",
    "PolicyBookZeroAddress", "PolicyBookInvalidProduct", "PolicyBookGraceBelowFinality", "PolicyBookUnknownProduct",
    "PolicyBookInvalidCover", "PolicyBookCoverTooLong", "PolicyBookStartTooLate", "PolicyBookLimitAboveProduct",
    "PolicyBookLimitAboveRiskLevel", "PolicyBookPremiumBelowFloor", "PolicyBookZeroBeneficiary",
    "PolicyBookZeroReportHash", "PolicyBookEmptyBatch", "PolicyBookBatchTooLarge", "PolicyBookLengthMismatch",
    "PolicyBookUnknownPolicy", "PolicyBookClaimPolicyMismatch", "PolicyBookInvalidApprovalAmount",
    "PolicyBookInvalidIncidentReport",
    "CoverPoolZeroAddress", "CoverPoolZeroAmount", "CoverPoolLengthMismatch", "CoverPoolAmountTooLarge",
    "ERC20InvalidApprover", "ERC20InvalidReceiver", "ERC20InvalidSender", "ERC20InvalidSpender",
    "InvalidShortString", "StringTooLong",
})
STATUS = {**{n: 403 for n in FORBIDDEN}, **{n: 409 for n in CONFLICT}, **{n: 400 for n in BAD_REQUEST}}
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
    return ChainError(f"the chain refused: {revert}", type=TYPES.get(revert.name, _snake(revert.name)),
                      status=STATUS.get(revert.name, 400))
