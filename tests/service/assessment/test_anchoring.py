"""Report provenance end to end: produce, anchor, verify, tamper, revoke, supersede, batch."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from eth_utils import keccak

from contracts import registry
from contracts.deploy import deploy
from service.assessment import (
    Assessor,
    Method,
    Overview,
    Subject,
    anchor_fields,
    build_report,
    commit_subject,
    report_hash,
)
from service.assessment.anchoring import (
    NO_ASSESSOR,
    AnchoringError,
    anchor,
    anchor_batch,
    anchor_by_signature,
    report_anchor_id,
    revoke,
    verify,
)
from tests.chain import signer
from tests.service.assessment.helpers import ISSUED, ORG_ID, SALT, sample_assessment


def report_by(address: str | None, report_id: str = "RA-2025-0001") -> dict[str, Any]:
    """A pre-underwriting report naming `address` as its assessor."""
    return build_report(
        kind="pre_underwriting", report_id=report_id, issued_at=ISSUED,
        assessor=Assessor("Shenzhen Example Security Co.", address),
        overview=Overview(objective="Pre-underwriting assessment", scope="Production platform",
                          started_at=datetime(2025, 6, 20, tzinfo=UTC), ended_at=datetime(2025, 6, 27, tzinfo=UTC),
                          methods=(Method.QUESTIONNAIRE,), team=("Li Lei",)),
        subject=Subject(commitment=commit_subject(ORG_ID, SALT).commitment, industry="SaaS",
                        business_overview="B2B invoicing", key_assets=("customer database",)),
        assessment=sample_assessment(),
    )


def test_anchor_verify_tamper_revoke_supersede(ledger) -> None:  # noqa: ANN001
    reg = ledger.registry
    doc = report_by(ledger.a.assessor)
    a = anchor(ledger.w3, reg, ledger.a.assessor, doc)
    v = verify(reg, doc)
    assert v["valid"] is True
    assert v["reason"] is None
    assert v["report_hash"] == "0x" + report_hash(doc).hex()
    assert v["assessor"].lower() == ledger.a.assessor.lower()
    assert v["assessor_grade"] == "preferred"
    assert v["block"] == a.block
    assert v["tx"] == a.tx
    assert v["anchored_at"].endswith("Z")

    # One changed byte of content: not anchored any more.
    tampered = json.loads(json.dumps(doc).replace("Production platform", "Production platforn", 1))
    t = verify(reg, tampered)
    assert t["valid"] is False
    assert "not anchored" in t["reason"]
    assert t["assessor"] is None

    # Superseded: still authentic, names its successor's anchor id.
    newer = report_by(ledger.a.assessor, report_id="RA-2025-0002")
    b = anchor(ledger.w3, reg, ledger.a.assessor, newer, replaces=a.anchor_id)
    assert b.anchor_id == registry.anchor_id(ledger.a.assessor, report_hash(newer)) == report_anchor_id(newer)
    s = verify(reg, doc)
    assert s["valid"] is True
    assert s["superseded_by"] == "0x" + b.anchor_id.hex()
    assert s["anchor_id"] == "0x" + a.anchor_id.hex()

    # Revoked: not valid.
    revoke(ledger.w3, reg, ledger.a.assessor, newer)
    r = verify(reg, newer)
    assert r["valid"] is False
    assert r["revoked"] is True
    assert r["reason"] == "revoked"


def _raw_anchor(ledger, sender: str, doc: dict[str, Any], **override: Any) -> None:  # noqa: ANN001
    f = {**anchor_fields(doc), **override}
    ledger.send(ledger.registry.functions.anchor(f["report_hash"], f["score_bps"], f["risk_level"], f["subject"],
                                                 b"\x00" * 32, f["kind"]), sender)


def test_report_naming_another_assessor_is_not_valid(ledger) -> None:  # noqa: ANN001
    named = "0x" + "ab" * 20
    doc = report_by(named)
    with pytest.raises(AnchoringError, match="names assessor"):
        anchor(ledger.w3, ledger.registry, ledger.a.assessor, doc)
    _raw_anchor(ledger, ledger.a.assessor, doc)  # anchored anyway, straight on the registry
    v = verify(ledger.registry, doc)
    assert v["valid"] is False
    assert "names" in v["reason"]
    assert ledger.a.assessor in v["reason"]
    assert v["assessor"] is None


def test_front_running_assessor_cannot_take_a_report(ledger) -> None:  # noqa: ANN001
    """Finding 9: another accredited assessor anchoring the hash first neither blocks the named
    assessor nor makes the report valid under its name."""
    hostile = ledger.a.alice
    ledger.send(ledger.registry.functions.setAssessor(hostile, 100), ledger.a.owner)
    doc = report_by(ledger.a.assessor)
    _raw_anchor(ledger, hostile, doc, score_bps=10_000, risk_level=0)
    early = verify(ledger.registry, doc)
    assert early["valid"] is False
    assert hostile in early["reason"]
    a = anchor(ledger.w3, ledger.registry, ledger.a.assessor, doc)
    v = verify(ledger.registry, doc)
    assert v["valid"] is True
    assert v["assessor"] == ledger.a.assessor
    assert v["tx"] == a.tx


def test_anchored_figures_must_be_the_documents(ledger) -> None:  # noqa: ANN001
    doc = report_by(ledger.a.assessor)
    _raw_anchor(ledger, ledger.a.assessor, doc, subject=keccak(text="someone else"))
    v = verify(ledger.registry, doc)
    assert v["valid"] is False
    assert v["reason"] == "anchored with another subject than the document states"
    other = report_by(ledger.a.assessor, report_id="RA-2025-0009")
    _raw_anchor(ledger, ledger.a.assessor, other, score_bps=1, risk_level=3)
    assert "score, risk level" in verify(ledger.registry, other)["reason"]


def test_report_naming_no_assessor_address_is_not_valid(ledger) -> None:  # noqa: ANN001
    doc = report_by(None)  # type: ignore[arg-type]
    _raw_anchor(ledger, ledger.a.assessor, doc)
    v = verify(ledger.registry, doc)
    assert v["valid"] is False
    assert v["reason"] == NO_ASSESSOR
    with pytest.raises(AnchoringError):
        report_anchor_id(doc)


def test_relayed_anchor_with_assessor_signature(ledger) -> None:  # noqa: ANN001
    assessor = signer("relayed-assessor")
    ledger.send(ledger.registry.functions.setAssessor(assessor.address, 75), ledger.a.owner)
    doc = report_by(assessor.address)
    anchor_by_signature(ledger.w3, ledger.registry, ledger.a.relayer, assessor.key, doc)
    v = verify(ledger.registry, doc)
    assert v["valid"] is True
    assert v["assessor"] == assessor.address
    assert v["assessor_grade"] == "qualified"


def test_batch_anchor_and_bundle_verification(ledger) -> None:  # noqa: ANN001
    docs = [report_by(ledger.a.assessor, report_id=f"RA-B-{i:03d}") for i in range(20)]
    b = anchor_batch(ledger.w3, ledger.registry, ledger.a.assessor, docs, "s3://reports/batch-1")
    bundle = b.bundle(docs[7])
    v = verify(ledger.registry, bundle)
    assert v["valid"] is True
    assert v["batch"] == "0x" + b.root.hex()
    assert v["block"] == b.block
    bundle["report"]["report_id"] = "RA-B-999"
    assert verify(ledger.registry, bundle)["valid"] is False
    assert v["anchor_id"] == "0x" + b.batch_id.hex()
    ledger.send(ledger.registry.functions.revokeBatch(b.batch_id), ledger.a.assessor)
    assert verify(ledger.registry, b.bundle(docs[0]))["revoked"] is True


@pytest.mark.timeout(120)
def test_cli_verify_over_json_rpc(tmp_path) -> None:  # noqa: ANN001
    from tests.anvil import anvil

    with anvil() as (url, w3):
        owner, assessor = w3.eth.accounts[:2]
        manifest = tmp_path / "deployment.json"
        dep = deploy(w3, owner, manifest_path=manifest)
        reg = dep.contract(w3, "AssessmentRegistry")
        from contracts.sender import send

        send(w3, reg.functions.setAssessor(assessor, 90), owner)
        doc = report_by(assessor)
        anchor(w3, reg, assessor, doc)
        path = tmp_path / "report.json"
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False))

        def run(p) -> subprocess.CompletedProcess[str]:  # noqa: ANN001
            return subprocess.run([sys.executable, "-m", "service", "report", "verify", str(p), "--rpc-url", url,
                                   "--manifest", str(manifest)], capture_output=True, text=True, timeout=60)

        ok = run(path)
        assert ok.returncode == 0, ok.stderr
        out = json.loads(ok.stdout)
        assert set(out) == {"valid", "report_hash", "anchor_id", "assessor", "assessor_grade", "anchored_at",
                            "block", "tx", "revoked", "superseded_by", "batch", "reason"}
        assert out["valid"] is True
        raw = path.read_bytes()
        i = raw.index(b"Production platform") + 5
        path.write_bytes(raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1:])  # flip one byte
        bad = run(path)
        assert bad.returncode == 1
        assert json.loads(bad.stdout)["valid"] is False
        path.write_text("{not json")
        assert run(path).returncode == 2
