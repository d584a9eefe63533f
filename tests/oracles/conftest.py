from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from oracles.clock import ManualClock
from tests.oracles.helpers import T0, CertFiles, FakeService, make_cert


@pytest.fixture(autouse=True)
def _root_logging() -> Iterator[None]:
    """`cybercover-oracle run` invoked in this process (CliRunner) configures the root logger
    for the process: put it back, so later tests' log capture (pytest's handlers) is unchanged."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    svc = await FakeService().start()
    yield svc
    await svc.stop()


@pytest.fixture
async def canary() -> AsyncIterator[FakeService]:
    svc = await FakeService(body=b"ok").start()
    yield svc
    await svc.stop()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CertFiles]:
    d: Path = tmp_path_factory.mktemp("certs")
    return {"valid": make_cert(d, "valid", 90), "short": make_cert(d, "short", 1)}
