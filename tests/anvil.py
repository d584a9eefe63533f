"""A throwaway anvil on a free loopback port, for tests over real JSON-RPC (it mines on demand;
`contracts.procs.mine_every` switches it to interval mining)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from web3 import Web3

from contracts.procs import free_port, start_anvil, stop, wait_for_rpc


@contextmanager
def anvil() -> Iterator[tuple[str, Web3]]:
    port = free_port()
    proc = start_anvil(port)
    url = f"http://127.0.0.1:{port}"
    try:
        yield url, wait_for_rpc(url, 20, proc=proc)
    finally:
        stop(proc, timeout=10)
