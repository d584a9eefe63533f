"""Evidence log and bundles: chain, signatures, Merkle proofs, and tamper detection."""

from __future__ import annotations

import copy
import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from contracts.eip712 import service_id
from contracts.merkle import leaf_hash, verify
from oracles.cli import app
from oracles.errors import BundleFormatError, EvidenceError
from oracles.evidence.bundle import build_bundle, evidence_root
from oracles.evidence.observation import ZERO_HASH, canonical
from oracles.evidence.store import EvidenceLog
from oracles.evidence.verify import verify_bundle
from oracles.outcome import Outcome, ProbeResult
from oracles.reports import episode_id, sign_report
from tests.oracles.helpers import CHAIN_ID, ORACLE_ADDRESS, T0, node_key

KEY = node_key("evidence")
SERVICE = service_id("https://shop.example")
START, END = T0 + 60, T0 + 300


def fill(log: EvidenceLog) -> None:
    """Target `shop` probed every 10 s from T0 to T0+360, canary every 15 s."""
    for i in range(36):
        t = T0 + 10 * i + 0.25
        failing = START <= t < END
        log.append(stream="shop", kind="http", canary=False, service_id=SERVICE, planned=t - 0.25,
                   started=t, result=ProbeResult(
                       Outcome.TARGET_FAILURE if failing else Outcome.OK,
                       "status 503" if failing else "status 200", 12,
                       status_code=503 if failing else 200))
    for i in range(24):
        t = T0 + 15 * i + 0.5
        log.append(stream="canary", kind="http", canary=True, service_id=None, planned=t,
                   started=t, result=ProbeResult(Outcome.OK, "status 200", 3, status_code=200))


def make_bundle(tmp_path: Path, with_report: bool = True) -> dict[str, Any]:
    log = EvidenceLog(tmp_path / "evidence.sqlite3", KEY)
    fill(log)
    observations = log.window(["shop", "canary"], START, END)
    root = evidence_root(observations)
    report = sign_report(KEY, episode=episode_id("shop", START), target="shop",
                         service_id=SERVICE, config_version=1, start=START, end=END,
                         ongoing=False, evidence_root=root, seq=4, chain_id=CHAIN_ID,
                         verifying_contract=ORACLE_ADDRESS, signed_at=END + 5)
    bundle = build_bundle(node=KEY.address, episode=episode_id("shop", START), target="shop",
                          service_id=SERVICE, start=START, end=END, observations=observations,
                          report=report if with_report else None)
    log.close()
    return bundle


def test_log_is_a_signed_hash_chain_per_stream(tmp_path: Path) -> None:
    log = EvidenceLog(tmp_path / "e.sqlite3", KEY)
    fill(log)
    shop = log.segment("shop", T0, T0 + 3600)
    assert [o.index for o in shop] == list(range(36))
    assert shop[0].body["prev_hash"] == "0x" + ZERO_HASH.hex()
    for prev, cur in zip(shop, shop[1:], strict=False):
        assert cur.body["prev_hash"] == "0x" + prev.hash.hex()
    assert canonical(shop[3].body) == shop[3].canonical  # RFC 8785 round trip
    assert log.check_stream("shop") == []
    assert log.check_stream("canary") == []
    log.close()
    # Reopening continues each chain where it stopped.
    log = EvidenceLog(tmp_path / "e.sqlite3", KEY)
    obs = log.append(stream="shop", kind="http", canary=False, service_id=SERVICE,
                     planned=T0 + 400, started=T0 + 400,
                     result=ProbeResult(Outcome.OK, "status 200", 1))
    assert obs.index == 36
    assert obs.body["prev_hash"] == "0x" + shop[-1].hash.hex()
    log.close()


