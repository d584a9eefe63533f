"""Revert data turned into a named error with decoded arguments, and the one revert table.

Decoding works on the raw bytes from eth-tester's `TransactionFailed`, from web3's
`ContractCustomError` / `ContractLogicError`, and from a JSON-RPC node's error `data`.

The table classifies every custom error of every artifact in `contracts/build` exactly once
(`tests/contracts/test_reverts.py` checks it against the ABIs both ways): the service derives its
HTTP status from it, the oracle transmitter which refusals are final.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any

from eth_abi import decode
from eth_utils import abi_to_signature, function_signature_to_4byte_selector, get_abi_input_types, to_bytes

from contracts.artifacts import abi, all_artifact_names
from contracts.errors import ContractsError

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)
_PY_BYTES = re.compile(r"b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"")


@dataclass
class ContractRevert(ContractsError):
    """A decoded revert: `name` is the custom error (or `Error`, `Panic`, `Unknown`)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    data: bytes = b""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={_show(v)}" for k, v in self.params.items())
        return f"{self.name}({inner})"

    @property
    def refusal(self) -> Refusal | None:
        """None for a revert that is not a custom error (`Error`, `Panic`, `Unknown`)."""
        return REFUSALS.get(self.name)

    @property
    def type(self) -> str:
        """The short name clients switch on (`already_covered`, `premium_below_floor`...)."""
        return revert_type(self.name)


class Refusal(Enum):
    FORBIDDEN = "forbidden"  # the caller lacks the role or accreditation
    CONFLICT = "conflict"  # the chain's state refuses it now; it may succeed later
    PERMANENT = "permanent"  # a report set the chain never accepts as sent, whatever happens on-chain
    BAD_ARGUMENT = "bad_argument"  # the call's arguments break the contract's rules


_TABLE: dict[Refusal, tuple[str, ...]] = {
    Refusal.FORBIDDEN: (
        "AccessControlUnauthorizedAccount", "AccessControlBadConfirmation", "TimelockUnauthorizedCaller",
        "AssessmentRegistryNotAccredited", "AssessmentRegistryNotReportAssessor", "OutageOracleNotMaintainer",
    ),
    Refusal.CONFLICT: (
        # OutageOracle: the chain already holds it, or its oracle set is not set yet.
        "OutageOracleWindowAlreadyCovered", "OutageOracleNoConfig",
        # OutageOracle exclusions: the service's other windows, the clock, the list's state.
        "OutageOracleMaintenanceOutOfOrder", "OutageOracleMaintenanceCountExceeded",
        "OutageOracleMaintenanceDuringOutage", "OutageOracleMaintenanceNoticeTooShort",
        "OutageOracleMaintenanceBudgetExceeded", "OutageOracleMaintenanceStarted",
        "OutageOracleMaintenanceAlreadyCancelled", "OutageOracleTooManyExcludedEvents",
        # AssessmentRegistry: the anchor's state.
        "AssessmentRegistryAlreadyAnchored", "AssessmentRegistryAlreadyRevoked", "AssessmentRegistryAlreadySuperseded",
        # PolicyBook: product, policy, claim and exposure state.
        "PolicyBookProductInactive", "PolicyBookPolicyMismatch", "PolicyBookCoverNotEnded",
        "PolicyBookClaimNotOpen", "PolicyBookClaimDeadlinePassed", "PolicyBookClaimDecisionPending",
        "PolicyBookReportNotUnderwritable", "PolicyBookProductCapExceeded", "PolicyBookIssuerCapExceeded",
        "PolicyBookServiceCapExceeded", "PolicyBookEventCapExceeded", "PolicyBookPolicyClosed",
        "PolicyBookCoverEnded", "PolicyBookOutageInProgress", "PolicyBookPolicyHasPayout", "PolicyBookAlreadyRenewed",
        # CohortBook: cohort, segment, round and collateral state.
        "CohortBookClosed", "CohortBookUnknownRound", "CohortBookProductInactive",
        "CohortBookReportNotUnderwritable", "CohortBookProductCapExceeded", "CohortBookCollateralExhausted",
        "CohortBookCoverEnded", "CohortBookNotClosable", "CohortBookTooManyRounds", "CohortBookTooManySegments",
        "CohortBookNotRemovable", "CohortBookRecordMismatch", "CohortBookSegmentsMismatch",
        # CoverPool and the payout asset: capital, balances, allowances, a token that refuses.
        "CoverPoolInsufficientFreeCapital", "CoverPoolInsufficientLocked", "CoverPoolNothingOwed",
        "CoverPoolTransferShortfall", "ERC20InsufficientBalance", "ERC20InsufficientAllowance",
        "SafeERC20FailedOperation", "BlacklistTokenBlacklisted", "ReentrancyGuardReentrantCall",
        "SignerSetDeployFailed",
        # Governance: the timelocked operation's state, or the call it made.
        "TimelockUnexecutedPredecessor", "TimelockUnexpectedOperationState", "FailedCall",
    ),
    # Final for the transmitter: the refusal lies in the set itself (signatures, signers against
    # a config version that only grows, windows). `WindowInFuture` is not: the chain's clock
    # catches up.
    Refusal.PERMANENT: (
        "OutageOracleStaleConfig", "OutageOracleQuorumNotMet", "OutageOracleInvalidSignature",
        "OutageOracleUnknownSigner", "OutageOracleDuplicateSigner", "OutageOracleInvalidWindow",
        "OutageOracleReportsDisjoint",
    ),
    Refusal.BAD_ARGUMENT: (
        "OutageOracleInvalidConfig", "OutageOracleInvalidConfigSigner", "OutageOracleWindowInFuture",
        "OutageOracleInvalidBucket",
        "OutageOracleInvalidMaintenanceRules", "OutageOracleInvalidMaintenanceWindow",
        "OutageOracleUnknownMaintenance", "OutageOracleInvalidExcludedEvent",
        "OutageOracleNoServices",
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
        "PolicyBookInvalidIncidentReport", "PolicyBookRenewalMismatch",
        "CohortBookZeroAddress", "CohortBookUnknownCohort", "CohortBookUnknownSegment", "CohortBookInvalidSegment",
        "CohortBookInvalidCover", "CohortBookCoverTooLong", "CohortBookStartTooLate", "CohortBookUnknownProduct",
        "CohortBookPremiumBelowFloor", "CohortBookInvalidProof", "CohortBookInvalidBatch",
        "CohortBookNotDistributor", "MerkleProofInvalidMultiproof",
        "CoverPoolZeroAddress", "CoverPoolZeroAmount", "CoverPoolLengthMismatch", "CoverPoolAmountTooLarge",
        "ERC20InvalidApprover", "ERC20InvalidReceiver", "ERC20InvalidSender", "ERC20InvalidSpender",
        "FeeOnTransferTokenFeeTooHigh", "TimelockInsufficientDelay", "TimelockInvalidOperationLength",
        "InvalidShortString", "StringTooLong",
    ),
}
REFUSALS: dict[str, Refusal] = {name: refusal for refusal, names in _TABLE.items() for name in names}
# Short types clients switch on; the others are the snake-cased error name without its contract.
TYPES = {
    "OutageOracleWindowAlreadyCovered": "already_covered", "AccessControlUnauthorizedAccount": "chain_unauthorized",
    "CoverPoolInsufficientFreeCapital": "insufficient_capital",
    "PolicyBookPolicyClosed": "policy_not_active",  # the service's own pre-check says the same (lifecycle)
}
_PREFIX = re.compile(r"^(OutageOracle|AssessmentRegistry|PolicyBook|CohortBook|CoverPool)")


