"""A private `cybercover up` in a data directory of its own, on free ports: the demo starts one
when no stack is running, the end-to-end tests and the benchmark start one each."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from contracts.procs import free_port, stop, wait_http
from service.stack.supervisor import running

STARTUP = 120  # seconds for anvil, the deployment and the API to come up


class StackError(RuntimeError):
    """The private stack did not come up."""


@dataclass(frozen=True)
class LocalStack:
    proc: subprocess.Popen[bytes]
    data_dir: Path
    api: str
    rpc: str

    def pid(self, name: str) -> int:
        """The pid of the child `name` (`api`, `worker`, `oracle-1`…), from the supervisor's pid file."""
        return running(self.data_dir)[name]


@contextmanager
def private_up(data_dir: Path, *, oracles: int = 3, env: dict[str, str] | None = None,
               log: Path | None = None) -> Iterator[LocalStack]:
    """Starts `cybercover up` in `data_dir` with its own anvil, yields once its API answers, and
    stops it gracefully (its children and anvil with it) on the way out."""
    port, chain = free_port(), free_port()
    api, rpc = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{chain}"
    # Its own chain: an inherited CYBERCOVER_RPC_URL would make `up` use that node instead.
    child_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "CYBERCOVER_RPC_URL"}
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "up", "--data-dir", str(data_dir), "--port", str(port),
         "--anvil-port", str(chain), "--oracle-base-port", str(free_port()), "--oracles", str(oracles)],
        env=child_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        if not wait_http(f"{api}/healthz", STARTUP, proc=proc):
            tail = log.read_text(errors="replace")[-3000:] if log is not None else ""
            raise StackError(f"the private `cybercover up` did not come up (exit code {proc.poll()})\n{tail}")
        yield LocalStack(proc, data_dir, api, rpc)
    finally:
        stop(proc, timeout=90)
        if not isinstance(out, int):
            out.close()
