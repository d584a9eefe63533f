"""OutageOracle: config, quorum verification, window rule, extension, replay and errors."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from contracts import eip712
from tests.chain import ORACLES, QUORUM, events, expect_event, expect_revert, signer

SERVICE = eip712.service_id("https://api.covered.example")


def test_config_view_and_event(ledger) -> None:
    version, quorum, signers = ledger.oracle.functions.config().call()
    assert (version, quorum) == (1, QUORUM)
    assert signers == [o.address for o in ORACLES]
    new = [signer(f"n{i}").address for i in range(5)]
    r = ledger.send(ledger.oracle.functions.setConfig(new, 4), ledger.a.owner)
    expect_event(r, ledger.oracle, "OracleConfigSet", version=2, quorum=4)
    assert list(ledger.oracle.functions.config().call()) == [2, 4, new]


@pytest.mark.parametrize(
    ("count", "quorum"), [(0, 0), (3, 0), (3, 4), (33, 3), (4, 2), (3, 1), (2, 1)]
)
def test_invalid_config(ledger, count, quorum) -> None:
    """Finding 10: quorum 1 (or any minority) let the admin forge outages; a strict majority is required."""
    signers = [signer(f"c{i}").address for i in range(count)]
    expect_revert(ledger.oracle.functions.setConfig(signers, quorum), ledger.a.owner,
                  "OutageOracleInvalidConfig", signerCount=count, quorum=quorum)


def test_config_rejects_zero_and_duplicate_signers(ledger) -> None:
    a = signer("dup").address
    expect_revert(ledger.oracle.functions.setConfig([a, a], 2), ledger.a.owner,
                  "OutageOracleInvalidConfigSigner", signer=a)
    zero = "0x" + "00" * 20
    expect_revert(ledger.oracle.functions.setConfig([a, zero], 2), ledger.a.owner,
                  "OutageOracleInvalidConfigSigner", signer=zero)


def test_only_admin_sets_config(ledger) -> None:
    expect_revert(ledger.oracle.functions.setConfig([ledger.a.outsider], 1), ledger.a.outsider,
                  "AccessControlUnauthorizedAccount", account=ledger.a.outsider)


def test_quorum_verifies_window_and_emits(ledger) -> None:
    now = ledger.now()
    r = ledger.verify_outage(SERVICE, now - 3600, now - 60)
    ev = expect_event(r, ledger.oracle, "OutageVerified", serviceId=SERVICE, index=0,
                      start=now - 3600, end=now - 60, ongoing=False, configVersion=1)
    assert ev["signers"] == 0b0111
    assert ledger.oracle.functions.windowCount(SERVICE).call() == 1
    w = ledger.oracle.functions.windowAt(SERVICE, 0).call()
    assert tuple(w[:2]) == (now - 3600, now - 60)
    assert w[4] is False


def test_verified_window_is_qth_start_to_qth_end(ledger) -> None:
    now = ledger.now()
    spans = [(now - 5000, now - 900), (now - 4000, now - 1000), (now - 4500, now - 500), (now - 3000, now - 100)]
    reports = [ledger.signed_report(o, SERVICE, s, e) for o, (s, e) in zip(ORACLES, spans, strict=True)]
    ledger.send(ledger.oracle.functions.submit(SERVICE, 1, reports), ledger.a.relayer)
    starts = sorted(s for s, _ in spans)
    ends = sorted((e for _, e in spans), reverse=True)
    w = ledger.oracle.functions.windowAt(SERVICE, 0).call()
    assert (w[0], w[1]) == (starts[QUORUM - 1], ends[QUORUM - 1])


def test_below_quorum_reverts(ledger) -> None:
    now = ledger.now()
    reports = [ledger.signed_report(o, SERVICE, now - 100, now - 10) for o in ORACLES[:2]]
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, reports), ledger.a.relayer,
                  "OutageOracleQuorumNotMet", reports=2, quorum=QUORUM)


def test_unknown_and_duplicate_signers_revert(ledger) -> None:
    now = ledger.now()
    mallory = signer("mallory")
    reports = [ledger.signed_report(o, SERVICE, now - 100, now - 10) for o in (*ORACLES[:2], mallory)]
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, reports), ledger.a.relayer,
                  "OutageOracleUnknownSigner", signer=mallory.address)
    dup = [ledger.signed_report(ORACLES[0], SERVICE, now - 100, now - 10, seq=s) for s in (1, 2, 3)]
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, dup), ledger.a.relayer,
                  "OutageOracleDuplicateSigner", signer=ORACLES[0].address)


def test_report_for_another_chain_or_contract_is_rejected(ledger) -> None:
    now = ledger.now()
    for dom in (eip712.oracle_domain(1, ledger.oracle.address),
                eip712.oracle_domain(ledger.w3.eth.chain_id, ledger.registry.address)):
        reports = [ledger.signed_report(o, SERVICE, now - 100, now - 10, domain=dom) for o in ORACLES[:3]]
        decoded = expect_revert(ledger.oracle.functions.submit(SERVICE, 1, reports), ledger.a.relayer,
                                "OutageOracleUnknownSigner")
        assert decoded.params["signer"].lower() not in {o.address.lower() for o in ORACLES}


def test_tampered_report_is_rejected(ledger) -> None:
    now = ledger.now()
    reports = [list(ledger.signed_report(o, SERVICE, now - 100, now - 10)) for o in ORACLES[:3]]
    reports[2][1] = now - 5  # stretch one window after signing
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, [tuple(r) for r in reports]),
                  ledger.a.relayer, "OutageOracleUnknownSigner")


def test_invalid_signature_bytes(ledger) -> None:
    now = ledger.now()
    reports = [list(ledger.signed_report(o, SERVICE, now - 100, now - 10)) for o in ORACLES[:3]]
    reports[1][6] = b"\x7f" + b"\xff" * 31  # s above the curve half-order: malleable, refused
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, [tuple(r) for r in reports]),
                  ledger.a.relayer, "OutageOracleInvalidSignature", index=1)


def test_stale_config_version_reverts(ledger) -> None:
    now = ledger.now()
    ledger.send(ledger.oracle.functions.setConfig([o.address for o in ORACLES], 3), ledger.a.owner)
    reports = [ledger.signed_report(o, SERVICE, now - 100, now - 10, version=1) for o in ORACLES[:3]]
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, reports), ledger.a.relayer,
                  "OutageOracleStaleConfig", given=1, current=2)
    # Same signers re-signing for version 2 succeed.
    reports = [ledger.signed_report(o, SERVICE, now - 100, now - 10, version=2) for o in ORACLES[:3]]
    ledger.send(ledger.oracle.functions.submit(SERVICE, 2, reports), ledger.a.relayer)


def test_removed_signer_cannot_sign_for_new_config(ledger) -> None:
    now = ledger.now()
    ledger.send(ledger.oracle.functions.setConfig([o.address for o in ORACLES[1:]], 3), ledger.a.owner)
    reports = [ledger.signed_report(o, SERVICE, now - 100, now - 10, version=2) for o in ORACLES[:3]]
    expect_revert(ledger.oracle.functions.submit(SERVICE, 2, reports), ledger.a.relayer,
                  "OutageOracleUnknownSigner", signer=ORACLES[0].address)


def test_invalid_and_future_windows(ledger) -> None:
    now = ledger.now()
    bad = [ledger.signed_report(o, SERVICE, now - 10, now - 10) for o in ORACLES[:3]]
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, bad), ledger.a.relayer,
                  "OutageOracleInvalidWindow", start=now - 10, end=now - 10)
    future = [ledger.signed_report(o, SERVICE, now - 10, now + 3600) for o in ORACLES[:3]]
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, future), ledger.a.relayer,
                  "OutageOracleWindowInFuture", end=now + 3600)


def test_disjoint_reports_are_rejected(ledger) -> None:
    """q-th start to q-th end over disjoint windows would cover time nobody saw down."""
    now = ledger.now()
    spans = [(now - 4000, now - 3000), (now - 4000, now - 3000), (now - 2000, now - 1000)]
    reports = [ledger.signed_report(o, SERVICE, s, e) for o, (s, e) in zip(ORACLES, spans, strict=False)]
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, reports), ledger.a.relayer,
                  "OutageOracleReportsDisjoint", latestStart=now - 2000, earliestEnd=now - 3000)


def test_no_config_reverts(w3, actors) -> None:
    from contracts import artifacts
    from contracts.sender import send

    factory = artifacts.contract(w3, "OutageOracle")
    address = send(w3, factory.constructor(actors.owner, 300, 60, 60), actors.owner)["contractAddress"]
    fresh = artifacts.contract(w3, "OutageOracle", address)
    expect_revert(fresh.functions.submit(SERVICE, 1, []), actors.relayer, "OutageOracleNoConfig")
    assert list(fresh.functions.config().call()) == [0, 0, []]


def test_the_default_deployment_declares_minute_buckets(ledger) -> None:
    assert ledger.oracle.functions.bucketSeconds().call() == 60
    assert ledger.oracle.functions.MAX_BUCKET_SECONDS().call() == 3600


@pytest.mark.parametrize("bucket", [1, 2, 5, 60, 3600])
def test_the_verdict_bucket_is_a_deployment_parameter(ledger, bucket) -> None:
    from contracts.deploy import deploy

    dep = deploy(ledger.w3, ledger.a.owner, token=ledger.token.address, bucket_seconds=bucket)
    oracle = dep.contract(ledger.w3, "OutageOracle")
    assert oracle.functions.bucketSeconds().call() == bucket
    assert (oracle.functions.mergeGap().call(), oracle.functions.finalityDelay().call()) == (300, 60)


@pytest.mark.parametrize("bucket", [0, 3601, 2**32 - 1])
def test_a_bucket_outside_one_second_to_an_hour_is_refused(ledger, bucket) -> None:
    from contracts import artifacts

    factory = artifacts.contract(ledger.w3, "OutageOracle")
    expect_revert(factory.constructor(ledger.a.owner, 300, 60, bucket), ledger.a.owner,
                  "OutageOracleInvalidBucket", bucketSeconds=bucket)


def test_ongoing_outage_is_extended_then_closed(ledger) -> None:
    now = ledger.now()
    start = now - 3600
    ledger.verify_outage(SERVICE, start, now - 1800, ongoing=True)
    r = ledger.verify_outage(SERVICE, start, now - 600, ongoing=True)
    expect_event(r, ledger.oracle, "OutageVerified", index=0, start=start, end=now - 600, ongoing=True)
    r = ledger.verify_outage(SERVICE, start, now - 600, ongoing=False)
    expect_event(r, ledger.oracle, "OutageVerified", index=0, end=now - 600, ongoing=False)
    assert ledger.oracle.functions.windowCount(SERVICE).call() == 1
    # A stale "ongoing" report at the same end cannot reopen it.
    expect_revert(ledger.oracle.functions.submit(
        SERVICE, 1, [ledger.signed_report(o, SERVICE, start, now - 600, ongoing=True) for o in ORACLES[:3]]),
        ledger.a.relayer, "OutageOracleWindowAlreadyCovered")


def test_replay_and_subset_of_same_outage_are_already_covered(ledger) -> None:
    now = ledger.now()
    reports = [ledger.signed_report(o, SERVICE, now - 3600, now - 60) for o in ORACLES[:3]]
    ledger.send(ledger.oracle.functions.submit(SERVICE, 1, reports), ledger.a.relayer)
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, reports), ledger.a.relayer,
                  "OutageOracleWindowAlreadyCovered", serviceId=SERVICE, start=now - 3600, end=now - 60)
    other = [ledger.signed_report(o, SERVICE, now - 3000, now - 100) for o in ORACLES[1:]]
    expect_revert(ledger.oracle.functions.submit(SERVICE, 1, other), ledger.a.relayer,
                  "OutageOracleWindowAlreadyCovered")


def _windows(ledger, service=SERVICE) -> list[tuple[int, int]]:
    n = ledger.oracle.functions.windowCount(service).call()
    return [tuple(ledger.oracle.functions.windowAt(service, i).call()[:2]) for i in range(n)]


def test_new_window_after_latest_and_late_window_inserted_in_order(ledger) -> None:
    """Finding 3: an older outage verified after a later one was refused; now it is inserted."""
    now = ledger.now()
    ledger.verify_outage(SERVICE, now - 5000, now - 4000)
    r = ledger.verify_outage(SERVICE, now - 2000, now - 1000)
    expect_event(r, ledger.oracle, "OutageVerified", index=1, start=now - 2000, replaced=0)
    r = ledger.verify_outage(SERVICE, now - 9000, now - 8000)
    expect_event(r, ledger.oracle, "OutageVerified", index=0, start=now - 9000, end=now - 8000, replaced=0)
    r = ledger.verify_outage(SERVICE, now - 3500, now - 3000)
    expect_event(r, ledger.oracle, "OutageVerified", index=2, replaced=0)
    assert _windows(ledger) == [(now - 9000, now - 8000), (now - 5000, now - 4000), (now - 3500, now - 3000),
                                (now - 2000, now - 1000)]


def test_bridging_submission_merges_windows(ledger) -> None:
    """Finding 1: a submission over the whole outage now merges the windows a liar split it into."""
    now = ledger.now()
    ledger.verify_outage(SERVICE, now - 5000, now - 4000)
    ledger.verify_outage(SERVICE, now - 3000, now - 2000)
    ledger.verify_outage(SERVICE, now - 1500, now - 1000)
    r = ledger.verify_outage(SERVICE, now - 4500, now - 1200)
    expect_event(r, ledger.oracle, "OutageVerified", index=0, start=now - 5000, end=now - 1000, replaced=3)
    assert _windows(ledger) == [(now - 5000, now - 1000)]


def test_touching_window_merges_and_backward_extension_restarts_finality(ledger) -> None:
    now = ledger.now()
    ledger.verify_outage(SERVICE, now - 3000, now - 2000)
    first = ledger.oracle.functions.windowAt(SERVICE, 0).call()
    ledger.verify_outage(SERVICE, now - 2000, now - 1500)  # touches: same window
    assert _windows(ledger) == [(now - 3000, now - 1500)]
    assert ledger.oracle.functions.windowAt(SERVICE, 0).call()[3] == first[3]  # start unchanged
    ledger.travel(10)
    ledger.verify_outage(SERVICE, now - 3600, now - 2500)  # earlier start
    w = ledger.oracle.functions.windowAt(SERVICE, 0).call()
    assert (w[0], w[1]) == (now - 3600, now - 1500)
    assert w[3] > first[3]


def test_episodes_group_by_merge_gap_and_skip_those_begun_before(ledger) -> None:
    now = ledger.now()
    gap = ledger.oracle.functions.mergeGap().call()
    ledger.verify_outage(SERVICE, now - 9000, now - 8000)
    ledger.verify_outage(SERVICE, now - 8000 + gap, now - 7000)  # within the gap: same episode
    ledger.verify_outage(SERVICE, now - 5000, now - 4000)
    eps, truncated = ledger.episodes(SERVICE)
    assert not truncated
    assert [(e.start, e.end, e.down_seconds, e.maintenance_seconds, e.windows, e.excluded_event) for e in eps] == [
        (now - 9000, now - 7000, 2000 - gap, 0, 2, 0), (now - 5000, now - 4000, 1000, 0, 1, 0)]
    assert not any(e.settled for e in eps)  # not final yet
    ledger.travel(ledger.oracle.functions.finalityDelay().call(), mine=True)
    eps, _ = ledger.episodes(SERVICE)
    assert all(e.settled for e in eps)
    # From inside the first episode: it began before, so it is skipped whole.
    eps, _ = ledger.episodes(SERVICE, now - 8500)
    assert [e.start for e in eps] == [now - 5000]
    eps, truncated = ledger.episodes(SERVICE, max_windows=1)
    assert truncated
    assert [e.start for e in eps] == [now - 9000]
    eps, _ = ledger.episodes(SERVICE, 0, now - 5000)
    assert [e.start for e in eps] == [now - 9000]


def test_report_digest_view_matches_python(ledger) -> None:
    now = ledger.now()
    rep = ledger.signed_report(ORACLES[2], SERVICE, now - 50, now - 5, seq=9, root=keccak(b"r"))
    digest = ledger.oracle.functions.reportDigest(SERVICE, 1, rep).call()
    assert eip712.recover(digest, rep[5], rep[6]) == ORACLES[2].address
    assert ledger.oracle.functions.domainSeparator().call() != b"\x00" * 32


def test_services_are_independent(ledger) -> None:
    now = ledger.now()
    other = eip712.service_id("https://other.example")
    ledger.verify_outage(SERVICE, now - 100, now - 10)
    r = ledger.verify_outage(other, now - 100, now - 10)
    assert events(r, ledger.oracle, "OutageVerified")[0]["index"] == 0
