"""AssessmentRegistry: accreditation and assessor indices, single and relayed anchors under
per-assessor ids, subjects, supersession and kinds, Merkle batches, revocation, the underwriting
gate and the EIP-712 domain."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi import encode
from eth_account.messages import encode_typed_data
from eth_utils import function_abi_to_4byte_selector, keccak, to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import artifacts, eip712, merkle, registry
from tests.chain import Signer, events, expect_event, expect_revert, signer
from tests.contracts.helpers import snapshot

ZERO32 = b"\x00" * 32
ZERO16 = b"\x00" * 16
ZERO_ADDR = "0x" + "00" * 20
SUBJECT = keccak(text="salt|acme-corp")
OTHER_SUBJECT = keccak(text="salt|other-corp")
SERVICE = eip712.service_id("https://app.saas.example")
LOW, LOWER, MEDIUM, HIGH = range(4)
PRE, IN_POLICY, INCIDENT = range(3)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

ASSESSOR_X = signer("assessor_x")  # sign-only: never sends a transaction itself
BATCH_SIZE = 1_000

VERIFICATION = ("valid", "assessor", "assessorCapability", "anchoredAt", "scoreBps", "riskLevel",
                "kind", "subject", "revoked", "supersededBy")
EMPTY_VERIFICATION = dict(zip(VERIFICATION, (False, ZERO_ADDR, 0, 0, 0, 0, 0, ZERO16, False, ZERO32),
                              strict=True))
EMPTY_ANCHOR = (0, 0, 0, 0, 0, False, False, ZERO16)

_SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
PROPS = settings(max_examples=30, deadline=None, suppress_health_check=_SLOW_OK)


def rh(label: str) -> bytes:
    """A report hash (keccak of a stand-in canonical report)."""
    return keccak(text=f"report|{label}")


# --- helpers -----------------------------------------------------------------------------------

def accredit(led: Any, who: str, capability: int) -> Any:
    return led.send(led.registry.functions.setAssessor(who, capability), led.a.owner)


def anchor_fn(led: Any, report: bytes, *, score: int = 8500, level: int = LOWER, kind: int = PRE,
              subject: bytes = SUBJECT, replaces: bytes = ZERO32) -> Any:
    return led.registry.functions.anchor(report, score, level, subject, replaces, kind)


def anchor_as(led: Any, sender: str, report: bytes, **kw: Any) -> Any:
    return led.send(anchor_fn(led, report, **kw), sender)


def anchor(led: Any, report: bytes, **kw: Any) -> bytes:
    """Anchors as the default assessor; returns the anchor id."""
    anchor_as(led, led.a.assessor, report, **kw)
    return aid(led, report)


def aid(led: Any, report: bytes, who: str | None = None) -> bytes:
    return registry.anchor_id(who or led.a.assessor, report)


def status(led: Any, anchor_id: bytes, subject: bytes = SUBJECT) -> tuple[Any, ...]:
    return tuple(led.registry.functions.underwritingStatus(anchor_id, subject).call())


def verification(led: Any, report: bytes, who: str | None = None) -> dict[str, Any]:
    return _named(led.registry.functions.verify(who or led.a.assessor, report).call())


def in_batch(led: Any, report: bytes, proof: list[bytes], root: bytes, who: str | None = None) -> dict[str, Any]:
    return _named(led.registry.functions.verifyInBatch(who or led.a.assessor, report, proof, root).call())


def _named(raw: Any) -> dict[str, Any]:
    v = dict(zip(VERIFICATION, raw, strict=True))
    v["assessor"] = to_checksum_address(v["assessor"])
    return v


def anchor_record(led: Any, anchor_id: bytes) -> tuple[Any, ...]:
    return tuple(led.registry.functions.anchorOf(anchor_id).call())


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
        msg["reportHash"], msg["scoreBps"], msg["riskLevel"], msg["subject"], msg["replaces"],
        msg["kind"], msg["deadline"], sig.r, sig.vs)


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


def test_key_derivations_match_python(ledger) -> None:
    reg = ledger.registry.functions
    for who, h in ((ledger.a.assessor, rh("k")), (ZERO_ADDR, ZERO32), (ASSESSOR_X.address, b"\xff" * 32)):
        assert reg.anchorIdOf(who, h).call() == registry.anchor_id(who, h) == keccak(
            encode(["address", "bytes32"], [who, h]))
    assert reg.incidentSubjectOf(SUBJECT, SERVICE).call() == registry.incident_subject(SUBJECT, SERVICE) == keccak(
        encode(["bytes32", "bytes32"], [SUBJECT, SERVICE]))


def test_anchor_is_first_in_the_dispatcher() -> None:
    """via-IR dispatches by comparing selectors in ascending order: `anchor`'s parameter order
    gives it the smallest selector, which keeps anchoring one report under 50,000 gas."""
    abi = artifacts.load_artifact("AssessmentRegistry")["abi"]
    selectors = sorted((function_abi_to_4byte_selector(f), f["name"]) for f in abi if f["type"] == "function")
    assert selectors[0] == (bytes.fromhex("0101e034"), "anchor")


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
    assert fresh.functions.assessorIndexOf(ledger.a.bob).call() == 1
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
        message_types={"Anchor": eip712.ALL_TYPES["Anchor"]},
        message_data=anchor_message(rh("d"), 1),
    ).header
    on_chain = ledger.registry.functions.domainSeparator().call()
    assert on_chain == by_hand == via_eth_account
    fields, name, version, cid, contract, salt, extensions = \
        ledger.registry.functions.eip712Domain().call()
    assert fields == b"\x0f"  # name, version, chainId, verifyingContract
    assert (name, version, cid) == ("CyberCover AssessmentRegistry", "1", chain_id)
    assert contract == address
    assert salt == ZERO32
    assert extensions == []


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
    report = anchor(ledger, rh("role"))
    expect_revert(reg.revoke(report), ledger.a.alice, "AssessmentRegistryNotReportAssessor",
                  id=report, caller=ledger.a.alice)
    expect_revert(reg.renounceRole(accreditor, ledger.a.bob), ledger.a.alice,
                  "AccessControlBadConfirmation")
    r = ledger.send(reg.revokeRole(accreditor, ledger.a.alice), ledger.a.owner)
    expect_event(r, ledger.registry, "RoleRevoked", role=accreditor, account=ledger.a.alice,
                 sender=ledger.a.owner)
    expect_revert(reg.setAssessor(ledger.a.bob, 90), ledger.a.alice,
                  "AccessControlUnauthorizedAccount", account=ledger.a.alice,
                  neededRole=accreditor)
    assert reg.capabilityOf(ledger.a.bob).call() == 72


# --- setAssessor and assessor indices ----------------------------------------------------------

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


@pytest.mark.parametrize(("capability", "preferred", "indexed"),
                         [(0, False, False), (69, False, False), (70, False, True), (84, False, True),
                          (85, True, True), (100, True, True)])
def test_set_assessor_event_and_preferred_flag(ledger, capability, preferred, indexed) -> None:
    r = accredit(ledger, ledger.a.alice, capability)
    index = 2 if indexed else 0  # the session's assessor holds index 1
    ev = expect_event(r, ledger.registry, "AssessorAccredited", assessor=ledger.a.alice, index=index,
                      capability=capability, preferred=preferred)
    assert len(events(r, ledger.registry, "AssessorAccredited")) == 1
    assert ev
    assert ledger.registry.functions.capabilityOf(ledger.a.alice).call() == capability
    assert ledger.registry.functions.assessorIndexOf(ledger.a.alice).call() == index


def test_assessor_index_is_given_once_at_first_accreditation(ledger) -> None:
    reg = ledger.registry.functions
    assert (reg.assessorCount().call(), reg.assessorIndexOf(ledger.a.assessor).call()) == (1, 1)
    assert reg.assessorAt(1).call() == ledger.a.assessor
    assert reg.assessorAt(0).call() == ZERO_ADDR
    assert reg.assessorAt(2).call() == ZERO_ADDR
    accredit(ledger, ledger.a.alice, 50)  # not accredited: no index yet
    assert reg.assessorIndexOf(ledger.a.alice).call() == 0
    assert reg.assessorCount().call() == 1
    accredit(ledger, ledger.a.alice, 75)
    accredit(ledger, ledger.a.bob, 90)
    assert [reg.assessorIndexOf(w).call() for w in (ledger.a.alice, ledger.a.bob)] == [2, 3]
    # Losing and regaining accreditation keeps the index.
    r = accredit(ledger, ledger.a.alice, 0)
    expect_event(r, ledger.registry, "AssessorAccredited", assessor=ledger.a.alice, index=2, capability=0)
    accredit(ledger, ledger.a.alice, 99)
    assert reg.assessorIndexOf(ledger.a.alice).call() == 2
    assert reg.assessorCount().call() == 3
    assert [reg.assessorAt(i).call() for i in (1, 2, 3)] == [ledger.a.assessor, ledger.a.alice, ledger.a.bob]


def test_set_assessor_overwrites_and_can_remove_accreditation(ledger) -> None:
    accredit(ledger, ledger.a.alice, 95)
    anchor_as(ledger, ledger.a.alice, rh("before"))
    r = accredit(ledger, ledger.a.alice, 10)
    expect_event(r, ledger.registry, "AssessorAccredited", assessor=ledger.a.alice,
                 capability=10, preferred=False)
    expect_revert(anchor_fn(ledger, rh("after")), ledger.a.alice, "AssessmentRegistryNotAccredited",
                  assessor=ledger.a.alice, capability=10)
    # A report anchored while accredited stays authentic; the capability shown is the current one.
    v = verification(ledger, rh("before"), ledger.a.alice)
    assert v["valid"]
    assert v["assessor"] == ledger.a.alice
    assert v["assessorCapability"] == 10


# --- anchor ------------------------------------------------------------------------------------

def test_anchor_event_record_and_verify(ledger) -> None:
    report = rh("a1")
    fn = anchor_fn(ledger, report, score=7350, level=MEDIUM)
    assert fn.call({"from": ledger.a.assessor}) == aid(ledger, report)
    r = ledger.send(fn, ledger.a.assessor)
    ts = block_time(ledger, r)
    expect_event(r, ledger.registry, "ReportAnchored", reportHash=report,
                 assessor=ledger.a.assessor, subject=SUBJECT)
    # reportHash, assessor and subject are the three indexed topics; the figures are in storage.
    (log,) = [lg for lg in r["logs"] if lg["address"] == ledger.registry.address]
    assert [bytes(t) for t in log["topics"][1:]] == [
        report, bytes(12) + bytes.fromhex(ledger.a.assessor[2:]), SUBJECT]
    assert bytes(log["data"]) == b""
    assert anchor_record(ledger, aid(ledger, report)) == (1, ts, 7350, MEDIUM, PRE, False, False, SUBJECT[:16])
    assert verification(ledger, report) == {
        "valid": True, "assessor": ledger.a.assessor, "assessorCapability": 88,
        "anchoredAt": ts, "scoreBps": 7350, "riskLevel": MEDIUM, "kind": PRE,
        "subject": SUBJECT[:16], "revoked": False, "supersededBy": ZERO32}
    assert status(ledger, aid(ledger, report)) == (True, MEDIUM, PRE)
    assert ledger.registry.functions.successorOf(aid(ledger, report)).call() == ZERO32
    # The report hash alone is no key.
    assert status(ledger, report) == (False, LOW, PRE)


def test_anchor_record_packs_into_one_storage_slot(ledger) -> None:
    report, subject = rh("packed"), keccak(text="subject|packed")
    r = anchor_as(ledger, ledger.a.assessor, report, score=10_000, level=HIGH, kind=INCIDENT, subject=subject)
    ts = block_time(ledger, r)
    expected = (1 | ts << 32 | 10_000 << 72 | HIGH << 88 | INCIDENT << 96
                | int.from_bytes(subject[:16], "big") << 120)
    anchor_id = aid(ledger, report)
    # Find the mapping slot from the data rather than hard-coding the inherited layout.
    words = {}
    for base in range(12):
        key = int.from_bytes(keccak(anchor_id + base.to_bytes(32, "big")), "big")
        word = int.from_bytes(ledger.w3.eth.get_storage_at(ledger.registry.address, key), "big")
        if word:
            words[base] = (key, word)
    assert len(words) == 1, words
    (key, word), = words.values()
    assert word == expected
    assert word < 2**248
    assert ledger.w3.eth.get_storage_at(ledger.registry.address, key + 1) == ZERO32
    # The word the contract writes in one SSTORE reads back as the struct through anchorOf.
    assert anchor_record(ledger, anchor_id) == (1, ts, 10_000, HIGH, INCIDENT, False, False, subject[:16])
    ledger.send(ledger.registry.functions.revoke(anchor_id), ledger.a.assessor)
    after = int.from_bytes(ledger.w3.eth.get_storage_at(ledger.registry.address, key), "big")
    assert after == expected | 1 << 104
    successor = keccak(text="subject|packed-2")
    pre = anchor(ledger, rh("packed-pre"), subject=successor)
    anchor(ledger, rh("packed-next"), subject=successor, kind=IN_POLICY, replaces=pre)
    assert anchor_record(ledger, pre)[5:7] == (False, True)


def test_unknown_report_views_are_empty(ledger) -> None:
    unknown = aid(ledger, rh("never"))
    assert verification(ledger, rh("never")) == EMPTY_VERIFICATION
    assert anchor_record(ledger, unknown) == EMPTY_ANCHOR
    assert status(ledger, unknown) == (False, LOW, PRE)
    assert status(ledger, unknown, ZERO32) == (False, LOW, PRE)
    assert ledger.registry.functions.successorOf(unknown).call() == ZERO32


@pytest.mark.parametrize(("capability", "ok"), [(0, False), (69, False), (70, True),
                                                (84, True), (100, True)])
def test_anchor_accreditation_boundary(ledger, capability, ok) -> None:
    if capability:
        accredit(ledger, ledger.a.alice, capability)
    report = rh(f"boundary-{capability}")
    fn = anchor_fn(ledger, report, score=5000, level=HIGH, kind=INCIDENT)
    if ok:
        r = ledger.send(fn, ledger.a.alice)
        expect_event(r, ledger.registry, "ReportAnchored", reportHash=report, assessor=ledger.a.alice)
        assert verification(ledger, report, ledger.a.alice)["assessorCapability"] == capability
    else:
        expect_revert(fn, ledger.a.alice, "AssessmentRegistryNotAccredited",
                      assessor=ledger.a.alice, capability=capability)
        assert verification(ledger, report, ledger.a.alice) == EMPTY_VERIFICATION


def test_anchor_rejects_zero_hash_and_zero_subject(ledger) -> None:
    expect_revert(anchor_fn(ledger, ZERO32), ledger.a.assessor, "AssessmentRegistryZeroHash")
    expect_revert(anchor_fn(ledger, rh("no subject"), subject=ZERO32), ledger.a.assessor,
                  "AssessmentRegistryZeroSubject")


def test_accreditation_is_checked_before_the_hash(ledger) -> None:
    expect_revert(anchor_fn(ledger, ZERO32), ledger.a.outsider, "AssessmentRegistryNotAccredited",
                  assessor=ledger.a.outsider, capability=0)


@pytest.mark.parametrize("score", [10_001, 20_000, 65_535])
def test_anchor_rejects_score_above_10000(ledger, score) -> None:
    expect_revert(anchor_fn(ledger, rh("s"), score=score), ledger.a.assessor,
                  "AssessmentRegistryInvalidScore", scoreBps=score)


@pytest.mark.parametrize("score", [0, 1, 10_000])
def test_anchor_accepts_score_bounds(ledger, score) -> None:
    anchor(ledger, rh(f"score-{score}"), score=score)
    assert verification(ledger, rh(f"score-{score}"))["scoreBps"] == score


@pytest.mark.parametrize(("level", "kind"), [(4, PRE), (LOW, 3), (255, 255)])
def test_anchor_rejects_out_of_range_enums(ledger, level, kind) -> None:
    fn = anchor_fn(ledger, rh("enum"), level=level, kind=kind)
    with pytest.raises(Exception):  # noqa: B017 - the ABI decoder reverts without data
        fn.transact({"from": ledger.a.assessor})
    assert verification(ledger, rh("enum")) == EMPTY_VERIFICATION


def test_anchor_all_levels_and_kinds(ledger) -> None:
    for level in (LOW, LOWER, MEDIUM, HIGH):
        for kind in (PRE, IN_POLICY, INCIDENT):
            report, subject = rh(f"lk-{level}-{kind}"), keccak(text=f"subject-{level}-{kind}")
            previous = anchor(ledger, rh(f"lk-base-{level}"), subject=subject) if kind == IN_POLICY else ZERO32
            anchor_id = anchor(ledger, report, level=level, kind=kind, subject=subject, replaces=previous)
            assert status(ledger, anchor_id, subject) == (True, level, kind)


def test_anchor_twice_by_the_same_assessor_reverts_already_anchored(ledger) -> None:
    report = rh("dup")
    anchor(ledger, report, score=9000)
    expect_revert(anchor_fn(ledger, report, score=1, level=HIGH), ledger.a.assessor,
                  "AssessmentRegistryAlreadyAnchored", assessor=ledger.a.assessor, hash=report)
    assert verification(ledger, report)["scoreBps"] == 9000


# --- finding 9: the underwriting gate accepts the wrong report -----------------------------------

def test_finding9_report_not_bound_to_subject_refused(ledger) -> None:
    report = anchor(ledger, rh("bound"), level=LOW)
    assert status(ledger, report, SUBJECT) == (True, LOW, PRE)
    # The same live report, asked for another insured subject: not usable.
    assert status(ledger, report, OTHER_SUBJECT) == (False, LOW, PRE)
    assert status(ledger, report, ZERO32) == (False, LOW, PRE)
    assert status(ledger, report, SUBJECT[:16] + bytes(16))[0] is True  # 128 bits are compared
    assert status(ledger, report, bytes(16) + SUBJECT[16:])[0] is False
    # A report cannot be anchored for no subject at all.
    expect_revert(anchor_fn(ledger, rh("unbound"), subject=ZERO32), ledger.a.assessor,
                  "AssessmentRegistryZeroSubject")


@given(anchored=st.binary(min_size=32, max_size=32).filter(any), asked=st.binary(min_size=32, max_size=32),
       same_prefix=st.booleans())
@PROPS
def test_subject_binding_property(_ledger, anchored, asked, same_prefix) -> None:  # noqa: ANN001
    led = _ledger
    if same_prefix:
        asked = anchored[:16] + asked[16:]
    with snapshot(led):
        report = anchor(led, keccak(anchored + asked), subject=anchored)
        assert status(led, report, asked)[0] is (asked[:16] == anchored[:16])
        assert status(led, report, anchored)[0] is True


def test_finding9_assessor_losing_accreditation_stops_underwriting(ledger) -> None:
    report = anchor(ledger, rh("accredited-now"), level=LOWER)
    assert status(ledger, report) == (True, LOWER, PRE)
    for capability, live in ((69, False), (0, False), (70, True), (85, True), (10, False)):
        accredit(ledger, ledger.a.assessor, capability)
        assert status(ledger, report) == (live, LOWER, PRE), capability
        # The report stays authentic either way: provenance is not accreditation now.
        v = verification(ledger, rh("accredited-now"))
        assert v["valid"]
        assert v["assessorCapability"] == capability
    # Another assessor's accreditation does not matter to this report.
    accredit(ledger, ledger.a.assessor, 88)
    accredit(ledger, ledger.a.alice, 0)
    assert status(ledger, report)[0] is True


def test_finding9_in_policy_report_only_as_successor_of_same_subject(ledger) -> None:
    pre = anchor(ledger, rh("pre"), level=MEDIUM)
    # No predecessor: refused.
    expect_revert(anchor_fn(ledger, rh("ip-alone"), kind=IN_POLICY), ledger.a.assessor,
                  "AssessmentRegistryInPolicyNotSuccessor", reportHash=rh("ip-alone"))
    # A predecessor of another subject: refused.
    other = anchor(ledger, rh("pre-other"), subject=OTHER_SUBJECT)
    expect_revert(anchor_fn(ledger, rh("ip-cross"), kind=IN_POLICY, replaces=other), ledger.a.assessor,
                  "AssessmentRegistrySubjectMismatch", previous=other)
    # An incident report is no predecessor of an in-policy report (nor the other way round).
    incident = anchor(ledger, rh("inc"), kind=INCIDENT, level=HIGH)
    expect_revert(anchor_fn(ledger, rh("ip-on-incident"), kind=IN_POLICY, replaces=incident), ledger.a.assessor,
                  "AssessmentRegistryKindMismatch", previous=incident, previousKind=INCIDENT, kind=IN_POLICY)
    # Another assessor's report, a revoked one and a superseded one: refused.
    accredit(ledger, ledger.a.alice, 90)
    expect_revert(anchor_fn(ledger, rh("ip-foreign"), kind=IN_POLICY, replaces=pre), ledger.a.alice,
                  "AssessmentRegistryNotReportAssessor", id=pre, caller=ledger.a.alice)
    revoked = anchor(ledger, rh("pre-revoked"))
    ledger.send(ledger.registry.functions.revoke(revoked), ledger.a.assessor)
    expect_revert(anchor_fn(ledger, rh("ip-on-revoked"), kind=IN_POLICY, replaces=revoked), ledger.a.assessor,
                  "AssessmentRegistryAlreadyRevoked", id=revoked)
    for refused in ("ip-alone", "ip-cross", "ip-on-incident", "ip-on-revoked"):
        assert verification(ledger, rh(refused)) == EMPTY_VERIFICATION
    # The proper re-rating: pre-underwriting → in-policy → in-policy, same subject.
    first = anchor(ledger, rh("ip-1"), kind=IN_POLICY, level=LOWER, replaces=pre)
    assert status(ledger, pre) == (False, MEDIUM, PRE)
    assert status(ledger, first) == (True, LOWER, IN_POLICY)
    expect_revert(anchor_fn(ledger, rh("ip-fork"), kind=IN_POLICY, replaces=pre), ledger.a.assessor,
                  "AssessmentRegistryAlreadySuperseded", previous=pre, successor=first)
    second = anchor(ledger, rh("ip-2"), kind=IN_POLICY, level=LOW, replaces=first)
    assert status(ledger, first)[0] is False
    assert status(ledger, second) == (True, LOW, IN_POLICY)
    assert status(ledger, second, OTHER_SUBJECT)[0] is False
    # A renewal's pre-underwriting assessment may follow an in-policy one.
    renewal = anchor(ledger, rh("renewal"), kind=PRE, replaces=second)
    assert status(ledger, renewal) == (True, LOWER, PRE)
    assert status(ledger, second)[0] is False


def test_finding9_incident_report_never_underwrites(ledger) -> None:
    binding = registry.incident_subject(SUBJECT, SERVICE)
    incident = anchor(ledger, rh("incident"), kind=INCIDENT, level=HIGH, score=0, subject=binding)
    # The claim decision's question: a live incident report for this subject and service.
    assert status(ledger, incident, binding) == (True, HIGH, INCIDENT)
    assert status(ledger, incident, registry.incident_subject(SUBJECT, eip712.service_id("other")))[0] is False
    assert status(ledger, incident, registry.incident_subject(OTHER_SUBJECT, SERVICE))[0] is False
    # Asked for the insured subject itself (underwriting), it is not live; whenever it is live the
    # kind says Incident, which the book refuses for underwriting.
    assert status(ledger, incident, SUBJECT) == (False, HIGH, INCIDENT)
    # It cannot be turned into an underwriting report by supersession, nor replace one.
    pre = anchor(ledger, rh("pre-for-incident"), subject=binding)
    for kind, replaces, previous_kind in ((PRE, incident, INCIDENT), (IN_POLICY, incident, INCIDENT),
                                          (INCIDENT, pre, PRE)):
        expect_revert(anchor_fn(ledger, rh(f"swap-{kind}"), kind=kind, subject=binding, replaces=replaces),
                      ledger.a.assessor, "AssessmentRegistryKindMismatch", previous=replaces,
                      previousKind=previous_kind, kind=kind)
    # A corrected incident report replaces the first one.
    corrected = anchor(ledger, rh("incident-v2"), kind=INCIDENT, level=HIGH, subject=binding, replaces=incident)
    assert status(ledger, incident, binding)[0] is False
    assert status(ledger, corrected, binding) == (True, HIGH, INCIDENT)


def test_finding9_front_running_anchor_cannot_take_a_report(ledger, x_accredited) -> None:
    victim, hostile = ledger.a.assessor, ledger.a.alice
    accredit(ledger, hostile, 100)
    report = rh("victim's report")
    # The hostile accredited assessor sees the hash (mempool, a shared draft) and anchors it first,
    # with its own figures and subject.
    r = anchor_as(ledger, hostile, report, score=9999, level=LOW, subject=OTHER_SUBJECT)
    expect_event(r, ledger.registry, "ReportAnchored", reportHash=report, assessor=hostile)
    # The victim still anchors its report, under its own id, with its own figures.
    r = anchor_as(ledger, victim, report, score=6500, level=MEDIUM)
    expect_event(r, ledger.registry, "ReportAnchored", reportHash=report, assessor=victim, subject=SUBJECT)
    mine, theirs = aid(ledger, report, victim), aid(ledger, report, hostile)
    assert mine != theirs
    v = verification(ledger, report, victim)
    assert v["valid"]
    assert v["assessor"] == victim
    assert (v["scoreBps"], v["riskLevel"]) == (6500, MEDIUM)
    assert status(ledger, mine) == (True, MEDIUM, PRE)
    # The hostile anchor is its own: it names the hostile assessor and binds its subject only.
    assert verification(ledger, report, hostile)["assessor"] == hostile
    assert status(ledger, theirs) == (False, LOW, PRE)
    # It can neither supersede nor revoke the victim's anchor.
    expect_revert(anchor_fn(ledger, rh("takeover"), replaces=mine), hostile,
                  "AssessmentRegistryNotReportAssessor", id=mine, caller=hostile)
    expect_revert(ledger.registry.functions.revoke(mine), hostile, "AssessmentRegistryNotReportAssessor",
                  id=mine, caller=hostile)
    # A relayer holding X's signature can anchor it only as X, even after someone else anchored the hash.
    msg = anchor_message(report, ledger.now() + 3600, score=7000, level=LOWER)
    fn = by_sig(ledger, msg, sign_anchor(ledger, x_accredited, msg))
    assert fn.call({"from": hostile}) == [x_accredited.address, aid(ledger, report, x_accredited.address)]
    ledger.send(fn, hostile)
    assert verification(ledger, report, x_accredited.address)["scoreBps"] == 7000
    # Batches too: another assessor anchoring a root first does not stop its assessor.
    root = rh("victim's batch root")
    ledger.send(ledger.registry.functions.anchorBatch(root, 10, "hostile"), hostile)
    r = ledger.send(ledger.registry.functions.anchorBatch(root, 10, "mine"), victim)
    expect_event(r, ledger.registry, "BatchAnchored", root=root, assessor=victim, uri="mine")
    assert tuple(ledger.registry.functions.batchOf(aid(ledger, root, victim)).call())[0] == victim


HOSTILE_MOVES = ("anchor_same_hash", "supersede_victim", "revoke_victim", "re_rate_own")


@given(moves=st.lists(st.sampled_from(HOSTILE_MOVES), min_size=1, max_size=5), data=st.data(),
       figures=st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.sampled_from([PRE, INCIDENT])))
@PROPS
def test_front_running_property(_ledger, moves, data, figures) -> None:  # noqa: ANN001
    """Whatever another accredited assessor does before or after, the victim's report hash anchors
    under the victim's id with the victim's figures and stays usable for the victim's subject."""
    led = _ledger
    victim, hostile = led.a.assessor, led.a.alice
    report = rh("contested")
    mine, theirs = aid(led, report, victim), aid(led, report, hostile)
    victim_at = data.draw(st.integers(0, len(moves)), label="victim anchors before move")
    score, level, kind = figures
    with snapshot(led):
        accredit(led, hostile, 100)
        for i in range(len(moves) + 1):
            if i == victim_at:
                anchor_as(led, victim, report, score=4321, level=HIGH)
            if i == len(moves):
                break
            move = moves[i]
            if move == "anchor_same_hash" and not anchor_record(led, theirs)[1]:
                anchor_as(led, hostile, report, score=score, level=level, kind=kind, subject=OTHER_SUBJECT)
            elif move == "re_rate_own" and anchor_record(led, theirs)[1] and not anchor_record(led, theirs)[6]:
                anchor_as(led, hostile, rh(f"next-{i}"), kind=kind, subject=OTHER_SUBJECT, replaces=theirs)
            elif move in ("supersede_victim", "revoke_victim"):
                fn = (led.registry.functions.revoke(mine) if move == "revoke_victim"
                      else anchor_fn(led, rh(f"steal-{i}"), replaces=mine))
                if anchor_record(led, mine)[1]:
                    expect_revert(fn, hostile, "AssessmentRegistryNotReportAssessor", id=mine, caller=hostile)
                else:
                    expect_revert(fn, hostile, "AssessmentRegistryUnknownReport", anchorId=mine)
        v = verification(led, report, victim)
        assert (v["valid"], v["assessor"], v["scoreBps"], v["riskLevel"], v["subject"]) == (
            True, victim, 4321, HIGH, SUBJECT[:16])
        assert status(led, mine) == (True, HIGH, PRE)


