"""The e2e scenarios spend most of their time waiting on the wall clock (verdict buckets, the
finality delay; 6 s buckets on every e2e stack, helpers.E2E_BUCKET). Each needs its own stack (the
demo starts one as a newcomer would, resilience kills its worker and freezes a node, the oracle
network submits over RPC with its own nodes), so none is shared; instead the three start in the
background when the session does, and their tests, run last, check what they recorded:
`cybercover demo`, the oracle network on anvil (helpers.verify_an_outage) and the resilience
scenario (resilience.py). The schemathesis contract run (in-process chain) runs in the
foreground meanwhile."""

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

pytest.register_assert_rewrite("tests.e2e.helpers", "tests.e2e.resilience")  # scenario asserts say what failed

from contracts.procs import stop  # noqa: E402
from tests.e2e.helpers import FAST_STACK, Outage, verify_an_outage  # noqa: E402
from tests.e2e.resilience import node_down_worker_killed_and_replay  # noqa: E402

DEMO, NETWORK = "tests/e2e/test_demo.py", "tests/e2e/test_oracle_network.py"
RESILIENCE = "tests/e2e/test_resilience.py"
BACKGROUND = (DEMO, NETWORK, RESILIENCE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.startswith(BACKGROUND))  # stable: only these move, to the end


@pytest.fixture(scope="session", autouse=True)
def _background(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    def selected(module: str) -> bool:
        return any(item.nodeid.startswith(module) for item in request.session.items)

    runs: dict[str, Any] = {}
    with ExitStack() as stack:
        pool = stack.enter_context(ThreadPoolExecutor(2))
        if selected(NETWORK):
            runs["network"] = pool.submit(verify_an_outage, tmp_path_factory.mktemp("network"))
        if selected(RESILIENCE):
            runs["resilience"] = pool.submit(node_down_worker_killed_and_replay, tmp_path_factory.mktemp("resilience"))
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


@pytest.fixture
def resilience_run(_background: dict[str, Any]) -> Future[None]:
    return _background["resilience"]  # type: ignore[no-any-return]
