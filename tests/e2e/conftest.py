"""`cybercover demo` runs in the background from the start of the e2e session and its test, run
last, checks its outcome: the demo spends most of its time waiting on the wall clock (minute
buckets, the finality delay), as the other e2e tests do, so they wait at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.procs import stop
from tests.e2e.procs import FAST_STACK

DEMO = "tests/e2e/test_demo.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.startswith(DEMO))  # stable: only the demo's test moves, to the end


@pytest.fixture(scope="session", autouse=True)
def demo_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[subprocess.Popen[bytes], Path] | None]:
    """The README's demo as a newcomer runs it (`cybercover demo` starts its own stack), when its
    test is selected: the process and the directory holding its stdout and stderr."""
    if not any(item.nodeid.startswith(DEMO) for item in request.session.items):
        yield None
        return
    out = tmp_path_factory.mktemp("demo")
    with open(out / "stdout", "wb") as stdout, open(out / "stderr", "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "service", "demo", "--api", "http://127.0.0.1:9",
                                 "--customers", "200"], stdout=stdout, stderr=stderr,
                                env={**os.environ, **FAST_STACK})
    try:
        yield proc, out
    finally:
        stop(proc, timeout=90)
