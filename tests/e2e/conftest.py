"""The e2e scenarios spend most of their time waiting on the wall clock (minute buckets, the
finality delay). Two of them therefore start in the background when the session does, and their
tests, run last, check what they recorded: `cybercover demo` as a newcomer runs it (it starts its
own stack) and the oracle network on anvil (test_oracle_network.verify_an_outage). The others run
in the foreground meanwhile."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from contracts.procs import stop
from tests.e2e.helpers import FAST_STACK, Outage, verify_an_outage

DEMO, NETWORK = "tests/e2e/test_demo.py", "tests/e2e/test_oracle_network.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.startswith((DEMO, NETWORK)))  # stable: only these move, to the end


@pytest.fixture(scope="session", autouse=True)
def _background(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    def selected(module: str) -> bool:
        return any(item.nodeid.startswith(module) for item in request.session.items)

    runs: dict[str, Any] = {}
    with ExitStack() as stack:
        if selected(NETWORK):
            pool = stack.enter_context(ThreadPoolExecutor(1))
            runs["network"] = pool.submit(verify_an_outage, tmp_path_factory.mktemp("network"))
        if selected(DEMO):
            out = tmp_path_factory.mktemp("demo")
            with open(out / "stdout", "wb") as stdout, open(out / "stderr", "wb") as stderr:
                proc = subprocess.Popen([sys.executable, "-m", "service", "demo", "--api", "http://127.0.0.1:9",
                                         "--customers", "200"], stdout=stdout, stderr=stderr,
                                        env={**os.environ, **FAST_STACK})
            stack.callback(stop, proc, 90)
            runs["demo"] = (proc, out)
        yield runs


@pytest.fixture
def demo_run(_background: dict[str, Any]) -> tuple[subprocess.Popen[bytes], Path]:
    """The demo process and the directory holding its stdout and stderr."""
    return _background["demo"]  # type: ignore[no-any-return]


@pytest.fixture
def network_outage(_background: dict[str, Any]) -> Future[Outage]:
    return _background["network"]  # type: ignore[no-any-return]
