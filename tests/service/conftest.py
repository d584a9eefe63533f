"""Service fixtures: one chain, and an app per database backend (SQLite always; PostgreSQL
too when CYBERCOVER_TEST_POSTGRES_URL is set: then it must work, it is never skipped)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, event, text

from service.api.app import create_app
from service.api.routes.webhooks import get_resolver
from service.db.session import make_engine
from service.settings import Settings
from tests.service.helpers import ADMIN_KEY, Api, Chain, make_chain

PG_URL = os.environ.get("CYBERCOVER_TEST_POSTGRES_URL")
PG_SCHEMA = "cybercover_test"
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def chain() -> Chain:
    return make_chain()


def fresh_engine(backend: str, tmp: Path, schema: str = PG_SCHEMA) -> Engine:
    """An empty database: a new SQLite file, or the test schema dropped and re-created."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp / f'{schema}.db'}")
        event.listen(engine, "connect", _no_fsync)
        return engine
    assert PG_URL
    # Parallel test workers (pytest-xdist) share the database: each gets its own schemas.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        schema = f"{schema}_{worker}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff")


# Test databases need not survive a power cut: no fsync on commit (SQLite synchronous=OFF,
# PostgreSQL synchronous_commit=off: a commit still waits for the server, not for the disk). What
# a commit makes visible, and when, is unchanged; on this machine's disk a commit took 3.8 ms on
# SQLite (0.2 ms without the fsync) and 6.2 ms on PostgreSQL (2.1 ms), and the service tests
# commit on nearly every request (issue 14).
def _no_fsync(conn: Any, _record: Any) -> None:
    cur = conn.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    cur.close()


# Every service test runs on SQLite. On PostgreSQL too (when configured) run the files marked
# `postgresql`: those whose outcome can depend on the database — the schema and migrations,
# the projection and its rebuild, reorgs, leases, retries and replicas, the notice outbox and
# webhook deliveries, batch status rows, cohort files, keys' timestamps, idempotency — and the
# tenancy file, whose PostgreSQL sample calls every route. The other files test Python logic and
# the chain through the same ORM code; on both backends they doubled the suite's database-backed
# half (issue 14: 487 of its 1,844 CPU-seconds were the PostgreSQL copies).
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("postgresql") is not None
        metafunc.parametrize("backend", BACKENDS if both else ["sqlite"], indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def no_dns(host: str, port: int) -> list[str]:
    """Tests send nothing beyond loopback, DNS queries included: webhook destinations are
    checked against injected resolver answers (tests/service/test_webhooks.py)."""
    raise OSError(f"tests do not resolve {host!r}")


def build_app(chain: Chain, engine: Engine, tmp: Path) -> FastAPI:
    settings = Settings(data_dir=tmp, admin_key=SecretStr(ADMIN_KEY), database_url="sqlite://")
    app = create_app(settings, gateway=chain.gateway(), engine=engine)
    app.dependency_overrides[get_resolver] = lambda: no_dns
    return app


@pytest.fixture(scope="session")
def app(chain: Chain, backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    tmp = tmp_path_factory.mktemp(f"svc-{backend}")
    engine = fresh_engine(backend, tmp)
    yield build_app(chain, engine, tmp)
    engine.dispose()


@pytest.fixture(scope="session")
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def api(client: TestClient, chain: Chain) -> Api:
    return Api(client, chain)


@pytest.fixture
def distributor(api: Api) -> tuple[str, dict[str, str]]:
    tenant = api.tenant()
    return tenant, api.key(tenant, "distributor")
