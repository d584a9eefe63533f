"""The committed artifacts are what the sources compile to, and the EIP-712 types match."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from contracts import artifacts, eip712

# Each interface and the contract that implements it (with `@inheritdoc`).
INTERFACES = {"IPolicyBook": "PolicyBook", "ICoverPool": "CoverPool", "IOutageOracle": "OutageOracle",
              "IAssessmentRegistry": "AssessmentRegistry", "ICohortBook": "CohortBook"}
_DOC_KEYS = {"function": "methods", "event": "events", "error": "errors"}


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
    assert art["deployedBytecode"].startswith("0x")
    assert len(art["deployedBytecode"]) > 1000


def _signature(entry: dict) -> str:
    def canonical(param: dict) -> str:
        if param["type"].startswith("tuple"):
            return "(" + ",".join(canonical(c) for c in param["components"]) + ")" + param["type"][5:]
        return param["type"]

    return f"{entry['name']}({','.join(canonical(p) for p in entry['inputs'])})"


def _notice(userdoc: dict, entry: dict) -> str:
    doc = userdoc.get(_DOC_KEYS[entry["type"]], {}).get(_signature(entry))
    if isinstance(doc, list):  # errors may be declared more than once; solc lists each
        doc = doc[0] if doc else None
    return (doc or {}).get("notice", "")


@pytest.mark.parametrize(("interface", "implementation"), sorted(INTERFACES.items()))
def test_interfaces_document_every_entry_and_contracts_inherit_it(interface: str, implementation: str) -> None:
    """Every function, event and error of an interface has a @notice, and the contract's own
    user docs carry the same text (the contract says `@inheritdoc`, not a second copy)."""
    iface = artifacts.load_artifact(interface)
    own = json.loads(iface["metadata"])["output"]["userdoc"]
    inherited = json.loads(artifacts.load_artifact(implementation)["metadata"])["output"]["userdoc"]
    undocumented = [_signature(e) for e in iface["abi"] if not _notice(own, e)]
    assert undocumented == []
    not_inherited = [_signature(e) for e in iface["abi"] if _notice(inherited, e) != _notice(own, e)]
    assert not_inherited == []