@given(capability=st.integers(0, 100), revoked=st.booleans(), superseded=st.booleans(),
       kind=st.sampled_from([PRE, IN_POLICY, INCIDENT]), same_subject=st.booleans())
@PROPS
def test_underwriting_gate_matches_its_rule(_ledger, capability, revoked, superseded, kind,
                                            same_subject) -> None:  # noqa: ANN001
    """live ⇔ singly anchored ∧ ¬revoked ∧ ¬superseded ∧ assessor capability ≥ 70 now ∧ subject."""
    led = _ledger
    with snapshot(led):
        previous = anchor(led, rh("gate-pre")) if kind == IN_POLICY else ZERO32
        report = anchor(led, rh("gate"), kind=kind, level=MEDIUM, replaces=previous)
        if superseded:
            anchor(led, rh("gate-next"), kind=PRE if kind != INCIDENT else INCIDENT, replaces=report)
        if revoked:
            led.send(led.registry.functions.revoke(report), led.a.owner)
        accredit(led, led.a.assessor, capability)
        live = not revoked and not superseded and capability >= 70 and same_subject
        assert status(led, report, SUBJECT if same_subject else OTHER_SUBJECT) == (live, MEDIUM, kind)


# --- supersession ------------------------------------------------------------------------------

def test_supersede_through_replaces(ledger) -> None:
    old = anchor(ledger, rh("v1"), level=HIGH)
    r = anchor_as(ledger, ledger.a.assessor, rh("v2"), level=LOWER, kind=IN_POLICY, replaces=old)
    new = aid(ledger, rh("v2"))
    expect_event(r, ledger.registry, "ReportSuperseded", previous=old, successor=new)
    expect_event(r, ledger.registry, "ReportAnchored", reportHash=rh("v2"))
    assert ledger.registry.functions.successorOf(old).call() == new
    assert ledger.registry.functions.successorOf(new).call() == ZERO32
    v_old = verification(ledger, rh("v1"))
    # A superseded report is still authentic; it only names its successor.
    assert v_old["valid"]
    assert not v_old["revoked"]
    assert v_old["supersededBy"] == new
    assert v_old["riskLevel"] == HIGH
    assert status(ledger, old) == (False, HIGH, PRE)
    assert status(ledger, new) == (True, LOWER, IN_POLICY)
    # The chain continues from the newest report.
    newest = anchor(ledger, rh("v3"), replaces=new)
    assert ledger.registry.functions.successorOf(new).call() == newest
    assert ledger.registry.functions.successorOf(old).call() == new
    assert status(ledger, new)[0] is False
    assert status(ledger, newest)[0] is True


