"""An auditor can match deployed code to the committed artifacts; a different contract fails."""

from __future__ import annotations

from dataclasses import replace

from contracts.bytecode import check


def test_deployed_code_matches_artifacts(ledger) -> None:  # noqa: ANN001
    result = check(ledger.w3, ledger.dep)
    assert set(result) == {"TestToken", "AssessmentRegistry", "OutageOracle", "CoverPool", "PolicyBook",
                           "CohortBook"}
    assert all(r["match"] for r in result.values()), result
    # Immutables differ per deployment (the pool's asset, the book's dependencies) and are masked.
    assert result["PolicyBook"]["code_bytes"] > 10_000


def test_a_swapped_address_does_not_match(ledger) -> None:  # noqa: ANN001
    contracts = dict(ledger.dep.contracts)
    contracts["PolicyBook"] = replace(contracts["PolicyBook"], address=contracts["CoverPool"].address)
    result = check(ledger.w3, replace(ledger.dep, contracts=contracts))
    assert result["PolicyBook"]["match"] is False
    assert result["CoverPool"]["match"] is True
