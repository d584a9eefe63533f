"""The verdict bucket as a deployment parameter on the node's side: `chain.bucket_seconds` shapes
the buckets, the episodes' windows and the config checks; it must equal the OutageOracle's
`bucketSeconds()` (checked at start, a mismatch refuses to start with exit code 2); a node's
state is bound to the bucket it counted in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oracles.clock import ManualClock
from oracles.config import parse_config
from oracles.episodes import Change, EpisodeRule, Idle, step
from oracles.errors import ConfigError
from oracles.state import NodeState
from oracles.transmit.factory import check_bucket
from oracles.verdicts import Tally, Verdict, bucket_of
from tests.chain import Ledger
from tests.oracles.helpers import T0, FakeService, advance, config_dict, http_canary, http_target, make_node, node_key

BIN = Path(sys.executable).parent / "cybercover-oracle"


def raw(tmp_path: Path, bucket: int | None = None, **chain: object) -> dict:
    out = config_dict(tmp_path, targets=[http_target("http://127.0.0.1:1/", interval=2, timeout=1)],
                      canaries=[http_canary("http://127.0.0.1:2/") | {"interval": 2, "timeout": 1}])
    out["chain"] |= chain | ({"bucket_seconds": bucket} if bucket is not None else {})
    return out


def test_buckets_tallies_and_episode_windows_count_in_the_deployment_bucket() -> None:
    assert bucket_of(T0 + 7, 5) == (T0 + 5) // 5 and bucket_of(T0 + 7) == T0 // 60
    tally = Tally(5)
    tally.add("shop", T0 + 4.9, "ok")  # type: ignore[arg-type]
    tally.add("shop", T0 + 5.0, "ok")  # type: ignore[arg-type]
    assert sum(tally.pop(T0 // 5)["shop"].values()) == 1
    rule = EpisodeRule(open_after=2, close_after=1, bucket_seconds=5)
    b0 = T0 // 5 + 3
    state, event = step(Idle(), b0, Verdict.DOWN, rule)
    assert event is None
    state, event = step(state, b0 + 1, Verdict.DOWN, rule)
    assert event is not None and event.change is Change.OPENED
    assert (event.start, event.end, event.down_seconds) == (b0 * 5, (b0 + 2) * 5, 10)
    with pytest.raises(ValueError, match="at least 1 s"):
        EpisodeRule(1, 1, 0)


def test_the_config_is_checked_against_its_bucket(tmp_path: Path) -> None:
    assert parse_config(raw(tmp_path)).chain.bucket_seconds == 60  # the rule's minute by default
    assert parse_config(raw(tmp_path, 6)).chain.bucket_seconds == 6
    with pytest.raises(ConfigError, match="min_samples=3 can never be met.*2 probes per 5 s bucket"):
        parse_config(raw(tmp_path, 5))
    fine = raw(tmp_path, 5)
    fine["targets"][0] |= {"interval": 1, "timeout": 0.5}
    fine["canaries"][0] |= {"interval": 6, "timeout": 1}
    with pytest.raises(ConfigError, match="canaries.0.: an interval of 6.0 s leaves some 5 s buckets without"):
        parse_config(fine)
    for bad in (0, 3601):
        with pytest.raises(ConfigError, match="bucket_seconds"):
            parse_config(raw(tmp_path, bad))


def test_state_is_bound_to_the_bucket_it_counted_in(tmp_path: Path) -> None:
    NodeState(tmp_path / "a.sqlite3").bind_bucket(5)
    state = NodeState(tmp_path / "a.sqlite3")
    state.bind_bucket(5)  # the same again: fine
    with pytest.raises(ConfigError, match="counts 5 s buckets, chain.bucket_seconds is 60"):
        state.bind_bucket(60)
    legacy = NodeState(tmp_path / "b.sqlite3")  # written before the length was recorded: minutes
    legacy.set_next_bucket(123)
    with pytest.raises(ConfigError, match="counts 60 s buckets"):
        legacy.bind_bucket(5)
    NodeState(tmp_path / "c.sqlite3").bind_bucket(5)  # a fresh state takes any


@pytest.mark.anyio
async def test_a_node_with_ten_second_buckets_verifies_on_ten_second_boundaries(
        tmp_path: Path, service: FakeService, canary: FakeService) -> None:
    clock = ManualClock(T0)
    config = config_dict(tmp_path / "n", targets=[http_target(service.url, interval=2, timeout=1, open_after=1,
                                                              threshold_seconds=20)],
                         canaries=[http_canary(canary.url) | {"interval": 2, "timeout": 1}])
    config["chain"]["bucket_seconds"] = 10
    node = make_node(config, node_key("ten"), clock)
    down_from, down_until = T0 + 20, T0 + 60

    def world(t: float) -> None:
        service.status = 503 if down_from <= t < down_until else 200

    await advance(clock, [node], T0 + 100, step=1.0, world=world)
    [episode] = node.state.episodes()
    assert (episode.start, episode.end, episode.ongoing, episode.down_seconds) == (down_from, down_until, False, 40)
    [report] = node.state.latest_reports()
    assert (report.start, report.end) == (down_from, down_until)
    await node.aclose()
    config["chain"]["bucket_seconds"] = 60  # the same data directory under another deployment's bucket
    with pytest.raises(ConfigError, match="counts 10 s buckets"):
        make_node(config, node_key("ten"), clock)


@pytest.mark.anyio
async def test_check_bucket_reads_the_oracle_and_refuses_a_mismatch(ledger: Ledger, tmp_path: Path) -> None:
    oracle = ledger.oracle.address
    assert ledger.oracle.functions.bucketSeconds().call() == 60
    assert await check_bucket(parse_config(raw(tmp_path, oracle_address=oracle)), ledger.w3) == 60
    mismatch = parse_config(raw(tmp_path, 6, oracle_address=oracle))
    with pytest.raises(ConfigError, match=rf"OutageOracle at {oracle} declares 60 s verdict buckets .*"
                                          r"chain.bucket_seconds is 6: set chain.bucket_seconds = 60"):
        await check_bucket(mismatch, ledger.w3)
    empty = "0x" + "12" * 20
    with pytest.raises(ConfigError, match="no contract at chain.oracle_address"):
        await check_bucket(parse_config(raw(tmp_path, oracle_address=empty)), ledger.w3)
    with pytest.raises(ConfigError, match="answers no bucketSeconds"):
        await check_bucket(parse_config(raw(tmp_path, oracle_address=ledger.token.address)), ledger.w3)
    assert await check_bucket(parse_config(raw(tmp_path, 6))) is None  # no rpc_url: nothing to check against


def test_a_node_run_against_another_bucket_exits_2_with_the_reason(tmp_path: Path) -> None:
    """The real process against a real chain (anvil) whose OutageOracle declares 5 s buckets."""
    from contracts.deploy import deploy
    from tests.anvil import anvil

    with anvil() as (url, w3):
        dep = deploy(w3, w3.eth.accounts[0], bucket_seconds=5)
        oracle = dep.contract(w3, "OutageOracle").address
        config = tmp_path / "node.toml"
        from oracles.config import write_config

        write_config(config, parse_config(raw(tmp_path / "data", 60, chain_id=w3.eth.chain_id,
                                              oracle_address=oracle, rpc_url=url)))
        run = subprocess.run([str(BIN), "run", "--config", str(config)], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "ORACLE_PRIVATE_KEY": "ab" * 32})
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"error: the OutageOracle at {oracle} declares 5 s verdict buckets" in run.stderr
    assert "chain.bucket_seconds is 60: set chain.bucket_seconds = 5" in run.stderr
    assert not (tmp_path / "data" / "evidence.sqlite3").exists()  # refused before it judged anything
