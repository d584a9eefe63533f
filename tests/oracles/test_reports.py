"""Signed outage reports: EIP-712 signatures, JSON shape, and quorum-set selection."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import eip712
from oracles.errors import ReportFormatError
from oracles.reports import SignedReport
from oracles.transmit.selection import quorum_sets
from tests.oracles.helpers import CHAIN_ID, KEYS, ORACLE_ADDRESS, SHOP, T0, report

SERVICE = SHOP


def test_signature_recovers_with_shared_eip712_definitions() -> None:
    r = report(0, T0, T0 + 600)
    assert r.is_authentic()
    assert r.signer == KEYS[0].address
    dom = eip712.oracle_domain(CHAIN_ID, ORACLE_ADDRESS)
    msg = eip712.outage_report_message(SERVICE, 1, T0, T0 + 600, True, b"\x01" * 32, 1)
    digest = eip712.digest(dom, "OutageReport", msg)
    assert r.digest() == digest
    assert eip712.recover(digest, r.r, r.vs) == KEYS[0].address


@pytest.mark.parametrize("field", ["start", "end", "seq", "config_version", "chain_id"])
def test_any_signed_field_change_breaks_it(field: str) -> None:
    r = report(0, T0, T0 + 600)
    forged = dataclasses.replace(r, **{field: getattr(r, field) + 1})
    assert not forged.is_authentic()
    assert not dataclasses.replace(r, ongoing=False).is_authentic()
    assert not dataclasses.replace(r, evidence_root=bytes(32)).is_authentic()
    # Bookkeeping fields are not signed, by design.
    assert dataclasses.replace(r, signed_at=0).is_authentic()


def test_json_round_trip_and_shape() -> None:
    r = report(1, T0, T0 + 600, seq=3)
    data = r.to_json()
    assert set(data) == {"episode_id", "target", "service_id", "config_version", "start", "end",
                         "ongoing", "evidence_root", "seq", "r", "vs", "signer", "chain_id",
                         "verifying_contract", "signed_at"}
    assert data["episode_id"] == f"shop@{T0}"
    assert SignedReport.from_json(data) == r


@pytest.mark.parametrize(("field", "value"), [
    ("start", "1"), ("seq", -1), ("ongoing", 1), ("r", "0x12"), ("signer", "0x123"),
    ("config_version", 2**32),
])
def test_malformed_json_is_refused(field: str, value: object) -> None:
    data = report(0, T0, T0 + 600).to_json()
    data[field] = value
    with pytest.raises(ReportFormatError):
        SignedReport.from_json(data)
    del data[field]
    with pytest.raises(ReportFormatError, match="missing"):
        SignedReport.from_json(data)


# --- selection --------------------------------------------------------------------------------

def select(reports: list[SignedReport], q: int = 3, **kw: object) -> list[list[SignedReport]]:
    return quorum_sets(reports, service_id=SERVICE, config_version=1, quorum=q, **kw)  # type: ignore[arg-type]


def test_latest_report_per_signer_is_chosen() -> None:
    reports = [report(0, T0, T0 + 300, seq=1), report(0, T0, T0 + 600, seq=2),
               report(1, T0 + 60, T0 + 540), report(2, T0 + 120, T0 + 600)]
    [chosen] = select(reports)
    assert {(r.signer, r.seq) for r in chosen} == {
        (KEYS[0].address, 2), (KEYS[1].address, 1), (KEYS[2].address, 1)}
    assert [int(r.signer, 16) for r in chosen] == sorted(int(r.signer, 16) for r in chosen)


def test_below_quorum_or_mismatched_is_not_submitted() -> None:
    assert select([report(0, T0, T0 + 600), report(1, T0, T0 + 600)]) == []
    mixed = [report(0, T0, T0 + 600), report(1, T0, T0 + 600),
             report(2, T0, T0 + 600, version=2), report(3, T0, T0 + 600, service=bytes(32))]
    assert select(mixed) == []
    # Disjoint windows never go together.
    assert select([report(0, T0, T0 + 120), report(1, T0 + 120, T0 + 240),
                   report(2, T0 + 240, T0 + 360)]) == []


def test_unregistered_signers_are_left_out() -> None:
    reports = [report(i, T0, T0 + 600) for i in range(4)]
    allowed = frozenset(k.address for k in KEYS[1:4])
    [chosen] = select(reports, signers=allowed)
    assert {r.signer for r in chosen} == allowed


def test_two_outages_give_two_sets() -> None:
    first = [report(i, T0, T0 + 600) for i in range(3)]
    second = [report(i, T0 + 3600, T0 + 4200) for i in range(3)]
    sets = select(first + second)
    assert [s[0].start for s in sets] == [T0, T0 + 3600]


# Per signer: an episode (start minute, length) re-signed `n` times, each time one minute longer.
episodes = st.dictionaries(
    st.integers(0, 4), st.tuples(st.integers(0, 30), st.integers(1, 15), st.integers(1, 3)),
    max_size=5)


@settings(max_examples=150, deadline=None)
@given(episodes, st.integers(1, 4))
def test_selected_sets_are_always_submittable(
        items: dict[int, tuple[int, int, int]], q: int) -> None:
    reports = [report(i, T0 + 60 * s, T0 + 60 * (s + d + k), seq=k + 1)
               for i, (s, d, n) in items.items() for k in range(n)]
    sets = select(reports, q=q)
    for chosen in sets:
        assert len(chosen) >= q
        assert len({r.signer for r in chosen}) == len(chosen)
        assert max(r.start for r in chosen) < min(r.end for r in chosen)  # pairwise overlap
        for r in chosen:  # each signer's latest re-signing
            assert r.seq == items[KEYS.index(next(k for k in KEYS if k.address == r.signer))][2]
    # Completeness: if some instant is covered by q signers, a set is found.
    instants = {r.start for r in reports}
    best = max((len({r.signer for r in reports if r.start <= t < r.end}) for t in instants),
               default=0)
    assert bool(sets) == (best >= q)