def test_supersede_twice_reverts_already_superseded(ledger) -> None:
    old = anchor(ledger, rh("s1"))
    new = anchor(ledger, rh("s2"), replaces=old)
    expect_revert(anchor_fn(ledger, rh("s3"), replaces=old), ledger.a.assessor,
                  "AssessmentRegistryAlreadySuperseded", previous=old, successor=new)
    assert verification(ledger, rh("s3")) == EMPTY_VERIFICATION  # nothing was anchored


def test_supersede_by_another_assessor_reverts(ledger) -> None:
    old = anchor(ledger, rh("mine"))
    accredit(ledger, ledger.a.alice, 99)
    expect_revert(anchor_fn(ledger, rh("theirs"), replaces=old), ledger.a.alice,
                  "AssessmentRegistryNotReportAssessor", id=old, caller=ledger.a.alice)
    assert ledger.registry.functions.successorOf(old).call() == ZERO32
    assert verification(ledger, rh("theirs"), ledger.a.alice) == EMPTY_VERIFICATION


def test_supersede_unknown_report_reverts(ledger) -> None:
    # The bare report hash is no anchor id either.
    anchor(ledger, rh("known"))
    for ghost in (aid(ledger, rh("ghost")), rh("known")):
        expect_revert(anchor_fn(ledger, rh("n"), replaces=ghost), ledger.a.assessor,
                      "AssessmentRegistryUnknownReport", anchorId=ghost)


