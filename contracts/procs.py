"""Local processes, the one place for them: a free loopback port, waiting for an HTTP endpoint,
and a graceful stop. Used by `cybercover up` and its supervisor, the demo, the local anvil
(contracts.anvil) and the end-to-end tests; here because `contracts` is the package both halves
import (it imports neither)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable

import httpx

POLL = 0.1  # seconds between readiness checks: starting processes answer within a few polls


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(ready: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Polls `ready` (a connection error counts as not ready) until it holds; False after `timeout`
    seconds (0: asks once), or at once when `proc` (the process meant to answer) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return True
        except (OSError, httpx.HTTPError):  # requests' errors (web3) are OSErrors
            pass
        if time.monotonic() >= deadline or (proc is not None and proc.poll() is not None):
            return False
        time.sleep(POLL)


def wait_http(url: str, timeout: float = 60, *, ready: Callable[[int], bool] = lambda status: status < 500,
              proc: subprocess.Popen[bytes] | None = None) -> bool:
    """`wait_until` `url` answers with a `ready` status (default: anything but a server error)."""
    return wait_until(lambda: ready(httpx.get(url, timeout=2).status_code), timeout, proc)


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 20) -> None:
    """SIGTERM (each of our processes finishes its in-flight work and, for anvil, writes its
    state), then SIGKILL after `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
