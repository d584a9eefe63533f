"""A throwaway anvil on a free loopback port, for tests over real JSON-RPC."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from web3 import Web3

from service.commands.ledger import ANVIL_BIN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def anvil(block_time: float | None = None) -> Iterator[tuple[str, Web3]]:
    port = free_port()
    cmd = [str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(port), "--hardfork", "prague", "--silent"]
    if block_time:
        cmd += ["--block-time", str(block_time)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if w3.eth.chain_id:
                    break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("anvil did not start") from None
                time.sleep(0.1)
        yield url, w3
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