def test_cannot_supersede_a_revoked_report(ledger) -> None:
    old = anchor(ledger, rh("revoked-old"))
    ledger.send(ledger.registry.functions.revoke(old), ledger.a.assessor)
    expect_revert(anchor_fn(ledger, rh("r"), replaces=old), ledger.a.assessor,
                  "AssessmentRegistryAlreadyRevoked", id=old)


def test_cannot_supersede_across_subjects(ledger) -> None:
    old = anchor(ledger, rh("subject-a"))
    expect_revert(anchor_fn(ledger, rh("subject-b"), subject=OTHER_SUBJECT, replaces=old), ledger.a.assessor,
                  "AssessmentRegistrySubjectMismatch", previous=old)
    assert status(ledger, old)[0] is True


def test_revoking_the_successor_leaves_the_chain_without_a_live_report(ledger) -> None:
    old = anchor(ledger, rh("c1"))
    new = anchor(ledger, rh("c2"), replaces=old)
    ledger.send(ledger.registry.functions.revoke(new), ledger.a.assessor)
    assert status(ledger, old)[0] is False
    assert status(ledger, new)[0] is False
    # The superseded report cannot be superseded again, nor can the revoked one.
    expect_revert(anchor_fn(ledger, rh("c3"), replaces=old), ledger.a.assessor,
                  "AssessmentRegistryAlreadySuperseded", previous=old, successor=new)
    expect_revert(anchor_fn(ledger, rh("c3"), replaces=new), ledger.a.assessor,
                  "AssessmentRegistryAlreadyRevoked", id=new)


