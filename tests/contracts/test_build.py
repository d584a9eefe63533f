"""The committed artifacts are what the sources compile to, and the EIP-712 types match."""

from __future__ import annotations

import subprocess
import sys

from contracts import artifacts, eip712


def test_compile_check_passes_on_committed_artifacts() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "compile", "--check"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "artifacts reproducible" in result.stdout


def test_compile_check_fails_when_an_artifact_is_altered(tmp_path) -> None:  # noqa: ANN001
    from contracts import compiler

    # The committed artifacts stand in for a fresh compile: the test above proves they are equal.
    fresh = {name: artifacts.load_artifact(name) for name in artifacts.all_artifact_names()}
    compiler.write_artifacts(fresh, tmp_path)
    assert compiler.check_artifacts(fresh, tmp_path) == []
    victim = tmp_path / "PolicyBook.json"
    victim.write_text(victim.read_text().replace('"deployedBytecode": "0x6', '"deployedBytecode": "0x7', 1))
    (tmp_path / "Stale.json").write_text("{}")
    problems = compiler.check_artifacts(fresh, tmp_path)
    assert any("PolicyBook.json differs" in p for p in problems)
    assert any("Stale.json is committed" in p for p in problems)


def test_typehashes_match_solidity(ledger) -> None:  # noqa: ANN001
    assert ledger.oracle.functions.OUTAGE_REPORT_TYPEHASH().call() == eip712.typehash("OutageReport")
    assert ledger.registry.functions.ANCHOR_TYPEHASH().call() == eip712.typehash("Anchor")
    assert ledger.registry.functions.ANCHOR_BATCH_TYPEHASH().call() == eip712.typehash("AnchorBatch")


def test_python_digest_equals_contract_digest(ledger) -> None:  # noqa: ANN001
    service = eip712.service_id("https://status.example")
    report = ledger.signed_report(eip712_signer(), service, 1000, 2000, ongoing=True, seq=7)
    on_chain = ledger.oracle.functions.reportDigest(service, 1, report).call()
    msg = eip712.outage_report_message(service, 1, 1000, 2000, True, report[3], 7)
    assert on_chain == eip712.digest(ledger.oracle_domain(), "OutageReport", msg)
    assert eip712.recover(on_chain, report[5], report[6]) == eip712_signer().address


def eip712_signer():  # noqa: ANN201
    from tests.chain import ORACLES

    return ORACLES[0]


def test_artifacts_carry_compiler_settings() -> None:
    art = artifacts.load_artifact("PolicyBook")
    assert art["compiler"]["version"].startswith("0.8.37+commit.")
    assert art["compiler"]["settings"]["evmVersion"] == "prague"
    assert art["deployedBytecode"].startswith("0x") and len(art["deployedBytecode"]) > 1000
