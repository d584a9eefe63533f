"""A private `cybercover up` for end-to-end tests, with handles on its child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service.commands.demo import Demo, _free_port, _reachable


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    data_dir: Path
    api: str
    rpc: str

    def demo(self, customers: int) -> Demo:
        os.environ["CYBERCOVER_RPC_URL"] = self.rpc
        return Demo(self.api, self.data_dir, customers, print)

    def child(self, needle: str) -> int:
        """PID of the `up` child whose command line contains `needle`."""
        for pid in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                continue
            if needle in cmd:
                return int(pid)
        raise LookupError(f"no child of cybercover up runs {needle!r}")


@contextmanager
def stack(tmp: Path, *, oracles: int = 3, env: dict[str, str] | None = None) -> Iterator[Stack]:
    port, chain = _free_port(), _free_port()
    api, rpc = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{chain}"
    log = open(tmp / "up.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "up", "--data-dir", str(tmp / "data"), "--port", str(port),
         "--anvil-port", str(chain), "--oracle-base-port", str(_free_port()), "--oracles", str(oracles)],
        env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not _reachable(api):
            assert proc.poll() is None, (tmp / "up.log").read_text()
            assert time.monotonic() < deadline, "cybercover up did not come up"
            time.sleep(0.5)
        yield Stack(proc, tmp / "data", api, rpc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