# --- anchorBySig -------------------------------------------------------------------------------

def test_anchor_by_sig_relayed(ledger, x_accredited) -> None:
    msg = anchor_message(rh("sig"), ledger.now() + 3600, score=6100, level=HIGH, kind=INCIDENT)
    sig = sign_anchor(ledger, x_accredited, msg)
    assert sig.signer == x_accredited.address
    fn = by_sig(ledger, msg, sig)
    assert fn.call({"from": ledger.a.relayer}) == [x_accredited.address, aid(ledger, rh("sig"), x_accredited.address)]
    r = ledger.send(fn, ledger.a.relayer)
    expect_event(r, ledger.registry, "ReportAnchored", reportHash=rh("sig"),
                 assessor=x_accredited.address, subject=SUBJECT)
    v = verification(ledger, rh("sig"), x_accredited.address)
    assert v["valid"]
    assert v["assessor"] == x_accredited.address
    assert v["assessorCapability"] == 90
    assert v["anchoredAt"] == block_time(ledger, r)
    assert (v["scoreBps"], v["riskLevel"], v["kind"]) == (6100, HIGH, INCIDENT)
    # The relayer is neither accredited nor recorded.
    assert ledger.registry.functions.capabilityOf(ledger.a.relayer).call() == 0
    assert verification(ledger, rh("sig"), ledger.a.relayer) == EMPTY_VERIFICATION


