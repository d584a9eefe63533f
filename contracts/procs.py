"""Local processes for `up`, its supervisor, the demo and the tests (in `contracts`: both halves
use them): free ports, waiting, graceful stops, and anvil. anvil mines on demand, so a deployment
confirms at once; `mine_every` then makes block time follow the wall clock before anything watches
it (or a window that just ended would still be "in the future" for the last block mined)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

from contracts.compiler import NODE_MODULES
from contracts.errors import ContractsError
from contracts.redact import redact

if TYPE_CHECKING:
    from web3 import Web3

ANVIL_BIN = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


_handed_out: set[int] = set()  # a closed port is free again: never hand it out twice (threads, stacks)


def free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_until(ready: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Polls `ready` every 0.1 s, an error counting as not ready; False after `timeout` seconds
    (0: asks once), or as soon as `proc`, the process meant to answer, has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return True
        except Exception:  # noqa: BLE001, S110 - not ready yet
            pass
        if time.monotonic() >= deadline or (proc is not None and proc.poll() is not None):
            return False
        time.sleep(0.1)


def wait_http(url: str, timeout: float = 60, *, ready: Callable[[int], bool] = lambda status: status < 500,
              proc: subprocess.Popen[bytes] | None = None) -> bool:
    return wait_until(lambda: ready(httpx.get(url, timeout=2).status_code), timeout, proc)


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 20) -> None:
    """SIGTERM (our processes finish in-flight work; anvil writes its state), SIGKILL after `timeout`."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_anvil(port: int, *, state: Path | None = None, log: IO[bytes] | int = subprocess.DEVNULL
                ) -> subprocess.Popen[bytes]:
    """With `state`, the chain is dumped there every 5 s and on exit, and loaded on start."""
    if not ANVIL_BIN.exists():
        raise ContractsError(f"anvil not found at {ANVIL_BIN}: run `npm ci` (or `make setup`)")
    persist = ["--state", str(state), "--state-interval", "5"] if state else []
    return subprocess.Popen([str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(port), "--hardfork", "prague",
                             "--chain-id", "31337", "--silent", *persist], stdout=log, stderr=subprocess.STDOUT)


def wait_for_rpc(url: str, timeout: float = 30, *, proc: subprocess.Popen[bytes] | None = None) -> Web3:
    from web3 import Web3  # here, not at import: `cybercover --help` stays fast

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    if not wait_until(lambda: bool(w3.eth.chain_id), timeout, proc):
        raise ContractsError(f"no JSON-RPC node answered at {redact(url)}"
                             + (f" within {timeout:.0f} s" if timeout else ""))
    return w3


def mine_every(w3: Web3, seconds: int = 1) -> None:
    w3.provider.make_request("evm_setIntervalMining", [seconds])  # type: ignore[arg-type]
