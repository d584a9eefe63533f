"""Drift: the revert table classifies exactly the custom errors of the contracts the service
calls, each once, and the statuses are the ones clients rely on."""

from __future__ import annotations

from contracts.artifacts import abi
from contracts.reverts import ContractRevert
from service.chain import reverts
from service.chain.reverts import BAD_REQUEST, CONFLICT, CONTRACTS, FORBIDDEN, revert_error


def _abi_errors() -> set[str]:
    return {item["name"] for name in CONTRACTS for item in abi(name) if item["type"] == "error"}


def test_revert_table_matches_the_abis_exactly() -> None:
    errors = _abi_errors()
    classified = FORBIDDEN | CONFLICT | BAD_REQUEST
    assert not FORBIDDEN & CONFLICT and not FORBIDDEN & BAD_REQUEST and not CONFLICT & BAD_REQUEST
    assert errors - classified == set(), "contract errors the revert table does not classify"
    assert classified - errors == set(), "revert table entries no contract raises (stale)"
    assert set(reverts.TYPES) <= errors


def test_issuance_and_claim_errors_have_the_right_status() -> None:
    expect = {
        "PolicyBookZeroReportHash": 400, "PolicyBookPremiumBelowFloor": 400, "PolicyBookCoverTooLong": 400,
        "PolicyBookStartTooLate": 400, "PolicyBookLimitAboveRiskLevel": 400, "PolicyBookGraceBelowFinality": 400,
        "PolicyBookInvalidApprovalAmount": 400, "PolicyBookInvalidIncidentReport": 400,
        "PolicyBookProductCapExceeded": 409, "PolicyBookIssuerCapExceeded": 409,
        "PolicyBookReportNotUnderwritable": 409, "PolicyBookClaimDeadlinePassed": 409,
        "PolicyBookClaimDecisionPending": 409, "CoverPoolNothingOwed": 409,
        "AccessControlUnauthorizedAccount": 403,
    }
    for name, status in expect.items():
        assert revert_error(ContractRevert(name)).status == status, name
    assert revert_error(ContractRevert("PolicyBookPremiumBelowFloor")).type == "premium_below_floor"
    assert revert_error(ContractRevert("Error", {"message": "x"})).status == 400
