"""AssessmentRegistry: accreditation, single and relayed anchors, supersession, Merkle batches,
revocation, the underwriting view and the EIP-712 domain."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi import encode
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from contracts import artifacts, eip712, merkle
from tests.chain import Signer, events, expect_event, expect_revert, signer

ZERO32 = b"\x00" * 32
ZERO_ADDR = "0x" + "00" * 20
SUBJECT = keccak(text="salt|acme-corp")
LOW, LOWER, MEDIUM, HIGH = range(4)
PRE, IN_POLICY, INCIDENT = range(3)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

ASSESSOR_X = signer("assessor_x")  # sign-only: never sends a transaction itself
BATCH_SIZE = 1_000

VERIFICATION = ("valid", "assessor", "assessorCapability", "anchoredAt", "scoreBps", "riskLevel",
                "kind", "revoked", "supersededBy")
EMPTY_VERIFICATION = dict(zip(VERIFICATION, (False, ZERO_ADDR, 0, 0, 0, 0, 0, False, ZERO32),
                              strict=True))


def rh(label: str) -> bytes:
    """A report hash (keccak of a stand-in canonical report)."""
    return keccak(text=f"report|{label}")


# --- helpers -----------------------------------------------------------------------------------

def accredit(led: Any, who: str, capability: int) -> Any:
    return led.send(led.registry.functions.setAssessor(who, capability), led.a.owner)


def anchor_as(led: Any, sender: str, report: bytes, *, score: int = 8500, level: int = LOWER,
              kind: int = PRE, subject: bytes = SUBJECT, replaces: bytes = ZERO32) -> Any:
    return led.send(led.registry.functions.anchor(report, score, level, kind, subject, replaces),
                    sender)


def verification(led: Any, report: bytes) -> dict[str, Any]:
    return _named(led.registry.functions.verify(report).call())


def in_batch(led: Any, report: bytes, proof: list[bytes], root: bytes) -> dict[str, Any]:
    return _named(led.registry.functions.verifyInBatch(report, proof, root).call())


def _named(raw: Any) -> dict[str, Any]:
    v = dict(zip(VERIFICATION, raw, strict=True))
    v["assessor"] = to_checksum_address(v["assessor"])
    return v


def block_time(led: Any, receipt: Any) -> int:
    return int(led.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def reg_domain(led: Any, *, chain_id: int | None = None, address: str | None = None) -> dict:
    return eip712.registry_domain(chain_id if chain_id is not None else led.w3.eth.chain_id,
                                  address or led.registry.address)


def anchor_message(report: bytes, deadline: int, *, score: int = 8500, level: int = LOWER,
                   kind: int = PRE, subject: bytes = SUBJECT,
                   replaces: bytes = ZERO32) -> dict[str, Any]:
    return {"reportHash": report, "scoreBps": score, "riskLevel": level, "kind": kind,
            "subject": subject, "replaces": replaces, "deadline": deadline}


def sign_anchor(led: Any, who: Signer, msg: dict[str, Any], **domain: Any) -> Any:
    return eip712.sign_anchor(who.key, reg_domain(led, **domain), msg)


def by_sig(led: Any, msg: dict[str, Any], sig: Any) -> Any:
    return led.registry.functions.anchorBySig(
        msg["reportHash"], msg["scoreBps"], msg["riskLevel"], msg["kind"], msg["subject"],
        msg["replaces"], msg["deadline"], sig.r, sig.vs)


def batch_by_sig(led: Any, msg: dict[str, Any], sig: Any) -> Any:
    return led.registry.functions.anchorBatchBySig(msg["root"], msg["count"], msg["uri"],
                                                   msg["deadline"], sig.r, sig.vs)


def recovered(led: Any, primary: str, msg: dict[str, Any], sig: Any) -> str:
    """The address the registry recovers for `sig` over `msg` in its own domain."""
    return eip712.recover(eip712.digest(reg_domain(led), primary, msg), sig.r, sig.vs)


@pytest.fixture
def x_accredited(ledger: Any) -> Signer:
    accredit(ledger, ASSESSOR_X.address, 90)
    return ASSESSOR_X


@pytest.fixture(scope="module")
def batch() -> tuple[list[bytes], merkle.MerkleTree]:
    reports = [keccak(text=f"batch-report-{i}") for i in range(BATCH_SIZE)]
    return reports, merkle.MerkleTree([merkle.leaf_hash(r) for r in reports])


# --- deployment, roles, constants --------------------------------------------------------------

def test_constants_roles_and_interfaces(ledger) -> None:
    reg = ledger.registry.functions
    assert reg.MIN_ACCREDITED().call() == 70
    assert reg.MIN_PREFERRED().call() == 85
    assert reg.ACCREDITOR_ROLE().call() == keccak(text="ACCREDITOR_ROLE")
    assert reg.ANCHOR_TYPEHASH().call() == eip712.typehash("Anchor")
    assert reg.ANCHOR_BATCH_TYPEHASH().call() == eip712.typehash("AnchorBatch")
    admin_role = reg.DEFAULT_ADMIN_ROLE().call()
    assert admin_role == ZERO32
    for role in (admin_role, reg.ACCREDITOR_ROLE().call()):
        assert reg.hasRole(role, ledger.a.owner).call()
        assert not reg.hasRole(role, ledger.a.assessor).call()
        assert reg.getRoleAdmin(role).call() == admin_role
    assert reg.capabilityOf(ledger.a.assessor).call() == 88
    assert reg.capabilityOf(ledger.a.outsider).call() == 0
    assert reg.supportsInterface(bytes.fromhex("7965db0b")).call()  # IAccessControl
    assert reg.supportsInterface(bytes.fromhex("01ffc9a7")).call()  # IERC165
    assert not reg.supportsInterface(bytes.fromhex("ffffffff")).call()


def test_constructor_rejects_zero_admin_and_grants_roles(ledger) -> None:
    factory = artifacts.contract(ledger.w3, "AssessmentRegistry")
    expect_revert(factory.constructor(ZERO_ADDR), ledger.a.owner, "AssessmentRegistryZeroAddress")
    r = ledger.send(factory.constructor(ledger.a.alice), ledger.a.owner)
    fresh = artifacts.contract(ledger.w3, "AssessmentRegistry", r["contractAddress"])
    granted = events(r, fresh, "RoleGranted")
    assert {(g["role"], g["account"]) for g in granted} == {
        (ZERO32, ledger.a.alice), (keccak(text="ACCREDITOR_ROLE"), ledger.a.alice)}
    assert all(g["sender"] == ledger.a.owner for g in granted)
    assert not fresh.functions.hasRole(ZERO32, ledger.a.owner).call()
    # The deployer has no accreditor power over the new registry; the admin has.
    expect_revert(fresh.functions.setAssessor(ledger.a.bob, 80), ledger.a.owner,
                  "AccessControlUnauthorizedAccount", account=ledger.a.owner)
    ledger.send(fresh.functions.setAssessor(ledger.a.bob, 80), ledger.a.alice)
    assert fresh.functions.capabilityOf(ledger.a.bob).call() == 80
    # Another deployment has another domain separator (its address is in it).
    assert fresh.functions.domainSeparator().call() != \
        ledger.registry.functions.domainSeparator().call()


def test_domain_separator_matches_python(ledger) -> None:
    chain_id, address = ledger.w3.eth.chain_id, ledger.registry.address
    type_hash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,"
                            "address verifyingContract)")
    by_hand = keccak(encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [type_hash, keccak(text="CyberCover AssessmentRegistry"), keccak(text="1"), chain_id,
         address]))
    via_eth_account = encode_typed_data(
        domain_data=eip712.registry_domain(chain_id, address),
        message_types=eip712.ANCHOR_TYPES,
        message_data=anchor_message(rh("d"), 1),
    ).header
    on_chain = ledger.registry.functions.domainSeparator().call()
    assert on_chain == by_hand == via_eth_account
    fields, name, version, cid, contract, salt, extensions = \
        ledger.registry.functions.eip712Domain().call()
    assert fields == b"\x0f"  # name, version, chainId, verifyingContract
    assert (name, version, cid) == ("CyberCover AssessmentRegistry", "1", chain_id)
    assert contract == address and salt == ZERO32 and extensions == []


def test_role_management(ledger) -> None:
    reg = ledger.registry.functions
    accreditor = reg.ACCREDITOR_ROLE().call()
    expect_revert(reg.grantRole(accreditor, ledger.a.alice), ledger.a.outsider,
                  "AccessControlUnauthorizedAccount", account=ledger.a.outsider, neededRole=ZERO32)
    r = ledger.send(reg.grantRole(accreditor, ledger.a.alice), ledger.a.owner)
    expect_event(r, ledger.registry, "RoleGranted", role=accreditor, account=ledger.a.alice,
                 sender=ledger.a.owner)
    # An accreditor who is not admin may accredit ...
    ledger.send(reg.setAssessor(ledger.a.bob, 72), ledger.a.alice)
    assert reg.capabilityOf(ledger.a.bob).call() == 72
    # ... but may not revoke someone else's report (that needs DEFAULT_ADMIN_ROLE).
    ledger.anchor(rh("role"))
    expect_revert(reg.revoke(rh("role")), ledger.a.alice, "AssessmentRegistryNotReportAssessor",
                  reportHash=rh("role"), caller=ledger.a.alice)
    expect_revert(reg.renounceRole(accreditor, ledger.a.bob), ledger.a.alice,
                  "AccessControlBadConfirmation")
    r = ledger.send(reg.revokeRole(accreditor, ledger.a.alice), ledger.a.owner)
    expect_event(r, ledger.registry, "RoleRevoked", role=accreditor, account=ledger.a.alice,
                 sender=ledger.a.owner)
    expect_revert(reg.setAssessor(ledger.a.bob, 90), ledger.a.alice,
                  "AccessControlUnauthorizedAccount", account=ledger.a.alice,
                  neededRole=accreditor)
    assert reg.capabilityOf(ledger.a.bob).call() == 72


# --- setAssessor -------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["outsider", "assessor", "alice"])
def test_set_assessor_requires_accreditor_role(ledger, who) -> None:
    sender = getattr(ledger.a, who)
    expect_revert(ledger.registry.functions.setAssessor(sender, 100), sender,
                  "AccessControlUnauthorizedAccount", account=sender,
                  neededRole=keccak(text="ACCREDITOR_ROLE"))
    assert ledger.registry.functions.capabilityOf(sender).call() == (88 if who == "assessor"
                                                                    else 0)


@pytest.mark.parametrize("capability", [101, 200, 255])
def test_set_assessor_rejects_capability_above_100(ledger, capability) -> None:
    expect_revert(ledger.registry.functions.setAssessor(ledger.a.alice, capability),
                  ledger.a.owner, "AssessmentRegistryInvalidCapability", capability=capability)
    assert ledger.registry.functions.capabilityOf(ledger.a.alice).call() == 0


def test_set_assessor_rejects_zero_address(ledger) -> None:
    expect_revert(ledger.registry.functions.setAssessor(ZERO_ADDR, 80), ledger.a.owner,
                  "AssessmentRegistryZeroAddress")


@pytest.mark.parametrize(("capability", "preferred"),
                         [(0, False), (69, False), (70, False), (84, False), (85, True),
                          (100, True)])
def test_set_assessor_event_and_preferred_flag(ledger, capability, preferred) -> None:
    r = accredit(ledger, ledger.a.alice, capability)
    ev = expect_event(r, ledger.registry, "AssessorAccredited", assessor=ledger.a.alice,
                      capability=capability, preferred=preferred)
    assert len(events(r, ledger.registry, "AssessorAccredited")) == 1 and ev
    assert ledger.registry.functions.capabilityOf(ledger.a.alice).call() == capability


def test_set_assessor_overwrites_and_can_remove_accreditation(ledger) -> None:
    accredit(ledger, ledger.a.alice, 95)
    anchor_as(ledger, ledger.a.alice, rh("before"))
    r = accredit(ledger, ledger.a.alice, 10)
    expect_event(r, ledger.registry, "AssessorAccredited", assessor=ledger.a.alice,
                 capability=10, preferred=False)
    expect_revert(ledger.registry.functions.anchor(rh("after"), 1, LOW, PRE, SUBJECT, ZERO32),
                  ledger.a.alice, "AssessmentRegistryNotAccredited", assessor=ledger.a.alice,
                  capability=10)
    # A report anchored while accredited stays valid; the capability shown is the current one.
    v = verification(ledger, rh("before"))
    assert v["valid"] and v["assessor"] == ledger.a.alice and v["assessorCapability"] == 10


# --- anchor ------------------------------------------------------------------------------------

def test_anchor_event_record_and_verify(ledger) -> None:
    report = rh("a1")
    r = anchor_as(ledger, ledger.a.assessor, report, score=7350, level=MEDIUM, kind=IN_POLICY)
    ts = block_time(ledger, r)
    expect_event(r, ledger.registry, "ReportAnchored", reportHash=report,
                 assessor=ledger.a.assessor, subject=SUBJECT, scoreBps=7350, riskLevel=MEDIUM,
                 kind=IN_POLICY)
    # reportHash, assessor and subject are the three indexed topics.
    (log,) = [lg for lg in r["logs"] if lg["address"] == ledger.registry.address]
    assert [bytes(t) for t in log["topics"][1:]] == [
        report, bytes(12) + bytes.fromhex(ledger.a.assessor[2:]), SUBJECT]
    assert tuple(ledger.registry.functions.anchorOf(report).call()) == (
        ledger.a.assessor, ts, 7350, MEDIUM, IN_POLICY, False)
    assert verification(ledger, report) == {
        "valid": True, "assessor": ledger.a.assessor, "assessorCapability": 88,
        "anchoredAt": ts, "scoreBps": 7350, "riskLevel": MEDIUM, "kind": IN_POLICY,
        "revoked": False, "supersededBy": ZERO32}
    assert tuple(ledger.registry.functions.underwritingStatus(report).call()) == (
        True, MEDIUM, IN_POLICY)
    assert ledger.registry.functions.successorOf(report).call() == ZERO32


def test_anchor_record_packs_into_one_storage_slot(ledger) -> None:
    report = rh("packed")
    r = anchor_as(ledger, ledger.a.assessor, report, score=10_000, level=HIGH, kind=INCIDENT)
    ts = block_time(ledger, r)
    expected = (int(ledger.a.assessor, 16) | ts << 160 | 10_000 << 200 | HIGH << 216
                | INCIDENT << 224)
    # Find the mapping slot from the data rather than hard-coding the inherited layout.
    words = {}
    for base in range(12):
        key = int.from_bytes(keccak(report + base.to_bytes(32, "big")), "big")
        word = int.from_bytes(ledger.w3.eth.get_storage_at(ledger.registry.address, key), "big")
        if word:
            words[base] = (key, word)
    assert len(words) == 1, words
    (key, word), = words.values()
    assert word == expected
    assert ledger.w3.eth.get_storage_at(ledger.registry.address, key + 1) == ZERO32
    ledger.send(ledger.registry.functions.revoke(report), ledger.a.assessor)
    after = int.from_bytes(ledger.w3.eth.get_storage_at(ledger.registry.address, key), "big")
    assert after == expected | 1 << 232


def test_unknown_report_views_are_empty(ledger) -> None:
    unknown = rh("never")
    assert verification(ledger, unknown) == EMPTY_VERIFICATION
    assert tuple(ledger.registry.functions.anchorOf(unknown).call()) == (
        ZERO_ADDR, 0, 0, 0, 0, False)
    assert tuple(ledger.registry.functions.underwritingStatus(unknown).call()) == (False, 0, 0)
    assert ledger.registry.functions.successorOf(unknown).call() == ZERO32


@pytest.mark.parametrize(("capability", "ok"), [(0, False), (69, False), (70, True),
                                                (84, True), (100, True)])
def test_anchor_accreditation_boundary(ledger, capability, ok) -> None:
    if capability:
        accredit(ledger, ledger.a.alice, capability)
    report = rh(f"boundary-{capability}")
    fn = ledger.registry.functions.anchor(report, 5000, HIGH, INCIDENT, SUBJECT, ZERO32)
    if ok:
        r = ledger.send(fn, ledger.a.alice)
        expect_event(r, ledger.registry, "ReportAnchored", reportHash=report,
                     assessor=ledger.a.alice)
        assert verification(ledger, report)["assessorCapability"] == capability
    else:
        expect_revert(fn, ledger.a.alice, "AssessmentRegistryNotAccredited",
                      assessor=ledger.a.alice, capability=capability)
        assert verification(ledger, report) == EMPTY_VERIFICATION


def test_anchor_rejects_zero_hash(ledger) -> None:
    expect_revert(ledger.registry.functions.anchor(ZERO32, 8500, LOW, PRE, SUBJECT, ZERO32),
                  ledger.a.assessor, "AssessmentRegistryZeroHash")


def test_accreditation_is_checked_before_the_hash(ledger) -> None:
    expect_revert(ledger.registry.functions.anchor(ZERO32, 8500, LOW, PRE, SUBJECT, ZERO32),
                  ledger.a.outsider, "AssessmentRegistryNotAccredited",
                  assessor=ledger.a.outsider, capability=0)


@pytest.mark.parametrize("score", [10_001, 20_000, 65_535])
def test_anchor_rejects_score_above_10000(ledger, score) -> None:
    expect_revert(ledger.registry.functions.anchor(rh("s"), score, LOW, PRE, SUBJECT, ZERO32),
                  ledger.a.assessor, "AssessmentRegistryInvalidScore", scoreBps=score)


@pytest.mark.parametrize("score", [0, 1, 10_000])
def test_anchor_accepts_score_bounds(ledger, score) -> None:
    ledger.anchor(rh(f"score-{score}"), score_bps=score)
    assert verification(ledger, rh(f"score-{score}"))["scoreBps"] == score


@pytest.mark.parametrize(("level", "kind"), [(4, PRE), (LOW, 3), (255, 255)])
def test_anchor_rejects_out_of_range_enums(ledger, level, kind) -> None:
    fn = ledger.registry.functions.anchor(rh("enum"), 8500, level, kind, SUBJECT, ZERO32)
    with pytest.raises(Exception):  # noqa: B017 - the ABI decoder reverts without data
        fn.transact({"from": ledger.a.assessor})
    assert verification(ledger, rh("enum")) == EMPTY_VERIFICATION


def test_anchor_all_levels_and_kinds(ledger) -> None:
    for level in (LOW, LOWER, MEDIUM, HIGH):
        for kind in (PRE, IN_POLICY, INCIDENT):
            report = rh(f"lk-{level}-{kind}")
            ledger.anchor(report, level=level, kind=kind)
            assert tuple(ledger.registry.functions.underwritingStatus(report).call()) == (
                True, level, kind)


def test_anchor_twice_reverts_already_anchored(ledger) -> None:
    report = rh("dup")
    ledger.anchor(report, score_bps=9000)
    expect_revert(ledger.registry.functions.anchor(report, 1, HIGH, PRE, SUBJECT, ZERO32),
                  ledger.a.assessor, "AssessmentRegistryAlreadyAnchored", reportHash=report)
    accredit(ledger, ledger.a.alice, 99)
    expect_revert(ledger.registry.functions.anchor(report, 1, HIGH, PRE, SUBJECT, ZERO32),
                  ledger.a.alice, "AssessmentRegistryAlreadyAnchored", reportHash=report)
    assert verification(ledger, report)["scoreBps"] == 9000
    assert verification(ledger, report)["assessor"] == ledger.a.assessor


# --- supersession ------------------------------------------------------------------------------

def test_supersede_through_replaces(ledger) -> None:
    old, new = rh("v1"), rh("v2")
    ledger.anchor(old, level=HIGH)
    r = ledger.anchor(new, level=LOWER, kind=IN_POLICY, replaces=old)
    expect_event(r, ledger.registry, "ReportSuperseded", previous=old, successor=new)
    expect_event(r, ledger.registry, "ReportAnchored", reportHash=new, riskLevel=LOWER)
    assert ledger.registry.functions.successorOf(old).call() == new
    assert ledger.registry.functions.successorOf(new).call() == ZERO32
    v_old = verification(ledger, old)
    # A superseded report is still authentic; it only names its successor.
    assert v_old["valid"] and not v_old["revoked"] and v_old["supersededBy"] == new
    assert v_old["riskLevel"] == HIGH
    assert tuple(ledger.registry.functions.underwritingStatus(old).call()) == (False, HIGH, PRE)
    assert tuple(ledger.registry.functions.underwritingStatus(new).call()) == (
        True, LOWER, IN_POLICY)
    # The chain continues from the newest report.
    newest = rh("v3")
    ledger.anchor(newest, replaces=new)
    assert ledger.registry.functions.successorOf(new).call() == newest
    assert ledger.registry.functions.successorOf(old).call() == new
    assert ledger.registry.functions.underwritingStatus(new).call()[0] is False
    assert ledger.registry.functions.underwritingStatus(newest).call()[0] is True


def test_supersede_twice_reverts_already_superseded(ledger) -> None:
    old, new, other = rh("s1"), rh("s2"), rh("s3")
    ledger.anchor(old)
    ledger.anchor(new, replaces=old)
    expect_revert(ledger.registry.functions.anchor(other, 1, LOW, PRE, SUBJECT, old),
                  ledger.a.assessor, "AssessmentRegistryAlreadySuperseded", previous=old,
                  successor=new)
    assert verification(ledger, other) == EMPTY_VERIFICATION  # nothing was anchored


def test_supersede_by_another_assessor_reverts(ledger) -> None:
    old, intruder = rh("mine"), rh("theirs")
    ledger.anchor(old)
    accredit(ledger, ledger.a.alice, 99)
    expect_revert(ledger.registry.functions.anchor(intruder, 1, LOW, PRE, SUBJECT, old),
                  ledger.a.alice, "AssessmentRegistryNotReportAssessor", reportHash=old,
                  caller=ledger.a.alice)
    assert ledger.registry.functions.successorOf(old).call() == ZERO32
    assert verification(ledger, intruder) == EMPTY_VERIFICATION


def test_supersede_unknown_report_reverts(ledger) -> None:
    expect_revert(ledger.registry.functions.anchor(rh("n"), 1, LOW, PRE, SUBJECT, rh("ghost")),
                  ledger.a.assessor, "AssessmentRegistryUnknownReport", reportHash=rh("ghost"))


def test_cannot_supersede_a_revoked_report(ledger) -> None:
    old = rh("revoked-old")
    ledger.anchor(old)
    ledger.send(ledger.registry.functions.revoke(old), ledger.a.assessor)
    expect_revert(ledger.registry.functions.anchor(rh("r"), 1, LOW, PRE, SUBJECT, old),
                  ledger.a.assessor, "AssessmentRegistryAlreadyRevoked", reportHash=old)


def test_revoking_the_successor_leaves_the_chain_without_a_live_report(ledger) -> None:
    old, new = rh("c1"), rh("c2")
    ledger.anchor(old)
    ledger.anchor(new, replaces=old)
    ledger.send(ledger.registry.functions.revoke(new), ledger.a.assessor)
    assert ledger.registry.functions.underwritingStatus(old).call()[0] is False
    assert ledger.registry.functions.underwritingStatus(new).call()[0] is False
    # The superseded report cannot be superseded again, nor can the revoked one.
    expect_revert(ledger.registry.functions.anchor(rh("c3"), 1, LOW, PRE, SUBJECT, old),
                  ledger.a.assessor, "AssessmentRegistryAlreadySuperseded", previous=old,
                  successor=new)
    expect_revert(ledger.registry.functions.anchor(rh("c3"), 1, LOW, PRE, SUBJECT, new),
                  ledger.a.assessor, "AssessmentRegistryAlreadyRevoked", reportHash=new)


# --- anchorBySig -------------------------------------------------------------------------------

def test_anchor_by_sig_relayed(ledger, x_accredited) -> None:
    msg = anchor_message(rh("sig"), ledger.now() + 3600, score=6100, level=HIGH, kind=INCIDENT)
    sig = sign_anchor(ledger, x_accredited, msg)
    assert sig.signer == x_accredited.address
    fn = by_sig(ledger, msg, sig)
    assert fn.call({"from": ledger.a.relayer}) == x_accredited.address
    r = ledger.send(fn, ledger.a.relayer)
    expect_event(r, ledger.registry, "ReportAnchored", reportHash=rh("sig"),
                 assessor=x_accredited.address, subject=SUBJECT, scoreBps=6100,
                 riskLevel=HIGH, kind=INCIDENT)
    v = verification(ledger, rh("sig"))
    assert v["valid"] and v["assessor"] == x_accredited.address
    assert v["assessorCapability"] == 90 and v["anchoredAt"] == block_time(ledger, r)
    assert (v["scoreBps"], v["riskLevel"], v["kind"]) == (6100, HIGH, INCIDENT)
    # The relayer is neither accredited nor recorded.
    assert ledger.registry.functions.capabilityOf(ledger.a.relayer).call() == 0


def test_anchor_by_sig_supersedes_own_report(ledger, x_accredited) -> None:
    first = anchor_message(rh("x1"), ledger.now() + 3600)
    ledger.send(by_sig(ledger, first, sign_anchor(ledger, x_accredited, first)), ledger.a.relayer)
    second = anchor_message(rh("x2"), ledger.now() + 3600, replaces=rh("x1"))
    r = ledger.send(by_sig(ledger, second, sign_anchor(ledger, x_accredited, second)),
                    ledger.a.bob)
    expect_event(r, ledger.registry, "ReportSuperseded", previous=rh("x1"), successor=rh("x2"))
    assert verification(ledger, rh("x1"))["supersededBy"] == rh("x2")
    # X may not supersede the directly anchored report of another assessor.
    ledger.anchor(rh("theirs"))
    third = anchor_message(rh("x3"), ledger.now() + 3600, replaces=rh("theirs"))
    expect_revert(by_sig(ledger, third, sign_anchor(ledger, x_accredited, third)),
                  ledger.a.relayer, "AssessmentRegistryNotReportAssessor",
                  reportHash=rh("theirs"), caller=x_accredited.address)


def test_anchor_by_sig_requires_accredited_signer(ledger) -> None:
    msg = anchor_message(rh("unacc"), ledger.now() + 3600)
    sig = sign_anchor(ledger, ASSESSOR_X, msg)
    expect_revert(by_sig(ledger, msg, sig), ledger.a.relayer, "AssessmentRegistryNotAccredited",
                  assessor=ASSESSOR_X.address, capability=0)
    accredit(ledger, ASSESSOR_X.address, 69)
    expect_revert(by_sig(ledger, msg, sig), ledger.a.relayer, "AssessmentRegistryNotAccredited",
                  assessor=ASSESSOR_X.address, capability=69)
    accredit(ledger, ASSESSOR_X.address, 70)
    ledger.send(by_sig(ledger, msg, sig), ledger.a.relayer)
    assert verification(ledger, rh("unacc"))["assessor"] == ASSESSOR_X.address


def test_anchor_by_sig_expires_after_deadline(ledger, x_accredited) -> None:
    deadline = ledger.now() + 600
    msg = anchor_message(rh("late"), deadline)
    sig = sign_anchor(ledger, x_accredited, msg)
    target = ledger.travel(601)  # the next block is one second past the deadline
    assert target == deadline + 1
    expect_revert(by_sig(ledger, msg, sig), ledger.a.relayer,
                  "AssessmentRegistrySignatureExpired", deadline=deadline, nowTime=target)
    assert verification(ledger, rh("late")) == EMPTY_VERIFICATION


def test_anchor_by_sig_valid_at_the_deadline_itself(ledger, x_accredited) -> None:
    target = ledger.travel(1000)  # the next block is mined at `target`
    msg = anchor_message(rh("edge"), target)
    r = ledger.send(by_sig(ledger, msg, sign_anchor(ledger, x_accredited, msg)),
                    ledger.a.relayer)
    assert block_time(ledger, r) == target
    assert verification(ledger, rh("edge"))["anchoredAt"] == target


@pytest.mark.parametrize("where", ["chain", "contract", "name"])
def test_anchor_by_sig_for_another_domain_recovers_someone_else(ledger, x_accredited,
                                                                where) -> None:
    msg = anchor_message(rh(f"dom-{where}"), ledger.now() + 3600)
    if where == "chain":
        sig = sign_anchor(ledger, x_accredited, msg, chain_id=ledger.w3.eth.chain_id + 1)
    elif where == "contract":
        sig = sign_anchor(ledger, x_accredited, msg, address=ledger.oracle.address)
    else:  # same chain and contract, the oracle's domain name
        sig = eip712.sign_anchor(x_accredited.key, eip712.oracle_domain(
            ledger.w3.eth.chain_id, ledger.registry.address), msg)
    who = recovered(ledger, "Anchor", msg, sig)
    assert who != x_accredited.address
    expect_revert(by_sig(ledger, msg, sig), ledger.a.relayer, "AssessmentRegistryNotAccredited",
                  assessor=who, capability=0)


def test_anchor_by_sig_replay_reverts_already_anchored(ledger, x_accredited) -> None:
    msg = anchor_message(rh("replay"), ledger.now() + 3600)
    sig = sign_anchor(ledger, x_accredited, msg)
    ledger.send(by_sig(ledger, msg, sig), ledger.a.relayer)
    for relayer in (ledger.a.relayer, ledger.a.bob):
        expect_revert(by_sig(ledger, msg, sig), relayer, "AssessmentRegistryAlreadyAnchored",
                      reportHash=rh("replay"))


@pytest.mark.parametrize(("field", "value"), [
    ("reportHash", rh("forged")), ("scoreBps", 9999), ("riskLevel", LOW), ("kind", INCIDENT),
    ("subject", keccak(text="salt|other-corp")), ("deadline", None),
], ids=["reportHash", "scoreBps", "riskLevel", "kind", "subject", "deadline"])
def test_anchor_by_sig_tampered_field_recovers_someone_else(ledger, x_accredited, field,
                                                            value) -> None:
    msg = anchor_message(rh("orig"), ledger.now() + 3600, score=4000, level=HIGH, kind=PRE)
    sig = sign_anchor(ledger, x_accredited, msg)
    tampered = {**msg, field: value if value is not None else msg["deadline"] + 1}
    who = recovered(ledger, "Anchor", tampered, sig)
    assert who != x_accredited.address
    expect_revert(by_sig(ledger, tampered, sig), ledger.a.relayer,
                  "AssessmentRegistryNotAccredited", assessor=who, capability=0)
    assert verification(ledger, tampered["reportHash"]) == EMPTY_VERIFICATION


def test_anchor_by_sig_tampered_replaces_recovers_someone_else(ledger, x_accredited) -> None:
    ledger.anchor(rh("target"))
    msg = anchor_message(rh("orig-r"), ledger.now() + 3600)
    sig = sign_anchor(ledger, x_accredited, msg)
    tampered = {**msg, "replaces": rh("target")}
    expect_revert(by_sig(ledger, tampered, sig), ledger.a.relayer,
                  "AssessmentRegistryNotAccredited",
                  assessor=recovered(ledger, "Anchor", tampered, sig), capability=0)
    assert ledger.registry.functions.successorOf(rh("target")).call() == ZERO32


def test_anchor_by_sig_rejects_malformed_signatures(ledger, x_accredited) -> None:
    msg = anchor_message(rh("malformed"), ledger.now() + 3600)
    sig = sign_anchor(ledger, x_accredited, msg)
    reg = ledger.registry.functions
    args = (msg["reportHash"], msg["scoreBps"], msg["riskLevel"], msg["kind"], msg["subject"],
            msg["replaces"], msg["deadline"])
    # r = 0: ecrecover yields the zero address.
    expect_revert(reg.anchorBySig(*args, ZERO32, sig.vs), ledger.a.relayer,
                  "AssessmentRegistryInvalidSignature")
    # s = 0: no key recovers.
    expect_revert(reg.anchorBySig(*args, sig.r, ZERO32), ledger.a.relayer,
                  "AssessmentRegistryInvalidSignature")
    # A high s (> n/2, the malleable half) is rejected before ecrecover.
    high_s = (SECP256K1_N // 2 + 1).to_bytes(32, "big")
    expect_revert(reg.anchorBySig(*args, sig.r, high_s), ledger.a.relayer,
                  "AssessmentRegistryInvalidSignature")
    vs = int.from_bytes(sig.vs, "big")
    # Flipping only the parity bit recovers another key.
    flipped = (vs ^ (1 << 255)).to_bytes(32, "big")
    expect_revert(reg.anchorBySig(*args, sig.r, flipped), ledger.a.relayer,
                  "AssessmentRegistryNotAccredited", capability=0)
    ledger.send(reg.anchorBySig(*args, sig.r, sig.vs), ledger.a.relayer)


def test_anchor_by_sig_checks_deadline_before_signature(ledger) -> None:
    past = ledger.now() - 1
    expect_revert(ledger.registry.functions.anchorBySig(rh("p"), 1, LOW, PRE, SUBJECT, ZERO32,
                                                        past, ZERO32, ZERO32),
                  ledger.a.relayer, "AssessmentRegistrySignatureExpired", deadline=past)


# --- batches -----------------------------------------------------------------------------------

def _sample(n: int) -> list[int]:
    edges = [0, 1, 2, 3, 255, 256, 511, 512, 767, 768, 992, 997, 998, 999]
    return sorted(set(edges + random.Random(1234).sample(range(n), 10)))


def test_python_tree_is_consistent(batch) -> None:
    reports, tree = batch
    assert len(tree.layers[0]) == BATCH_SIZE
    for i in _sample(BATCH_SIZE):
        assert merkle.verify(merkle.leaf_hash(reports[i]), tree.proof(i), tree.root)


def test_anchor_batch_and_verify_members(ledger, batch) -> None:
    reports, tree = batch
    uri = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/batch-0001.jsonl"
    r = ledger.send(ledger.registry.functions.anchorBatch(tree.root, BATCH_SIZE, uri),
                    ledger.a.assessor)
    ts = block_time(ledger, r)
    ev = expect_event(r, ledger.registry, "BatchAnchored", root=tree.root,
                      assessor=ledger.a.assessor, count=BATCH_SIZE, uri=uri)
    assert ev["uri"] == uri
    assert tuple(ledger.registry.functions.batchOf(tree.root).call()) == (
        ledger.a.assessor, ts, BATCH_SIZE, False)
    expected = {**EMPTY_VERIFICATION, "valid": True, "assessor": ledger.a.assessor,
                "assessorCapability": 88, "anchoredAt": ts}
    for i in _sample(BATCH_SIZE):
        assert in_batch(ledger, reports[i], tree.proof(i), tree.root) == expected, i
    # Batch members are not singly anchored.
    assert verification(ledger, reports[0]) == EMPTY_VERIFICATION
    assert ledger.registry.functions.underwritingStatus(reports[0]).call()[0] is False


def test_verify_in_batch_rejects_non_members_and_bad_proofs(ledger, batch) -> None:
    reports, tree = batch
    ledger.send(ledger.registry.functions.anchorBatch(tree.root, BATCH_SIZE, "u"),
                ledger.a.assessor)
    outsider = rh("not-in-batch")
    other = merkle.MerkleTree([merkle.leaf_hash(r) for r in reports[:10]])
    bad_cases = {
        "non-member": (outsider, tree.proof(5), tree.root),
        "non-member, empty proof": (outsider, [], tree.root),
        "another leaf's proof": (reports[5], tree.proof(6), tree.root),
        "proof too short": (reports[5], tree.proof(5)[:-1], tree.root),
        "proof too long": (reports[5], [*tree.proof(5), ZERO32], tree.root),
        "one sibling altered": (reports[5], [ZERO32, *tree.proof(5)[1:]], tree.root),
        "empty proof": (reports[5], [], tree.root),
        "leaf hash passed as report": (merkle.leaf_hash(reports[5]), tree.proof(5), tree.root),
        "inner node passed as report": (tree.layers[1][2], tree.proof(5)[1:], tree.root),
        "the root itself": (tree.root, [], tree.root),
        "unknown root, correct proof": (reports[5], other.proof(5), other.root),
        "zero root": (reports[5], tree.proof(5), ZERO32),
    }
    assert merkle.verify(merkle.leaf_hash(reports[5]), other.proof(5), other.root)
    for name, (report, proof, root) in bad_cases.items():
        assert in_batch(ledger, report, proof, root) == EMPTY_VERIFICATION, name
    assert in_batch(ledger, reports[5], tree.proof(5), tree.root)["valid"]


def test_single_leaf_batch(ledger) -> None:
    only = rh("lonely")
    tree = merkle.MerkleTree([merkle.leaf_hash(only)])
    assert tree.root == merkle.leaf_hash(only) and tree.proof(0) == []
    ledger.send(ledger.registry.functions.anchorBatch(tree.root, 1, ""), ledger.a.assessor)
    assert in_batch(ledger, only, [], tree.root)["valid"]
    assert in_batch(ledger, rh("other"), [], tree.root) == EMPTY_VERIFICATION


def test_anchor_batch_errors(ledger, batch) -> None:
    _, tree = batch
    reg = ledger.registry.functions
    expect_revert(reg.anchorBatch(tree.root, 0, "u"), ledger.a.assessor,
                  "AssessmentRegistryEmptyBatch")
    expect_revert(reg.anchorBatch(ZERO32, 5, "u"), ledger.a.assessor,
                  "AssessmentRegistryZeroHash")
    expect_revert(reg.anchorBatch(tree.root, BATCH_SIZE, "u"), ledger.a.outsider,
                  "AssessmentRegistryNotAccredited", assessor=ledger.a.outsider, capability=0)
    assert tuple(reg.batchOf(tree.root).call()) == (ZERO_ADDR, 0, 0, False)
    ledger.send(reg.anchorBatch(tree.root, BATCH_SIZE, "u"), ledger.a.assessor)
    expect_revert(reg.anchorBatch(tree.root, BATCH_SIZE, "u2"), ledger.a.assessor,
                  "AssessmentRegistryAlreadyAnchored", reportHash=tree.root)
    accredit(ledger, ledger.a.alice, 100)
    expect_revert(reg.anchorBatch(tree.root, 1, "theirs"), ledger.a.alice,
                  "AssessmentRegistryAlreadyAnchored", reportHash=tree.root)
    assert tuple(reg.batchOf(tree.root).call())[0] == ledger.a.assessor


def test_batch_and_single_namespaces_are_separate(ledger, batch) -> None:
    _, tree = batch
    ledger.send(ledger.registry.functions.anchorBatch(tree.root, BATCH_SIZE, "u"),
                ledger.a.assessor)
    # A single report whose hash equals a batch root is a different record.
    ledger.anchor(tree.root)
    assert verification(ledger, tree.root)["valid"]
    ledger.send(ledger.registry.functions.revoke(tree.root), ledger.a.assessor)
    assert tuple(ledger.registry.functions.batchOf(tree.root).call())[3] is False


def test_anchor_batch_by_sig(ledger, batch, x_accredited) -> None:
    reports, tree = batch
    msg = {"root": tree.root, "count": BATCH_SIZE, "uri": "https://reports.example/b/7",
           "deadline": ledger.now() + 3600}
    sig = eip712.sign_anchor_batch(x_accredited.key, reg_domain(ledger), msg)
    fn = batch_by_sig(ledger, msg, sig)
    assert fn.call({"from": ledger.a.relayer}) == x_accredited.address
    r = ledger.send(fn, ledger.a.relayer)
    expect_event(r, ledger.registry, "BatchAnchored", root=tree.root,
                 assessor=x_accredited.address, count=BATCH_SIZE, uri=msg["uri"])
    assert tuple(ledger.registry.functions.batchOf(tree.root).call()) == (
        x_accredited.address, block_time(ledger, r), BATCH_SIZE, False)
    v = in_batch(ledger, reports[321], tree.proof(321), tree.root)
    assert v["valid"] and v["assessor"] == x_accredited.address and v["assessorCapability"] == 90
    expect_revert(fn, ledger.a.relayer, "AssessmentRegistryAlreadyAnchored",
                  reportHash=tree.root)


@pytest.mark.parametrize(("field", "value"), [
    ("uri", "https://reports.example/b/8"), ("count", 999), ("root", rh("other-root")),
], ids=["uri", "count", "root"])
def test_anchor_batch_by_sig_tampered(ledger, x_accredited, field, value) -> None:
    msg = {"root": rh("root"), "count": 1000, "uri": "https://reports.example/b/7",
           "deadline": ledger.now() + 3600}
    sig = eip712.sign_anchor_batch(x_accredited.key, reg_domain(ledger), msg)
    tampered = {**msg, field: value}
    who = recovered(ledger, "AnchorBatch", tampered, sig)
    assert who != x_accredited.address
    expect_revert(batch_by_sig(ledger, tampered, sig), ledger.a.relayer,
                  "AssessmentRegistryNotAccredited", assessor=who, capability=0)


def test_anchor_batch_by_sig_expired_wrong_domain_and_invalid(ledger, x_accredited) -> None:
    msg = {"root": rh("root2"), "count": 3, "uri": "u", "deadline": ledger.now() + 60}
    good = eip712.sign_anchor_batch(x_accredited.key, reg_domain(ledger), msg)
    foreign = eip712.sign_anchor_batch(x_accredited.key, reg_domain(ledger, chain_id=1), msg)
    expect_revert(batch_by_sig(ledger, msg, foreign), ledger.a.relayer,
                  "AssessmentRegistryNotAccredited",
                  assessor=recovered(ledger, "AnchorBatch", msg, foreign), capability=0)
    expect_revert(ledger.registry.functions.anchorBatchBySig(
        msg["root"], 3, "u", msg["deadline"], ZERO32, good.vs), ledger.a.relayer,
        "AssessmentRegistryInvalidSignature")
    # An Anchor signature is no AnchorBatch signature (different typehash).
    single = sign_anchor(ledger, x_accredited, anchor_message(msg["root"], msg["deadline"]))
    expect_revert(batch_by_sig(ledger, msg, single), ledger.a.relayer,
                  "AssessmentRegistryNotAccredited", capability=0)
    ledger.travel(120)
    expect_revert(batch_by_sig(ledger, msg, good), ledger.a.relayer,
                  "AssessmentRegistrySignatureExpired", deadline=msg["deadline"])
    assert tuple(ledger.registry.functions.batchOf(msg["root"]).call())[1] == 0


# --- revocation --------------------------------------------------------------------------------

@pytest.mark.parametrize("by", ["assessor", "owner"])
def test_revoke_by_assessor_or_admin(ledger, by) -> None:
    report = rh(f"rev-{by}")
    ledger.anchor(report, level=MEDIUM, kind=IN_POLICY)
    revoker = getattr(ledger.a, by)
    r = ledger.send(ledger.registry.functions.revoke(report), revoker)
    expect_event(r, ledger.registry, "ReportRevoked", reportHash=report, by=revoker)
    v = verification(ledger, report)
    assert v["revoked"] and not v["valid"]
    assert v["assessor"] == ledger.a.assessor and v["riskLevel"] == MEDIUM
    assert ledger.registry.functions.anchorOf(report).call()[5] is True
    assert tuple(ledger.registry.functions.underwritingStatus(report).call()) == (
        False, MEDIUM, IN_POLICY)
    # Revocation is final: the hash cannot be anchored again.
    expect_revert(ledger.registry.functions.anchor(report, 1, LOW, PRE, SUBJECT, ZERO32),
                  ledger.a.assessor, "AssessmentRegistryAlreadyAnchored", reportHash=report)


def test_revoke_errors(ledger) -> None:
    report = rh("rev-errors")
    reg = ledger.registry.functions
    expect_revert(reg.revoke(report), ledger.a.assessor, "AssessmentRegistryUnknownReport",
                  reportHash=report)
    ledger.anchor(report)
    accredit(ledger, ledger.a.alice, 100)
    for who in (ledger.a.outsider, ledger.a.alice, ledger.a.relayer):
        expect_revert(reg.revoke(report), who, "AssessmentRegistryNotReportAssessor",
                      reportHash=report, caller=who)
    assert verification(ledger, report)["valid"]
    ledger.send(reg.revoke(report), ledger.a.assessor)
    for who in (ledger.a.assessor, ledger.a.owner):
        expect_revert(reg.revoke(report), who, "AssessmentRegistryAlreadyRevoked",
                      reportHash=report)
    # Authorisation is checked before the revoked flag.
    expect_revert(reg.revoke(report), ledger.a.outsider, "AssessmentRegistryNotReportAssessor",
                  reportHash=report, caller=ledger.a.outsider)


def test_revoke_a_superseded_report(ledger) -> None:
    old, new = rh("sr1"), rh("sr2")
    ledger.anchor(old)
    ledger.anchor(new, replaces=old)
    ledger.send(ledger.registry.functions.revoke(old), ledger.a.owner)
    v = verification(ledger, old)
    assert v["revoked"] and not v["valid"] and v["supersededBy"] == new
    assert ledger.registry.functions.underwritingStatus(new).call()[0] is True


def test_de_accredited_assessor_may_still_revoke(ledger) -> None:
    report = rh("deacc")
    ledger.anchor(report)
    accredit(ledger, ledger.a.assessor, 0)
    r = ledger.send(ledger.registry.functions.revoke(report), ledger.a.assessor)
    expect_event(r, ledger.registry, "ReportRevoked", reportHash=report, by=ledger.a.assessor)


def test_revoke_relayed_report_by_admin_only(ledger, x_accredited) -> None:
    msg = anchor_message(rh("relayed-rev"), ledger.now() + 3600)
    ledger.send(by_sig(ledger, msg, sign_anchor(ledger, x_accredited, msg)), ledger.a.relayer)
    expect_revert(ledger.registry.functions.revoke(rh("relayed-rev")), ledger.a.relayer,
                  "AssessmentRegistryNotReportAssessor", reportHash=rh("relayed-rev"),
                  caller=ledger.a.relayer)
    r = ledger.send(ledger.registry.functions.revoke(rh("relayed-rev")), ledger.a.owner)
    expect_event(r, ledger.registry, "ReportRevoked", by=ledger.a.owner)


@pytest.mark.parametrize("by", ["assessor", "owner"])
def test_revoke_batch(ledger, batch, by) -> None:
    reports, tree = batch
    ledger.send(ledger.registry.functions.anchorBatch(tree.root, BATCH_SIZE, "u"),
                ledger.a.assessor)
    revoker = getattr(ledger.a, by)
    r = ledger.send(ledger.registry.functions.revokeBatch(tree.root), revoker)
    expect_event(r, ledger.registry, "BatchRevoked", root=tree.root, by=revoker)
    assert ledger.registry.functions.batchOf(tree.root).call()[3] is True
    for i in (0, 500, 999):
        v = in_batch(ledger, reports[i], tree.proof(i), tree.root)
        assert v["revoked"] and not v["valid"] and v["assessor"] == ledger.a.assessor
        assert v["anchoredAt"] > 0
    # A wrong proof still yields nothing at all.
    assert in_batch(ledger, reports[0], tree.proof(1), tree.root) == EMPTY_VERIFICATION
    expect_revert(ledger.registry.functions.anchorBatch(tree.root, BATCH_SIZE, "again"),
                  ledger.a.assessor, "AssessmentRegistryAlreadyAnchored", reportHash=tree.root)


def test_revoke_batch_errors(ledger, batch) -> None:
    _, tree = batch
    reg = ledger.registry.functions
    expect_revert(reg.revokeBatch(tree.root), ledger.a.owner, "AssessmentRegistryUnknownBatch",
                  root=tree.root)
    ledger.send(reg.anchorBatch(tree.root, BATCH_SIZE, "u"), ledger.a.assessor)
    # A singly anchored report's hash is no batch root.
    ledger.anchor(rh("single"))
    expect_revert(reg.revokeBatch(rh("single")), ledger.a.assessor,
                  "AssessmentRegistryUnknownBatch", root=rh("single"))
    expect_revert(reg.revoke(tree.root), ledger.a.assessor, "AssessmentRegistryUnknownReport",
                  reportHash=tree.root)
    accredit(ledger, ledger.a.alice, 90)
    for who in (ledger.a.outsider, ledger.a.alice):
        expect_revert(reg.revokeBatch(tree.root), who, "AssessmentRegistryNotReportAssessor",
                      reportHash=tree.root, caller=who)
    ledger.send(reg.revokeBatch(tree.root), ledger.a.assessor)
    expect_revert(reg.revokeBatch(tree.root), ledger.a.owner, "AssessmentRegistryAlreadyRevoked",
                  reportHash=tree.root)


# --- underwritingStatus ------------------------------------------------------------------------

def test_underwriting_status_lifecycle(ledger) -> None:
    status = ledger.registry.functions.underwritingStatus
    a, b, c = rh("u1"), rh("u2"), rh("u3")
    assert tuple(status(a).call()) == (False, LOW, PRE)
    ledger.anchor(a, level=HIGH, kind=INCIDENT)
    assert tuple(status(a).call()) == (True, HIGH, INCIDENT)
    ledger.anchor(b, level=LOW, kind=IN_POLICY, replaces=a)
    assert tuple(status(a).call()) == (False, HIGH, INCIDENT)
    assert tuple(status(b).call()) == (True, LOW, IN_POLICY)
    ledger.anchor(c, level=MEDIUM, kind=PRE)
    ledger.send(ledger.registry.functions.revoke(c), ledger.a.assessor)
    assert tuple(status(c).call()) == (False, MEDIUM, PRE)
    # De-accreditation does not affect liveness of what was anchored.
    accredit(ledger, ledger.a.assessor, 0)
    assert tuple(status(b).call()) == (True, LOW, IN_POLICY)
