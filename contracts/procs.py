"""Local processes, for `cybercover up` and its supervisor, the demo, anvil and the end-to-end
tests: free ports, waiting, graceful stops. In `contracts` because both halves import it."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(ready: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Polls `ready` (a connection error counts as not ready) every 0.1 s; False after `timeout`
    seconds (0: asks once), or as soon as `proc`, the process meant to answer, has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return True
        except (OSError, httpx.HTTPError):  # requests' errors (web3's) are OSErrors
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
