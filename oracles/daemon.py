"""Running a node as a service: HTTP API and node loop on one event loop, SIGTERM handling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Iterator

import uvicorn
from pydantic import SecretStr

from .api import create_app
from .errors import OracleError
from .node import NodeSummary, OracleNode

log = logging.getLogger("oracles.daemon")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: SIGTERM belongs to the node, which must stop
    probing and finish submissions before the API goes away."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """Bind before starting anything, so a taken port is a clear error, not a half-up node."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OracleError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(node: OracleNode, host: str, port: int, *, stop: asyncio.Event | None = None,
                on_listening: Callable[[int], None] | None = None,
                metrics_token: SecretStr | None = None) -> NodeSummary:
    stop = stop or asyncio.Event()
    sock = bind(host, port)
    loop = asyncio.get_running_loop()
    handled = (signal.SIGTERM, signal.SIGINT)
    for sig in handled:
        loop.add_signal_handler(sig, stop.set)
    server = _Server(uvicorn.Config(create_app(node, metrics_token=metrics_token), log_config=None, access_log=False,
                                    lifespan="off", timeout_graceful_shutdown=5))
    server_task = asyncio.create_task(server.serve(sockets=[sock]), name="http")
    bound_port = sock.getsockname()[1]
    log.info("listening", extra={"host": host, "port": bound_port, "node": node.address})
    if on_listening is not None:
        on_listening(bound_port)
    try:
        return await node.run_forever(stop)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await server_task
        for sig in handled:
            loop.remove_signal_handler(sig)
        sock.close()
        await node.aclose()
