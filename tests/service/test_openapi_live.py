"""The OpenAPI contract, checked as a client would check it: the schemathesis CLI, every check,
against the service on a real loopback port (uvicorn, with its own eth-tester chain). No failure:
every status a route answers is declared, every body matches its schema (errors: `Error`), no
request the schema allows is refused as invalid, and a 405 names the path's methods in Allow.
The run's settings beyond the command line are in tests/service/schemathesis.toml."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.service.conftest import build_app, fresh_engine
from tests.service.helpers import ADMIN_KEY, Chain

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")  # what the checks cannot know about this API
MAX_EXAMPLES = 25  # per operation and phase: about 1,500 requests, ~1 min on two cores


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app on a free loopback port (uvicorn in a thread: the chain stays in this process)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    # FastAPI builds the schema on its first request, which took over schemathesis' fixed 10 s
    # schema-loading timeout while the e2e stacks started beside it; built here, it is cached.
    assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=300).status_code == 200
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_schemathesis_finds_no_contract_failure_on_a_live_server(chain: Chain, tmp_path: Path) -> None:
    app = build_app(chain, fresh_engine("sqlite", tmp_path, schema="live"), tmp_path)
    with serve(app) as url:
        run = subprocess.run(
            [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{url}/openapi.json", "--checks", "all",
             "--max-examples", str(MAX_EXAMPLES), "--seed", "11", "--workers", "1",
             # The e2e stacks run beside it on two shared cores: a slow answer is not a contract
             # failure (10 s, schemathesis' default, timed out on land under load).
             "--request-timeout", "60"],
            cwd=ROOT, env={**os.environ, "CYBERCOVER_ADMIN_KEY": ADMIN_KEY}, capture_output=True, text=True,
            timeout=540)
    assert run.returncode == 0, run.stdout[-30000:] + run.stderr[-5000:]
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed", run.stdout).groups())  # type: ignore[union-attr]
    assert generated == passed
    assert generated > 1000  # every operation really tested