def test_anchor_by_sig_supersedes_own_report(ledger, x_accredited) -> None:
    x = x_accredited.address
    first = anchor_message(rh("x1"), ledger.now() + 3600)
    ledger.send(by_sig(ledger, first, sign_anchor(ledger, x_accredited, first)), ledger.a.relayer)
    second = anchor_message(rh("x2"), ledger.now() + 3600, kind=IN_POLICY, replaces=aid(ledger, rh("x1"), x))
    r = ledger.send(by_sig(ledger, second, sign_anchor(ledger, x_accredited, second)),
                    ledger.a.bob)
    expect_event(r, ledger.registry, "ReportSuperseded", previous=aid(ledger, rh("x1"), x),
                 successor=aid(ledger, rh("x2"), x))
    assert verification(ledger, rh("x1"), x)["supersededBy"] == aid(ledger, rh("x2"), x)
    # X may not supersede the directly anchored report of another assessor.
    theirs = anchor(ledger, rh("theirs"))
    third = anchor_message(rh("x3"), ledger.now() + 3600, replaces=theirs)
    expect_revert(by_sig(ledger, third, sign_anchor(ledger, x_accredited, third)),
                  ledger.a.relayer, "AssessmentRegistryNotReportAssessor", id=theirs, caller=x)


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
    assert verification(ledger, rh("unacc"), ASSESSOR_X.address)["assessor"] == ASSESSOR_X.address


def test_anchor_by_sig_expires_after_deadline(ledger, x_accredited) -> None:
    deadline = ledger.now() + 600
    msg = anchor_message(rh("late"), deadline)
    sig = sign_anchor(ledger, x_accredited, msg)
    target = ledger.travel(601)  # the next block is one second past the deadline
    assert target == deadline + 1
    expect_revert(by_sig(ledger, msg, sig), ledger.a.relayer,
                  "AssessmentRegistrySignatureExpired", deadline=deadline, nowTime=target)
    assert verification(ledger, rh("late"), x_accredited.address) == EMPTY_VERIFICATION


def test_anchor_by_sig_valid_at_the_deadline_itself(ledger, x_accredited) -> None:
    target = ledger.travel(1000)  # the next block is mined at `target`
    msg = anchor_message(rh("edge"), target)
    r = ledger.send(by_sig(ledger, msg, sign_anchor(ledger, x_accredited, msg)),
                    ledger.a.relayer)
    assert block_time(ledger, r) == target
    assert verification(ledger, rh("edge"), x_accredited.address)["anchoredAt"] == target


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
                      assessor=x_accredited.address, hash=rh("replay"))