def revert_type(name: str) -> str:
    return TYPES.get(name) or re.sub(r"(?<!^)(?=[A-Z])", "_", _PREFIX.sub("", name)).lower()


def _show(v: Any) -> str:
    return "0x" + v.hex() if isinstance(v, bytes) else str(v)


@cache
def error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    """Selector → (name, arg names, arg types), over every artifact (ours and inherited OZ)."""
    table: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for name in all_artifact_names():
        for item in abi(name):
            if item["type"] == "error":
                table[function_signature_to_4byte_selector(abi_to_signature(item))] = (
                    item["name"], [i["name"] or f"arg{n}" for n, i in enumerate(item["inputs"])],
                    get_abi_input_types(item))
    return table


def decode_revert(data: bytes | str) -> ContractRevert:
    if isinstance(data, str):
        data = to_bytes(hexstr=data)
    selector, body = data[:4], data[4:]
    if selector == _ERROR_STRING:
        return ContractRevert("Error", {"message": decode(["string"], body)[0]}, data)
    if selector == _PANIC:
        return ContractRevert("Panic", {"code": decode(["uint256"], body)[0]}, data)
    entry = error_table().get(selector)
    if entry is None:
        return ContractRevert("Unknown", {"data": data}, data)
    name, names, types = entry
    values = decode(types, body) if types else ()
    return ContractRevert(name, dict(zip(names, values, strict=True)), data)


def revert_data(exc: BaseException) -> bytes | None:
    """Digs the raw revert bytes out of the exceptions eth-tester, web3 and JSON-RPC raise."""
    candidates: list[Any] = [getattr(exc, "data", None), *getattr(exc, "args", ())]
    for c in candidates:
        if isinstance(c, dict):
            c = c.get("data")
        if isinstance(c, bytes | bytearray) and len(c) >= 4:
            return bytes(c)
        if isinstance(c, str) and (m := _PY_BYTES.search(c)):
            # eth-tester: TransactionFailed("execution reverted: b'...'")
            raw = ast.literal_eval(m.group(0))
            if len(raw) >= 4:
                return bytes(raw)
        if isinstance(c, str) and c.startswith("0x") and len(c) >= 10:
            try:
                return to_bytes(hexstr=c)
            except ValueError:
                continue
    return None


def decode_exception(exc: BaseException) -> ContractRevert | None:
    data = revert_data(exc)
    return decode_revert(data) if data is not None else None
