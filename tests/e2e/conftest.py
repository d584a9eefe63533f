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


RUNS = pytest.StashKey[dict[str, Any]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[object]:
    """Starts the selected background scenarios before the first test of the session, whichever it
    is (a session fixture here would wait for the first test under tests/e2e, after the foreground
    schemathesis run in tests/service), and stops them when the session's tests are done."""
    def selected(module: str) -> bool:
        return any(item.nodeid.startswith(module) for item in session.items)

    factory: pytest.TempPathFactory = session.config._tmp_path_factory  # type: ignore[attr-defined]
    runs: dict[str, Any] = {}
    with ExitStack() as stack:
        if any(selected(m) for m in BACKGROUND):
            pool = stack.enter_context(ThreadPoolExecutor(2))
            if selected(NETWORK):
                runs["network"] = pool.submit(verify_an_outage, factory.mktemp("network"))
            if selected(RESILIENCE):
                runs["resilience"] = pool.submit(node_down_worker_killed_and_replay, factory.mktemp("resilience"))
            if selected(DEMO):
                out = factory.mktemp("demo")
                with open(out / "stdout", "wb") as stdout, open(out / "stderr", "wb") as stderr:
                    proc = subprocess.Popen([sys.executable, "-m", "service", "demo", "--api", "http://127.0.0.1:9",
                                             "--customers", "200"], stdout=stdout, stderr=stderr,
                                            env={**os.environ, **FAST_STACK})
                stack.callback(stop, proc, 90)
                runs["demo"] = (proc, out)
        session.config.stash[RUNS] = runs
        return (yield)


@pytest.fixture
def _background(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.config.stash[RUNS]


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
