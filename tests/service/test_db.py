"""Migrations and the database commands, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.chain.indexer import Indexer
from service.cli import _register
from service.cli import app as cli_app
from service.commands import serve as serve_cmds
from service.db import models as m
from service.db.migrate import alembic_config, upgrade
from service.db.session import make_engine, make_sessionmaker
from service.settings import get_settings
from tests.service.conftest import fresh_engine

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)


def test_migrations_create_exactly_the_models(backend: str, tmp_path: Path) -> None:
    engine = fresh_engine(backend, tmp_path, schema="cybercover_migrations")
    try:
        upgrade(engine)
        upgrade(engine)  # idempotent at head
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), m.Base.metadata) == []
            assert {"policies", "claims", "payouts", "outages", "webhook_deliveries"} <= set(
                inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_big_amounts_round_trip_exactly(app: FastAPI) -> None:
    big = 2**96 - 1
    with app.state.factory.begin() as s:
        s.add(m.Payout(policy_id=2**62, beneficiary="0x" + "ee" * 20, amount=big, entitlement=big - 1, block=1,
                       tx="0x" + "ee" * 32, log_index=0))
    with app.state.factory.begin() as s:
        row = s.scalars(select(m.Payout).where(m.Payout.policy_id == 2**62)).one()
        assert (row.amount, row.entitlement) == (big, big - 1)
        s.delete(row)


@pytest.fixture
def cli() -> Iterator[CliRunner]:
    if not cli_app.registered_commands:
        _register()
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_db_upgrade_command(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYBERCOVER_DATA_DIR", str(tmp_path))
    result = cli.invoke(cli_app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'cybercover.db'}")
    assert "policies" in inspect(engine).get_table_names()
    engine.dispose()


def test_reindex_command(cli: CliRunner, app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'lost.db'}")
    upgrade(engine)
    factory = make_sessionmaker(engine)
    gw = app.state.gateway
    monkeypatch.setattr(serve_cmds, "_components", lambda: (gw, factory, Indexer(gw, factory)))
    result = cli.invoke(cli_app, ["reindex"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("reindexed ")
    with factory() as s:
        assert s.scalar(select(m.ChainCursor.block)) == gw.w3.eth.block_number
    engine.dispose()


def test_0008_parks_flat_premiums_and_the_downgrade_restores_them(backend: str, tmp_path: Path) -> None:
    """Flat premiums read as annual ppm would underprice every cover: 0008 moves them aside (the
    product then declines every level) and the downgrade puts them back."""
    engine = fresh_engine(backend, tmp_path, schema="cybercover_migrations")

    def migrate(step: Callable[..., None], revision: str) -> None:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, revision)

    try:
        migrate(command.upgrade, "0007")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO product_terms (product_id, name, service_name, rates, medium_sub_limit_bps, "
                              "created_at) VALUES (1, 'old', 'svc', :r, 5000, '2025-01-01')"),
                         {"r": json.dumps({"low": 5_000_000})})
        migrate(command.upgrade, "head")
        with Session(engine) as s:
            t = s.get(m.ProductTerms, 1)
            assert t is not None
            assert (t.rates, t.flat_rates) == ({}, {"low": 5_000_000})
            assert (t.score_adjustment_bps, t.quote_validity_seconds, t.max_report_age_seconds) == (
                0, 7 * 86400, 365 * 86400)
        migrate(command.downgrade, "0007")
        with engine.connect() as conn:
            rates = conn.execute(text("SELECT rates FROM product_terms WHERE product_id = 1")).scalar_one()
        assert (json.loads(rates) if isinstance(rates, str) else rates) == {"low": 5_000_000}
    finally:
        engine.dispose()


def test_0009_fills_assessment_subjects_from_the_reports(backend: str, tmp_path: Path) -> None:
    """assessments.subject is the report's subject commitment, for rows written before it existed."""
    engine = fresh_engine(backend, tmp_path, schema="cybercover_0009")

    def migrate(step: Callable[..., None], revision: str) -> None:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, revision)

    commitment = "0x" + "Ab" * 32
    try:
        migrate(command.upgrade, "0007")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO tenants (id, name, insurer, created_at) VALUES ('t1', 'old', false, "
                              "'2025-01-01')"))
            conn.execute(text("INSERT INTO assessments (id, tenant_id, report, report_hash, score_bps, risk_level, "
                              "subject_salt, created_at) VALUES ('a1', 't1', :r, '0x00', 9500, 'low', '0x00', "
                              "'2025-01-01')"), {"r": json.dumps({"subject": {"commitment": commitment}})})
        migrate(command.upgrade, "head")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT subject FROM assessments WHERE id = 'a1'")).scalar_one() == \
                commitment.lower()
        migrate(command.downgrade, "0007")
        migrate(command.upgrade, "head")
    finally:
        engine.dispose()
