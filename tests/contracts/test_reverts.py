"""Drift: the revert table classifies exactly the custom errors of the artifacts, each once, and
the statuses the service derives from it are the ones clients rely on."""

from __future__ import annotations

from contracts.artifacts import abi, all_artifact_names
from contracts.reverts import _TABLE, REFUSALS, TYPES, ContractRevert, Refusal
from service.chain.gateway import chain_error


def _abi_errors() -> set[str]:
    return {item["name"] for name in all_artifact_names() for item in abi(name) if item["type"] == "error"}


def test_revert_table_matches_the_abis_exactly() -> None:
    errors = _abi_errors()
    classified = set(REFUSALS)
    assert sum(len(names) for names in _TABLE.values()) == len(classified), "an error classified twice"
    assert errors - classified == set(), "contract errors the revert table does not classify"
    assert classified - errors == set(), "revert table entries no contract raises (stale)"
    assert set(TYPES) <= errors
    assert "PolicyBookPolicyNotActive" not in classified


def test_issuance_and_claim_errors_have_the_right_status() -> None:
    expect = {
        "PolicyBookZeroReportHash": 400, "PolicyBookPremiumBelowFloor": 400, "PolicyBookCoverTooLong": 400,
        "PolicyBookStartTooLate": 400, "PolicyBookLimitAboveRiskLevel": 400, "PolicyBookGraceBelowFinality": 400,
        "PolicyBookInvalidApprovalAmount": 400, "PolicyBookInvalidIncidentReport": 400,
        "PolicyBookProductCapExceeded": 409, "PolicyBookIssuerCapExceeded": 409,
        "PolicyBookReportNotUnderwritable": 409, "PolicyBookClaimDeadlinePassed": 409,
        "PolicyBookClaimDecisionPending": 409, "CoverPoolNothingOwed": 409,
        "AccessControlUnauthorizedAccount": 403,
        "PolicyBookServiceCapExceeded": 409, "PolicyBookEventCapExceeded": 409, "PolicyBookOutageInProgress": 409,
        "PolicyBookPolicyHasPayout": 409, "PolicyBookCoverEnded": 409, "PolicyBookAlreadyRenewed": 409,
        "PolicyBookPolicyClosed": 409, "PolicyBookRenewalMismatch": 400,
    }
    for name, status in expect.items():
        assert chain_error(ContractRevert(name)).status == status, name
    assert chain_error(ContractRevert("PolicyBookPremiumBelowFloor")).type == "premium_below_floor"
    for name, kind in {"PolicyBookOutageInProgress": "outage_in_progress",
                       "PolicyBookPolicyHasPayout": "policy_has_payout",
                       "PolicyBookCoverEnded": "cover_ended", "PolicyBookAlreadyRenewed": "already_renewed",
                       "PolicyBookServiceCapExceeded": "service_cap_exceeded",
                       "PolicyBookEventCapExceeded": "event_cap_exceeded"}.items():
        assert chain_error(ContractRevert(name)).type == kind
    assert chain_error(ContractRevert("Error", {"message": "x"})).status == 400


def test_the_oracle_refusals_keep_their_statuses() -> None:
    """Permanent for a transmitter, yet a stale config version stays a conflict for API clients;
    a window in the future is a bad argument to them and a retry to the transmitter."""
    assert REFUSALS["OutageOracleStaleConfig"] is Refusal.PERMANENT
    assert chain_error(ContractRevert("OutageOracleStaleConfig")).status == 409
    assert REFUSALS["OutageOracleWindowInFuture"] is Refusal.BAD_ARGUMENT
    assert chain_error(ContractRevert("OutageOracleWindowInFuture")).status == 400
    assert chain_error(ContractRevert("OutageOracleInvalidSignature")).status == 400
    covered = chain_error(ContractRevert("OutageOracleWindowAlreadyCovered"))
    assert (covered.status, covered.type) == (409, "already_covered")
