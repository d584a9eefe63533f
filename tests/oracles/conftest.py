from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from oracles.clock import ManualClock
from tests.oracles.helpers import T0, CertFiles, FakeService, make_cert


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
