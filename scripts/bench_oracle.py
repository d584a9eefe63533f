#!/usr/bin/env python
"""How many probes per second one oracle node sustains, and whether its schedule holds.

A child process serves plain HTTP on a few loopback ports; the node (the real pipeline:
scheduler, fresh-connection httpx probes with conditions, signed evidence log, per-minute
bookkeeping) probes 2,000 targets at a 30 s interval (~67 probes/s) for a bounded time.
"Held" means p99 schedule drift (actual − planned start) stays under one second with no
skipped slots. A short saturation phase (same targets, 3 s interval ≈ 667 probes/s required)
shows the headroom. Then EIP-712 outage-report signatures per second.

Writes bench/oracle.json and prints the figures.

    .venv/bin/python scripts/bench_oracle.py              # ~90 s
    .venv/bin/python scripts/bench_oracle.py --duration 20 --saturation 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eth_utils.crypto import keccak  # noqa: E402

from contracts import eip712  # noqa: E402
from oracles.config import parse_config  # noqa: E402
from oracles.keys import NodeKey  # noqa: E402
from oracles.node import OracleNode  # noqa: E402

BODY = b'{"status": "up"}'
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(BODY)).encode() + b"\r\nConnection: close\r\n\r\n" + BODY)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(RESPONSE)
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(count: int) -> None:
    servers = [await asyncio.start_server(_handle, "127.0.0.1", 0, backlog=1024)
               for _ in range(count)]
    print(" ".join(str(s.sockets[0].getsockname()[1]) for s in servers), flush=True)
    await asyncio.Event().wait()


def start_servers(count: int) -> tuple[subprocess.Popen[str], list[int]]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(count)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ports = [int(p) for p in proc.stdout.readline().split()]
    return proc, ports


def node_config(data_dir: Path, ports: list[int], targets: int, interval: float
                ) -> dict[str, Any]:
    return {
        "node": {"data_dir": str(data_dir), "config_version": 1, "max_concurrency": 256,
                 "log_level": "WARNING"},
        "chain": {"chain_id": 31337,
                  "oracle_address": "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
        "canaries": [{"name": "canary", "kind": "http", "url": f"http://127.0.0.1:{ports[0]}/c",
                      "interval": 10, "timeout": 2}],
        "targets": [
            {"name": f"t{i:05d}", "service": f"bench-{i}", "kind": "http",
             "url": f"http://127.0.0.1:{ports[i % len(ports)]}/t/{i}", "interval": interval,
             "timeout": min(5.0, interval / 2), "body_contains": "up", "min_samples": 1}
            for i in range(targets)
        ],
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_phase(ports: list[int], targets: int, interval: float, duration: float
                    ) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config(node_config(Path(tmp), ports, targets, interval))
        node = OracleNode(config, NodeKey(keccak(text="bench-node")))
        stop = asyncio.Event()
        runner = asyncio.create_task(node.run_forever(stop))
        began = time.perf_counter()
        # The rate is measured after a short warm-up (imports, first connections) until stop.
        warmup = min(5.0, duration / 4)
        await asyncio.sleep(warmup)
        done_at_warmup, warm_at = node.runner.completed, time.perf_counter()
        await asyncio.sleep(duration - warmup)
        done_at_end, end_at = node.runner.completed, time.perf_counter()
        stop.set()
        summary = await runner
        elapsed = time.perf_counter() - began
        rate = (done_at_end - done_at_warmup) / (end_at - warm_at)
        outcomes: dict[str, float] = {}
        for sample in next(iter(node.metrics.probes.collect())).samples:
            if sample.name.endswith("_total"):
                key = sample.labels["outcome"]
                outcomes[key] = outcomes.get(key, 0) + sample.value
        drifts = [d * 1000 for d in node.runner.drifts]
        await node.aclose()
    required = (targets / interval) + 0.1  # + the canary
    p99 = percentile(drifts, 0.99)
    return {
        "targets": targets,
        "interval_s": interval,
        "duration_s": round(elapsed, 1),
        "required_probes_per_s": round(required, 1),
        "probes_per_s": round(rate, 1),
        "probes": summary.probes,
        "outcomes": outcomes,
        "p50_drift_ms": round(percentile(drifts, 0.50), 2),
        "p99_drift_ms": round(p99, 2),
        "max_drift_ms": round(max(drifts, default=float("nan")), 2),
        "mean_drift_ms": round(statistics.fmean(drifts), 2) if drifts else None,
        "slots_skipped": summary.slots_skipped,
        "schedule_held": bool(p99 < 1000 and summary.slots_skipped == 0),
    }


def signatures_per_second(seconds: float = 3.0) -> tuple[float, float]:
    key = NodeKey(keccak(text="bench-signer"))
    dom = eip712.oracle_domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
    sid = eip712.service_id("bench")
    n, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        msg = eip712.outage_report_message(sid, 1, 1_700_000_000, 1_700_000_000 + 60 * (n + 1),
                                           True, keccak(n.to_bytes(8, "big")), n + 1)
        key.sign_outage_report(dom, msg)
        n += 1
    reports = n / (time.perf_counter() - began)
    n, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        key.sign_hash(keccak(n.to_bytes(8, "big")))
        n += 1
    return reports, n / (time.perf_counter() - began)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING)
    proc, ports = start_servers(args.servers)
    try:
        steady = await run_phase(ports, args.targets, args.interval, args.duration)
        saturation = (await run_phase(ports, args.targets, 3.0, args.saturation)
                      if args.saturation > 0 else None)
    finally:
        proc.terminate()
        proc.wait()
    report_sigs, hash_sigs = signatures_per_second()
    return {
        "targets": args.targets,
        "probes_per_s": steady["probes_per_s"],
        "p99_drift_ms": steady["p99_drift_ms"],
        "signatures_per_s": round(report_sigs),
        "observation_signatures_per_s": round(hash_sigs),
        "schedule_held": steady["schedule_held"],
        "steady": steady,
        "saturation": saturation,
        # Other work on the host skews these figures; the load average says how much.
        "host": {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                 "loadavg_1m_at_end": round(os.getloadavg()[0], 2)},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--duration", type=float, default=75.0, help="steady phase, seconds")
    parser.add_argument("--saturation", type=float, default=15.0,
                        help="saturation phase at a 3 s interval, seconds (0: skip)")
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "oracle.json")
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        sys.exit(0)
    result = asyncio.run(main(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    s = result["steady"]
    print(f"{s['targets']} targets every {s['interval_s']:g} s for {s['duration_s']} s: "
          f"{s['probes_per_s']} probes/s (required {s['required_probes_per_s']}), "
          f"drift p50 {s['p50_drift_ms']} ms, p99 {s['p99_drift_ms']} ms, "
          f"max {s['max_drift_ms']} ms, skipped {s['slots_skipped']}, "
          f"outcomes {s['outcomes']} -> schedule {'held' if s['schedule_held'] else 'NOT held'}")
    if (sat := result["saturation"]) is not None:
        print(f"saturation (required {sat['required_probes_per_s']}/s): "
              f"{sat['probes_per_s']} probes/s, p99 drift {sat['p99_drift_ms']} ms, "
              f"skipped {sat['slots_skipped']}")
    print(f"EIP-712 report signatures: {result['signatures_per_s']}/s; "
          f"observation signatures: {result['observation_signatures_per_s']}/s")
    print(f"wrote {args.output}")
