"""The local oracle nodes' configs for `cybercover up`: data in, a serialized model out.

A product reaches a node only as a `Target`: its URL (re-checked as a covered service), the
lowest threshold among the products covering it, and the service id derived from the URL. The
config is the node's own model (`oracles.config.NodeConfig`), written by its TOML serializer, so
no product text can add a key, a table or a target: each target is exactly one `[[targets]]`.

`up` is the one place that launches both halves, so it is the one place service code imports
`oracles` — a config built from the node's model is one the node accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from contracts.eip712 import service_id
from service.covered import NAME, check_service

if TYPE_CHECKING:
    from oracles.config import NodeConfig, TargetConfig

Report = Callable[[str], None]
EPISODE = {"min_samples": 3, "open_after": 1, "close_after": 2}
BUCKET = 60  # the verdict bucket `up` deploys with by default (the verified-outage rule's minute)
MIN_BUCKET = 4  # below this the probe timings derived below leave no slack for a loaded machine


@dataclass(frozen=True)
class Timing:
    """The local nodes' timings and the OutageOracle parameters `up` deploys with, all derived
    from the verdict bucket `b` (60 s: probes every 5 s, canary every 10 s, transmit rounds of
    5 s). Probes: four per bucket at least (`min_samples` 3 leaves one to lose), each timing out
    in two thirds of its interval; the canary at least twice a bucket (a bucket without a canary
    sample is UNKNOWN). Merge gap: a node closes an episode after `close_after` UP buckets, so
    two windows of one real outage are never further apart than that. Finality delay: four
    transmit rounds for the honest transmitter to bridge a split a faulty signer opened, before
    an episode's start pays."""

    bucket: int

    @property
    def probe_interval(self) -> float:
        return min(5.0, self.bucket / 4)

    @property
    def canary_interval(self) -> float:
        return min(10.0, self.bucket / 2)

    @property
    def transmit_interval(self) -> int:
        return min(5, max(1, self.bucket // 2))

    @property
    def merge_gap(self) -> int:
        return EPISODE["close_after"] * self.bucket

    @property
    def finality_delay(self) -> int:
        return 4 * self.transmit_interval

    def probe(self) -> dict[str, Any]:
        return {"interval": self.probe_interval, "timeout": _timeout(self.probe_interval), **EPISODE}

    def canary(self) -> dict[str, Any]:
        return {"interval": self.canary_interval, "timeout": _timeout(self.canary_interval)}


def _timeout(interval: float) -> float:
    return min(3.0, round(interval * 2 / 3, 2))


DEFAULT = Timing(BUCKET)
PROBE = DEFAULT.probe()
TRANSMIT_INTERVAL = DEFAULT.transmit_interval
MINUTE = BUCKET  # kept for readers of the 60 s defaults
MERGE_GAP = DEFAULT.merge_gap
FINALITY_DELAY = DEFAULT.finality_delay


def oracle_quorum(nodes: int) -> int:
    """The smallest strict majority of the local nodes (OutageOracle refuses any other): 2 of 3, 3 of 4."""
    return nodes // 2 + 1


@dataclass(frozen=True, order=True)
class Target:
    url: str
    threshold_seconds: int

    @property
    def service_id(self) -> str:
        return "0x" + service_id(self.url).hex()

    @property
    def name(self) -> str:
        # Stable per service: adding a product never renames (and so never resets) another target.
        return "svc-" + self.service_id[2:18]


def targets_from_products(products: Any, report: Report) -> list[Target]:
    """One target per covered URL of the active products (the lowest threshold wins). Plain
    names are not probed here; anything that is not a valid covered service is skipped."""
    lowest: dict[str, int] = {}
    for p in products if isinstance(products, list) else []:
        if not isinstance(p, dict) or p.get("active", True) is not True:
            continue
        url, threshold = p.get("service"), p.get("threshold_seconds")
        if not isinstance(url, str) or NAME.fullmatch(url):
            continue
        if type(threshold) is not int or threshold < 1:
            report(f"product {p.get('id')!r}: not watched: threshold_seconds is not a positive integer")
            continue
        try:
            check_service(url)
        except ValueError as exc:
            report(f"product {p.get('id')!r}: not watched: {str(exc)[:200]}")
            continue
        if p.get("service_id") != "0x" + service_id(url).hex():
            report(f"product {p.get('id')!r}: not watched: its service_id is not keccak256 of its URL")
            continue
        lowest[url] = min(lowest.get(url, threshold), threshold)
    return sorted(Target(u, t) for u, t in lowest.items())


def _target(t: Target, timing: Timing) -> TargetConfig:
    from oracles.config import TargetConfig

    parts = urlsplit(t.url)
    where = {"url": t.url} if parts.scheme in ("http", "https") else {"address": parts.netloc}
    return TargetConfig(name=t.name, service_id=t.service_id, kind="http" if "url" in where else parts.scheme,
                        threshold_seconds=t.threshold_seconds, **where, **timing.probe())


def node_config(i: int, data_dir: Path, ports: list[int], api: str, chain_id: int, oracle: str,
                signers: list[str], targets: list[Target], report: Report, *, rpc_url: str | None = None,
                timing: Timing = DEFAULT) -> NodeConfig:
    """Node i's config; node 0 is the one transmitter (it relays quorum sets through the API). With
    `rpc_url` the node checks at start that the chain's OutageOracle declares `timing.bucket`."""
    from oracles.config import CanaryConfig, ChainSection, NodeConfig, NodeSection, TransmitSection

    probes = []
    for t in targets:
        try:
            probes.append(_target(t, timing))
        except ValidationError as exc:
            report(f"{t.url[:200]!r}: not watched: {exc.errors()[0]['msg']}")
    transmit = TransmitSection(
        enabled=True, submitter="relay", relay_url=api, quorum=oracle_quorum(len(signers)),
        peers=tuple(f"http://127.0.0.1:{p}" for p in ports[1:]), signers=tuple(signers),
        interval=timing.transmit_interval,
    ) if i == 0 else TransmitSection()
    return NodeConfig(
        node=NodeSection(data_dir=data_dir / "oracles" / f"node-{i + 1}", listen_port=ports[i], config_version=1),
        chain=ChainSection(chain_id=chain_id, oracle_address=oracle, bucket_seconds=timing.bucket,
                           **({"rpc_url": rpc_url} if rpc_url else {})),
        transmit=transmit,
        canaries=(CanaryConfig(name="api", kind="http", url=f"{api}/healthz", **timing.canary()),),
        targets=tuple(probes),
    )


def write_node_config(path: Path, config: NodeConfig) -> None:
    """`oracles.config.write_config` (mode 0600); ValueError if the config does not serialize to itself."""
    from oracles.config import write_config
    from oracles.errors import ConfigError

    try:
        write_config(path, config)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
