"""A private `cybercover up` on free ports, with its own anvil (the demo, the e2e tests, benchmarks)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from contracts.procs import free_port, stop, wait_http


@contextmanager
def private_up(data_dir: Path, *, oracles: int = 3, env: dict[str, str] | None = None,
               log: Path | None = None) -> Iterator[tuple[str, str]]:
    """Yields the API's and the chain's URLs once the API answers; stops `up` (its children and
    anvil with it) on the way out."""
    port, chain = free_port(), free_port()
    # An inherited CYBERCOVER_RPC_URL would make `up` use that node instead of its own anvil.
    child_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "CYBERCOVER_RPC_URL"}
    with open(log or os.devnull, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service", "up", "--data-dir", str(data_dir), "--port", str(port),
             "--anvil-port", str(chain), "--oracle-base-port", str(free_port()), "--oracles", str(oracles)],
            env=child_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        if not wait_http(f"http://127.0.0.1:{port}/healthz", 120, proc=proc):
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"the private `cybercover up` did not come up (exit code {proc.poll()})\n{tail}")
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{chain}"
    finally:
        stop(proc, timeout=90)
