"""Whole-node behaviour on a manual clock against real loopback services: episodes, signed
reports from several nodes, blips, canaries, restarts, transmission through a relay."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from oracles.api import create_app
from oracles.clock import ManualClock
from oracles.evidence.verify import verify_bundle
from oracles.node import OracleNode
from oracles.reports import SignedReport
from oracles.transmit.submitters import RelaySubmitter
from tests.oracles.helpers import (
    T0,
    FakeRelay,
    FakeService,
    advance,
    config_dict,
    http_canary,
    http_target,
    make_node,
    node_key,
    serve_app,
)

pytestmark = pytest.mark.anyio

DOWN_FROM, DOWN_UNTIL = T0 + 120, T0 + 540  # seven minutes down


def outage(service: FakeService, start: float = DOWN_FROM, end: float = DOWN_UNTIL
           ) -> Callable[[float], None]:
    def world(t: float) -> None:
        service.status = 503 if start <= t < end else 200
    return world


def final_reports(node: OracleNode) -> list[SignedReport]:
    return node.state.latest_reports()


async def test_outage_longer_than_threshold_is_signed_by_every_node_and_transmitted(
        tmp_path: Path, clock: ManualClock, service: FakeService, canary: FakeService) -> None:
    relay = FakeRelay()
    keys = [node_key(f"n{i}") for i in range(3)]
    target = http_target(service.url)
    peers_nodes = [
        make_node(config_dict(tmp_path / f"n{i}", targets=[target],
                              canaries=[http_canary(canary.url)]), keys[i], clock)
        for i in (1, 2)
    ]
    async with serve_app(create_app(peers_nodes[0])) as url1, \
            serve_app(create_app(peers_nodes[1])) as url2, serve_app(relay.app()) as relay_url:
        transmitter = make_node(
            config_dict(tmp_path / "n0", targets=[target], canaries=[http_canary(canary.url)],
                        transmit={"enabled": True, "quorum": 3, "relay_url": relay_url,
                                  "peers": [url1, url2], "interval": 10}),
            keys[0], clock, submitter=RelaySubmitter(relay_url))
        nodes = [transmitter, *peers_nodes]
        await advance(clock, nodes, T0 + 720, world=outage(service))

        # Every node saw one episode, first DOWN minute to the end of the last DOWN minute.
        for node, key in zip(nodes, keys, strict=True):
            [episode] = node.state.episodes()
            assert (episode.start, episode.end, episode.ongoing) == (DOWN_FROM, DOWN_UNTIL,
                                                                      False)
            assert episode.down_seconds == 420
            [latest] = final_reports(node)
            assert latest.signer == key.address
            assert latest.is_authentic()
            assert (latest.start, latest.end, latest.ongoing) == (DOWN_FROM, DOWN_UNTIL, False)
            # Signed first at the 180 s threshold (while ongoing), then each minute it grew
            # (4 more), then once more on closing.
            assert latest.seq == 6
            first = node.state.report(latest.episode_id, 1)
            assert first is not None
            assert (first.report.end, first.report.ongoing) == (DOWN_FROM + 180, True)

        # The transmitter gathered a quorum of matching reports and relayed them.
        assert relay.received, "nothing was transmitted"
        first_set = relay.received[0]
        assert first_set["config_version"] == 1
        assert first_set["service_id"] == "0x" + transmitter.config.targets[0] \
            .service_id_bytes.hex()
        assert len({r["signer"] for r in first_set["reports"]}) == 3
        assert set(first_set["reports"][0]) == {"start", "end", "ongoing", "evidence_root",
                                                "seq", "r", "vs", "signer"}
        last_set = relay.received[-1]
        assert all(r["end"] == DOWN_UNTIL for r in last_set["reports"])
        assert all(not r["ongoing"] for r in last_set["reports"])
        assert transmitter.transmitter is not None
        assert transmitter.transmitter.failed == 0

        # A peer's evidence for the episode verifies and matches its signed root.
        eid = final_reports(peers_nodes[0])[0].episode_id
        async with httpx.AsyncClient() as client:
            bundle = (await client.get(f"{url1}/v1/evidence/{eid}")).json()
        result = verify_bundle(bundle)
        assert result.ok, result.problems
        assert bundle["evidence_root"] == "0x" + final_reports(peers_nodes[0])[0] \
            .evidence_root.hex()
        streams = {o["body"]["stream"] for o in bundle["observations"]}
        assert streams == {"shop", "canary"}

        for node in nodes:
            await node.aclose()


async def test_blip_shorter_than_m_does_not_split_the_episode(
        tmp_path: Path, clock: ManualClock, service: FakeService, canary: FakeService) -> None:
    node = make_node(config_dict(tmp_path, targets=[http_target(service.url)],
                                 canaries=[http_canary(canary.url)]), node_key("b"), clock)

    def world(t: float) -> None:  # down 4 min, up 1 min (M = 2), down 3 min, then up
        down = T0 + 120 <= t < T0 + 360 or T0 + 420 <= t < T0 + 600
        service.status = 503 if down else 200

    await advance(clock, [node], T0 + 840, world=world)
    [episode] = node.state.episodes()
    assert (episode.start, episode.end, episode.ongoing) == (T0 + 120, T0 + 600, False)
    assert episode.down_seconds == 7 * 60  # the UP minute inside is not downtime
    [report] = final_reports(node)
    assert (report.start, report.end, report.ongoing) == (T0 + 120, T0 + 600, False)
    await node.aclose()


async def test_an_up_run_of_m_splits_and_short_episodes_are_not_signed(
        tmp_path: Path, clock: ManualClock, service: FakeService, canary: FakeService) -> None:
    node = make_node(config_dict(tmp_path, targets=[http_target(service.url)],
                                 canaries=[http_canary(canary.url)]), node_key("s"), clock)

    def world(t: float) -> None:  # 2 min down, 2 min up, 4 min down
        down = T0 + 120 <= t < T0 + 240 or T0 + 360 <= t < T0 + 600
        service.status = 503 if down else 200

    await advance(clock, [node], T0 + 780, world=world)
    episodes = node.state.episodes()
    assert [(e.start, e.end) for e in episodes] == [(T0 + 120, T0 + 240), (T0 + 360, T0 + 600)]
    # Only the second reached the 180 s threshold.
    assert [r.start for r in final_reports(node)] == [T0 + 360]
    await node.aclose()


async def test_canary_failure_votes_unknown_not_down(
        tmp_path: Path, clock: ManualClock, service: FakeService, canary: FakeService) -> None:
    node = make_node(config_dict(tmp_path, targets=[http_target(service.url)],
                                 canaries=[http_canary(canary.url)]), node_key("c"), clock)

    def world(t: float) -> None:
        # The node's own network is in trouble: its canary and the target both fail.
        broken = T0 + 120 <= t < T0 + 600
        service.status = 503 if broken else 200
        canary.status = 500 if broken else 200

    await advance(clock, [node], T0 + 720, world=world)
    assert node.state.episodes() == []
    assert final_reports(node) == []
    samples = {s.labels["verdict"]: s.value
               for s in next(iter(node.metrics.verdicts.collect())).samples
               if s.name.endswith("_total")}
    assert samples.get("down", 0) == 0
    assert samples["unknown"] >= 8
    await node.aclose()


async def test_blocked_answers_are_not_downtime(
        tmp_path: Path, clock: ManualClock, service: FakeService, canary: FakeService) -> None:
    node = make_node(config_dict(tmp_path, targets=[http_target(service.url)],
                                 canaries=[http_canary(canary.url)]), node_key("k"), clock)

    def world(t: float) -> None:
        service.status = 429 if T0 + 120 <= t < T0 + 600 else 200

    await advance(clock, [node], T0 + 720, world=world)
    assert node.state.episodes() == []
    await node.aclose()


async def test_restart_mid_episode_continues_it(
        tmp_path: Path, clock: ManualClock, service: FakeService, canary: FakeService) -> None:
    raw = config_dict(tmp_path, targets=[http_target(service.url)],
                      canaries=[http_canary(canary.url)])
    key = node_key("r")
    world = outage(service, T0 + 120, T0 + 660)
    node = make_node(raw, key, clock)
    await advance(clock, [node], T0 + 370, world=world)
    [before] = final_reports(node)
    assert before.ongoing
    assert before.seq == 2  # threshold at T0+300, grew at T0+360
    await node.aclose()

    clock.advance(20)  # down for a moment; the partial minute it restarts in is not judged
    node = make_node(raw, key, clock)
    await advance(clock, [node], T0 + 840, world=world)
    [episode] = node.state.episodes()
    assert (episode.start, episode.end, episode.ongoing) == (T0 + 120, T0 + 660, False)
    [after] = final_reports(node)
    assert after.episode_id == before.episode_id
    assert after.seq > before.seq
    # Evidence across the restart still chains and verifies.
    assert verify_bundle(node.evidence_bundle(after.episode_id)).ok
    await node.aclose()


async def test_stop_lets_an_in_flight_submission_finish(
        tmp_path: Path, service: FakeService, canary: FakeService) -> None:
    import asyncio

    from fastapi import FastAPI

    from oracles.clock import SystemClock
    from tests.oracles.helpers import report

    t = int(SystemClock().time())
    signed = [report(i, t - 900, t - 300) for i in range(3)]
    peer = FastAPI()

    @peer.get("/v1/reports")
    async def reports() -> dict[str, object]:
        return {"reports": [r.to_json() for r in signed]}

    relay = FakeRelay(delay=1.0)
    async with serve_app(peer) as peer_url, serve_app(relay.app()) as relay_url:
        node = make_node(
            config_dict(tmp_path, targets=[http_target(service.url)],
                        canaries=[http_canary(canary.url)],
                        transmit={"enabled": True, "quorum": 3, "relay_url": relay_url,
                                  "peers": [peer_url]}),
            node_key("t"), SystemClock(), submitter=RelaySubmitter(relay_url))
        stop = asyncio.Event()
        running = asyncio.create_task(node.run_forever(stop))
        while not relay.arrived and not running.done():
            await asyncio.sleep(0.01)
        assert relay.received == []  # SIGTERM arrives while the relay is still working
        stop.set()
        summary = await asyncio.wait_for(running, timeout=10)
        assert len(relay.received) == 1
        assert summary.sets_transmitted == 1
        assert summary.transmit_failures == 0
        assert "1 sets transmitted" in summary.line()
        assert node.health()["status"] == "stopping"
        await node.aclose()