def test_log_is_append_only_and_bound_to_its_node(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    log = EvidenceLog(path, KEY)
    fill(log)
    log.close()
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE observations SET body = x'00' WHERE idx = 3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM observations WHERE idx = 3")
    db.close()
    with pytest.raises(EvidenceError, match="evidence log of"):
        EvidenceLog(path, node_key("someone-else"))


def test_check_stream_finds_tampering_behind_sqlites_back(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    log = EvidenceLog(path, KEY)
    fill(log)
    log.close()
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER observations_no_delete")
    db.execute("DELETE FROM observations WHERE stream = 'shop' AND idx = 10")
    db.commit()
    db.close()
    log = EvidenceLog(path, KEY)
    problems = log.check_stream("shop")
    assert problems
    assert "chain broken" in problems[0]
    log.close()


def test_bundle_verifies_with_proofs(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    result = verify_bundle(bundle)
    assert result.ok, result.problems
    assert result.observations == 24 + 16  # 10 s target, 15 s canary over 240 s
    root = bytes.fromhex(bundle["evidence_root"][2:])
    for item in bundle["observations"]:
        proof = [bytes.fromhex(p[2:]) for p in item["proof"]]
        assert verify(leaf_hash(bytes.fromhex(item["hash"][2:])), proof, root)
    assert {o["body"]["stream"] for o in bundle["observations"]} == {"shop", "canary"}


def _mutations(text: str, rng: random.Random, count: int) -> list[str]:
    """`count` copies of `text`, each with one alphanumeric character replaced by another
    (so the JSON stays parseable)."""
    positions = [i for i, ch in enumerate(text) if ch.isalnum()]
    out = []
    for pos in rng.sample(positions, count):
        ch = text[pos]
        alphabet = "0123456789abcdef" if ch in "0123456789abcdef" else "xyzXYZ"
        new = rng.choice([c for c in alphabet if c != ch])
        out.append(text[:pos] + new + text[pos + 1:])
    return out


def test_any_single_changed_byte_is_detected(tmp_path: Path) -> None:
    text = json.dumps(make_bundle(tmp_path))
    for mutated in _mutations(text, random.Random(7), 300):
        try:
            data = json.loads(mutated)
        except ValueError:
            continue  # e.g. a mangled `true`: not JSON, exit 2
        try:
            result = verify_bundle(data)
        except BundleFormatError:
            continue  # e.g. a renamed top-level key: bad input, exit 2
        assert not result.ok, f"undetected change: {mutated[:120]}"


@pytest.mark.parametrize("where", ["detail", "outcome", "started_ms", "signature", "hash",
                                   "proof", "root", "report_end"])
def test_targeted_changes_are_detected(tmp_path: Path, where: str) -> None:
    bundle = make_bundle(tmp_path)
    obs = next(o for o in bundle["observations"] if o["body"]["stream"] == "shop")
    assert obs["body"]["outcome"] == "target_failure"
    if where == "detail":
        obs["body"]["detail"] = "status 502"
    elif where == "outcome":
        obs["body"]["outcome"] = "ok"
    elif where == "started_ms":
        obs["body"]["started_ms"] += 1
    elif where == "signature":
        sig = obs["signature"]
        obs["signature"] = sig[:10] + ("0" if sig[10] != "0" else "1") + sig[11:]
    elif where == "hash":
        obs["hash"] = "0x" + "00" * 32
    elif where == "proof":
        obs["proof"][0] = "0x" + "11" * 32
    elif where == "root":
        bundle["evidence_root"] = "0x" + "22" * 32
    else:
        bundle["report"]["end"] += 60
    assert not verify_bundle(bundle).ok


@pytest.mark.parametrize("index", [0, 7, 15, 23, 39])
def test_a_dropped_observation_is_detected(tmp_path: Path, index: int) -> None:
    bundle = make_bundle(tmp_path)
    dropped = copy.deepcopy(bundle)
    del dropped["observations"][index]
    result = verify_bundle(dropped)
    assert not result.ok
    # Even with the root and every proof recomputed by the forger, the signed report's root
    # (and, inside a stream, the broken chain) gives it away.
    from contracts.merkle import MerkleTree
    leaves = [leaf_hash(bytes.fromhex(o["hash"][2:])) for o in dropped["observations"]]
    tree = MerkleTree(leaves)
    dropped["evidence_root"] = "0x" + tree.root.hex()
    for i, o in enumerate(dropped["observations"]):
        o["proof"] = ["0x" + p.hex() for p in tree.proof(i)]
    result = verify_bundle(dropped)
    assert not result.ok
    assert any("report" in p or "chain" in p for p in result.problems)


def test_reordered_observations_are_detected(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    obs = bundle["observations"]
    obs[2], obs[3] = obs[3], obs[2]
    assert not verify_bundle(bundle).ok


def test_unsigned_root_is_noted(tmp_path: Path) -> None:
    result = verify_bundle(make_bundle(tmp_path, with_report=False))
    assert result.ok
    assert result.notes


runner = CliRunner()


def test_cli_verify_exit_codes(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bundle))
    result = runner.invoke(app, ["evidence", "verify", str(good)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VALID")
    assert runner.invoke(app, ["evidence", "verify", str(good), "--node",
                               KEY.address]).exit_code == 0
    assert runner.invoke(app, ["evidence", "verify", str(good), "--node",
                               node_key("other").address]).exit_code == 1

    # One changed byte inside a signed body.
    text = good.read_text()
    pos = text.index('"status 503"') + 8
    changed = tmp_path / "changed.json"
    changed.write_text(text[:pos] + "4" + text[pos + 1:])
    result = runner.invoke(app, ["evidence", "verify", str(changed)])
    assert result.exit_code == 1
    assert "INVALID" in result.output

    # One dropped observation.
    dropped = copy.deepcopy(bundle)
    del dropped["observations"][3]
    (tmp_path / "dropped.json").write_text(json.dumps(dropped))
    result = runner.invoke(app, ["evidence", "verify", str(tmp_path / "dropped.json")])
    assert result.exit_code == 1
    assert "chain" in result.output

    # Bad input.
    (tmp_path / "junk.json").write_text("{not json")
    assert runner.invoke(app, ["evidence", "verify", str(tmp_path / "junk.json")]).exit_code == 2
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    assert runner.invoke(app, ["evidence", "verify",
                               str(tmp_path / "other.json")]).exit_code == 2
    assert runner.invoke(app, ["evidence", "verify", str(tmp_path / "nope.json")]).exit_code == 2


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                max_size=3), max_leaves=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_json_in_any_field_is_judged_never_a_crash(tmp_path: Path, data: st.DataObject) -> None:
    """What an auditor's page or the CLI may be handed: a bundle with any JSON value put in any
    place (top-level key, window bound, observation field, report field) is either not a bundle
    (BundleFormatError) or a result, with problems whenever it changed (a report taken away only
    leaves a note); nothing else is raised. (40 examples: each verifies 40 signatures.)"""
    bundle = _BUNDLE.setdefault("b", make_bundle(tmp_path))
    b = copy.deepcopy(bundle)
    where = data.draw(st.sampled_from(["top", "window", "observation", "body", "report"]))
    value = data.draw(_JSON)
    if where == "top":
        b[data.draw(st.sampled_from(sorted(b)))] = value
    elif where == "window":
        b["window"][data.draw(st.sampled_from(["start", "end"]))] = value
    elif where == "observation":
        b["observations"][0][data.draw(st.sampled_from(["body", "hash", "signature", "proof"]))] = value
    elif where == "body":
        b["observations"][1]["body"][data.draw(st.sampled_from(sorted(b["observations"][1]["body"])))] = value
    else:
        field = data.draw(st.sampled_from(sorted(b["report"])))
        b["report"][field] = value
    try:
        result = verify_bundle(b)
    except BundleFormatError:
        return
    # The report's `signed_at` is unsigned bookkeeping (oracles/reports.py): another uint64 there
    # is still the node's signed report.
    unsigned = where == "report" and field == "signed_at"
    if b != bundle and not (where == "top" and b["report"] is None) and not unsigned:
        assert not result.ok, (where, value)


_BUNDLE: dict[str, dict[str, Any]] = {}