@pytest.mark.parametrize(("field", "value"), [
    ("reportHash", rh("forged")), ("scoreBps", 9999), ("riskLevel", LOW), ("kind", INCIDENT),
    ("subject", OTHER_SUBJECT), ("deadline", None),
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
    assert verification(ledger, tampered["reportHash"], x_accredited.address) == EMPTY_VERIFICATION


def test_anchor_by_sig_tampered_replaces_recovers_someone_else(ledger, x_accredited) -> None:
    target = anchor(ledger, rh("target"))
    msg = anchor_message(rh("orig-r"), ledger.now() + 3600)
    sig = sign_anchor(ledger, x_accredited, msg)
    tampered = {**msg, "replaces": target}
    expect_revert(by_sig(ledger, tampered, sig), ledger.a.relayer,
                  "AssessmentRegistryNotAccredited",
                  assessor=recovered(ledger, "Anchor", tampered, sig), capability=0)
    assert ledger.registry.functions.successorOf(target).call() == ZERO32


def test_anchor_by_sig_rejects_malformed_signatures(ledger, x_accredited) -> None:
    msg = anchor_message(rh("malformed"), ledger.now() + 3600)
    sig = sign_anchor(ledger, x_accredited, msg)
    reg = ledger.registry.functions
    args = (msg["reportHash"], msg["scoreBps"], msg["riskLevel"], msg["subject"], msg["replaces"],
            msg["kind"], msg["deadline"])
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
    expect_revert(ledger.registry.functions.anchorBySig(rh("p"), 1, LOW, SUBJECT, ZERO32, PRE,
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
    fn = ledger.registry.functions.anchorBatch(tree.root, BATCH_SIZE, uri)
    assert fn.call({"from": ledger.a.assessor}) == aid(ledger, tree.root)
    r = ledger.send(fn, ledger.a.assessor)
    ts = block_time(ledger, r)
    ev = expect_event(r, ledger.registry, "BatchAnchored", root=tree.root,
                      assessor=ledger.a.assessor, count=BATCH_SIZE, uri=uri)
    assert ev["uri"] == uri
    assert tuple(ledger.registry.functions.batchOf(aid(ledger, tree.root)).call()) == (
        ledger.a.assessor, ts, BATCH_SIZE, False)
    expected = {**EMPTY_VERIFICATION, "valid": True, "assessor": ledger.a.assessor,
                "assessorCapability": 88, "anchoredAt": ts}
    for i in _sample(BATCH_SIZE):
        assert in_batch(ledger, reports[i], tree.proof(i), tree.root) == expected, i
    # Batch members are not singly anchored, and the batch is another assessor's only for it.
    assert verification(ledger, reports[0]) == EMPTY_VERIFICATION
    assert status(ledger, aid(ledger, reports[0]))[0] is False
    assert in_batch(ledger, reports[0], tree.proof(0), tree.root, ledger.a.alice) == EMPTY_VERIFICATION


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
    assert tree.root == merkle.leaf_hash(only)
    assert tree.proof(0) == []
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
    assert tuple(reg.batchOf(aid(ledger, tree.root)).call()) == (ZERO_ADDR, 0, 0, False)
    ledger.send(reg.anchorBatch(tree.root, BATCH_SIZE, "u"), ledger.a.assessor)
    expect_revert(reg.anchorBatch(tree.root, BATCH_SIZE, "u2"), ledger.a.assessor,
                  "AssessmentRegistryAlreadyAnchored", assessor=ledger.a.assessor, hash=tree.root)
    assert tuple(reg.batchOf(aid(ledger, tree.root)).call())[0] == ledger.a.assessor


def test_batch_and_single_namespaces_are_separate(ledger, batch) -> None:
    _, tree = batch
    ledger.send(ledger.registry.functions.anchorBatch(tree.root, BATCH_SIZE, "u"),
                ledger.a.assessor)
    # A single report whose hash equals a batch root is a different record (same id, other map).
    single = anchor(ledger, tree.root)
    assert single == aid(ledger, tree.root)
    assert verification(ledger, tree.root)["valid"]
    ledger.send(ledger.registry.functions.revoke(single), ledger.a.assessor)
    assert tuple(ledger.registry.functions.batchOf(single).call())[3] is False


def test_anchor_batch_by_sig(ledger, batch, x_accredited) -> None:
    reports, tree = batch
    x = x_accredited.address
    msg = {"root": tree.root, "count": BATCH_SIZE, "uri": "https://reports.example/b/7",
           "deadline": ledger.now() + 3600}
    sig = eip712.sign_anchor_batch(x_accredited.key, reg_domain(ledger), msg)
    fn = batch_by_sig(ledger, msg, sig)
    assert fn.call({"from": ledger.a.relayer}) == [x, aid(ledger, tree.root, x)]
    r = ledger.send(fn, ledger.a.relayer)
    expect_event(r, ledger.registry, "BatchAnchored", root=tree.root,
                 assessor=x, count=BATCH_SIZE, uri=msg["uri"])
    assert tuple(ledger.registry.functions.batchOf(aid(ledger, tree.root, x)).call()) == (
        x, block_time(ledger, r), BATCH_SIZE, False)
    v = in_batch(ledger, reports[321], tree.proof(321), tree.root, x)
    assert v["valid"]
    assert v["assessor"] == x
    assert v["assessorCapability"] == 90
    expect_revert(fn, ledger.a.relayer, "AssessmentRegistryAlreadyAnchored", assessor=x, hash=tree.root)


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
    assert tuple(ledger.registry.functions.batchOf(aid(ledger, msg["root"], x_accredited.address)).call())[1] == 0


# --- revocation --------------------------------------------------------------------------------

@pytest.mark.parametrize("by", ["assessor", "owner"])
def test_revoke_by_assessor_or_admin(ledger, by) -> None:
    report = anchor(ledger, rh(f"rev-{by}"), level=MEDIUM, kind=INCIDENT)
    revoker = getattr(ledger.a, by)
    r = ledger.send(ledger.registry.functions.revoke(report), revoker)
    expect_event(r, ledger.registry, "ReportRevoked", anchorId=report, by=revoker)
    v = verification(ledger, rh(f"rev-{by}"))
    assert v["revoked"]
    assert not v["valid"]
    assert v["assessor"] == ledger.a.assessor
    assert v["riskLevel"] == MEDIUM
    assert anchor_record(ledger, report)[5] is True
    assert status(ledger, report) == (False, MEDIUM, INCIDENT)
    # Revocation is final: the assessor cannot anchor the hash again.
    expect_revert(anchor_fn(ledger, rh(f"rev-{by}")), ledger.a.assessor,
                  "AssessmentRegistryAlreadyAnchored", assessor=ledger.a.assessor, hash=rh(f"rev-{by}"))


def test_revoke_errors(ledger) -> None:
    report = aid(ledger, rh("rev-errors"))
    reg = ledger.registry.functions
    expect_revert(reg.revoke(report), ledger.a.assessor, "AssessmentRegistryUnknownReport",
                  anchorId=report)
    anchor(ledger, rh("rev-errors"))
    expect_revert(reg.revoke(rh("rev-errors")), ledger.a.assessor, "AssessmentRegistryUnknownReport",
                  anchorId=rh("rev-errors"))  # the hash is no id
    accredit(ledger, ledger.a.alice, 100)
    for who in (ledger.a.outsider, ledger.a.alice, ledger.a.relayer):
        expect_revert(reg.revoke(report), who, "AssessmentRegistryNotReportAssessor",
                      id=report, caller=who)
    assert verification(ledger, rh("rev-errors"))["valid"]
    ledger.send(reg.revoke(report), ledger.a.assessor)
    for who in (ledger.a.assessor, ledger.a.owner):
        expect_revert(reg.revoke(report), who, "AssessmentRegistryAlreadyRevoked", id=report)
    # Authorisation is checked before the revoked flag.
    expect_revert(reg.revoke(report), ledger.a.outsider, "AssessmentRegistryNotReportAssessor",
                  id=report, caller=ledger.a.outsider)


def test_revoke_a_superseded_report(ledger) -> None:
    old = anchor(ledger, rh("sr1"))
    new = anchor(ledger, rh("sr2"), replaces=old)
    ledger.send(ledger.registry.functions.revoke(old), ledger.a.owner)
    v = verification(ledger, rh("sr1"))
    assert v["revoked"]
    assert not v["valid"]
    assert v["supersededBy"] == new
    assert status(ledger, new)[0] is True


def test_de_accredited_assessor_may_still_revoke(ledger) -> None:
    report = anchor(ledger, rh("deacc"))
    accredit(ledger, ledger.a.assessor, 0)
    r = ledger.send(ledger.registry.functions.revoke(report), ledger.a.assessor)
    expect_event(r, ledger.registry, "ReportRevoked", anchorId=report, by=ledger.a.assessor)


def test_revoke_relayed_report_by_admin_only(ledger, x_accredited) -> None:
    msg = anchor_message(rh("relayed-rev"), ledger.now() + 3600)
    ledger.send(by_sig(ledger, msg, sign_anchor(ledger, x_accredited, msg)), ledger.a.relayer)
    report = aid(ledger, rh("relayed-rev"), x_accredited.address)
    expect_revert(ledger.registry.functions.revoke(report), ledger.a.relayer,
                  "AssessmentRegistryNotReportAssessor", id=report, caller=ledger.a.relayer)
    r = ledger.send(ledger.registry.functions.revoke(report), ledger.a.owner)
    expect_event(r, ledger.registry, "ReportRevoked", by=ledger.a.owner)


@pytest.mark.parametrize("by", ["assessor", "owner"])
def test_revoke_batch(ledger, batch, by) -> None:
    reports, tree = batch
    ledger.send(ledger.registry.functions.anchorBatch(tree.root, BATCH_SIZE, "u"),
                ledger.a.assessor)
    batch_id = aid(ledger, tree.root)
    revoker = getattr(ledger.a, by)
    r = ledger.send(ledger.registry.functions.revokeBatch(batch_id), revoker)
    expect_event(r, ledger.registry, "BatchRevoked", batchId=batch_id, by=revoker)
    assert ledger.registry.functions.batchOf(batch_id).call()[3] is True
    for i in (0, 500, 999):
        v = in_batch(ledger, reports[i], tree.proof(i), tree.root)
        assert v["revoked"]
        assert not v["valid"]
        assert v["assessor"] == ledger.a.assessor
        assert v["anchoredAt"] > 0
    # A wrong proof still yields nothing at all.
    assert in_batch(ledger, reports[0], tree.proof(1), tree.root) == EMPTY_VERIFICATION
    expect_revert(ledger.registry.functions.anchorBatch(tree.root, BATCH_SIZE, "again"),
                  ledger.a.assessor, "AssessmentRegistryAlreadyAnchored", assessor=ledger.a.assessor,
                  hash=tree.root)


def test_revoke_batch_errors(ledger, batch) -> None:
    _, tree = batch
    reg = ledger.registry.functions
    batch_id = aid(ledger, tree.root)
    expect_revert(reg.revokeBatch(batch_id), ledger.a.owner, "AssessmentRegistryUnknownBatch",
                  batchId=batch_id)
    ledger.send(reg.anchorBatch(tree.root, BATCH_SIZE, "u"), ledger.a.assessor)
    # A singly anchored report's id is no batch id; a batch id is no single anchor.
    single = anchor(ledger, rh("single"))
    expect_revert(reg.revokeBatch(single), ledger.a.assessor,
                  "AssessmentRegistryUnknownBatch", batchId=single)
    expect_revert(reg.revoke(batch_id), ledger.a.assessor, "AssessmentRegistryUnknownReport",
                  anchorId=batch_id)
    accredit(ledger, ledger.a.alice, 90)
    for who in (ledger.a.outsider, ledger.a.alice):
        expect_revert(reg.revokeBatch(batch_id), who, "AssessmentRegistryNotReportAssessor",
                      id=batch_id, caller=who)
    ledger.send(reg.revokeBatch(batch_id), ledger.a.assessor)
    expect_revert(reg.revokeBatch(batch_id), ledger.a.owner, "AssessmentRegistryAlreadyRevoked",
                  id=batch_id)


# --- underwritingStatus ------------------------------------------------------------------------

def test_underwriting_status_lifecycle(ledger) -> None:
    a, c = aid(ledger, rh("u1")), aid(ledger, rh("u3"))
    assert status(ledger, a) == (False, LOW, PRE)
    anchor(ledger, rh("u1"), level=HIGH, kind=PRE)
    assert status(ledger, a) == (True, HIGH, PRE)
    b = anchor(ledger, rh("u2"), level=LOW, kind=IN_POLICY, replaces=a)
    assert status(ledger, a) == (False, HIGH, PRE)
    assert status(ledger, b) == (True, LOW, IN_POLICY)
    anchor(ledger, rh("u3"), level=MEDIUM, kind=PRE)
    ledger.send(ledger.registry.functions.revoke(c), ledger.a.assessor)
    assert status(ledger, c) == (False, MEDIUM, PRE)
    # De-accreditation of the assessor stops the reports it anchored from underwriting.
    accredit(ledger, ledger.a.assessor, 0)
    assert status(ledger, b) == (False, LOW, IN_POLICY)

