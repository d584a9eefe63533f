"""`cybercover serve`, `worker`, `reindex` and `db upgrade`. Configuration comes from the
CYBERCOVER_* environment (service.settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from contracts.runtime import restore_recursion_limit
from service.commands.common import fail

if TYPE_CHECKING:
    from service.settings import Settings
    from service.webhooks.delivery import WebhookDispatcher
    from service.worker.payouts import PayoutWorker

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
DUE_PASS_SECONDS = 60.0  # the worker's assessment.due / overdue pass runs at most this often


def _logging() -> None:
    import logging

    from contracts.redact import RedactingFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def _private(settings: Settings) -> None:
    """Files this process creates (the SQLite database and its journals) are 0600, in a 0700 dir."""
    from contracts.runtime import private_dir, private_umask

    private_umask()
    if settings.database_url is None:
        private_dir(settings.data_dir)


@db_app.command("upgrade")
def db_upgrade_cmd() -> None:
    """Apply the shipped migrations to CYBERCOVER_DATABASE_URL (default: SQLite in the data dir)."""
    from service.db.migrate import upgrade
    from service.db.session import make_engine
    from service.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    engine.dispose()
    typer.echo(f"database at head: {engine.url.render_as_string(hide_password=True)}")


def serve_cmd(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000)) -> None:
    """Run the HTTP API (docs at /docs)."""
    import uvicorn

    from service.api.app import create_app
    from service.errors import ServiceError
    from service.settings import get_settings

    _logging()
    _private(get_settings())
    try:
        app = create_app(get_settings())
    except (ServiceError, OSError) as exc:
        fail(str(exc), 2)
    restore_recursion_limit()  # after every import (see contracts.runtime)
    uvicorn.run(app, host=host, port=port, log_config=None)  # uvicorn's records go through _logging's handler


def _components() -> tuple[object, object, object]:
    from service.chain.gateway import gateway_from_settings
    from service.chain.indexer import Indexer
    from service.db.migrate import upgrade
    from service.db.session import make_engine, make_sessionmaker
    from service.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    gateway = gateway_from_settings(settings)
    return gateway, factory, Indexer(gateway, factory)


def run_worker(payouts: PayoutWorker, hooks: WebhookDispatcher, interval: float,
               extra: list[object] | None = None) -> str:
    """The payout loop in this (main) thread, webhook deliveries in a thread of their own: the
    payout loop never waits on a receiver. SIGTERM stops the payout loop (in-flight transactions
    confirm), then the dispatcher (in-flight deliveries get a few seconds, the rest are released
    for the next start). `extra` passes (notices) run in a thread of their own, every interval."""
    hooks.start()
    try:
        summary = payouts.run_forever(interval, extra)
    finally:
        hooks.stop(timeout=hooks.limits.stop_grace + 10)
    return f"{summary}; {hooks.run_summary()}"


def worker_cmd() -> None:
    """Index chain events, settle verified outages, deliver webhooks; until SIGTERM."""
    from service.settings import get_settings
    from service.webhooks.delivery import WebhookDispatcher
    from service.worker.due_notices import DueNotifier
    from service.worker.issue_reconciler import IssueReconciler
    from service.worker.notices import ExpiringNotices
    from service.worker.payouts import PayoutWorker

    _logging()
    settings = get_settings()
    _private(settings)
    gateway, factory, indexer = _components()
    restore_recursion_limit()
    payouts = PayoutWorker(gateway, factory, indexer, batch=settings.settle_batch,  # type: ignore[arg-type]
                           lease_seconds=settings.lease_seconds, in_flight=settings.settle_in_flight)
    hooks = WebhookDispatcher.from_settings(factory, settings)  # type: ignore[arg-type]
    expiring = ExpiringNotices(gateway, factory, indexer, days=settings.notice_expiring_days)  # type: ignore[arg-type]
    due = DueNotifier(gateway, factory, min_interval=DUE_PASS_SECONDS)  # type: ignore[arg-type]
    reconciler = IssueReconciler(gateway, factory, indexer,  # type: ignore[arg-type]
                                 stale_after=settings.issue_stale_seconds)
    typer.echo(run_worker(payouts, hooks, settings.worker_interval, [expiring, due, reconciler]))


def reindex_cmd() -> None:
    """Drop the chain projection and rebuild it from the deployment block."""
    _, _, indexer = _components()
    n = indexer.rebuild()  # type: ignore[attr-defined]
    typer.echo(f"reindexed {n} events")


def reconcile_cmd(stale_seconds: float = typer.Option(
        None, "--stale-seconds", min=0,
        help="decide what was left undecided this long (default CYBERCOVER_ISSUE_STALE_SECONDS)")) -> None:
    """One pass of the worker's issuance reconciler: owners of covers (and renewals) a dead
    issuing process sent, covers that can never be issued, batches it left open."""
    from service.domain import issue_intents
    from service.settings import get_settings

    gateway, factory, indexer = _components()
    stale = get_settings().issue_stale_seconds if stale_seconds is None else stale_seconds
    done = issue_intents.reconcile(factory, gateway, indexer, stale_after=stale)  # type: ignore[arg-type]
    typer.echo(f"recorded {done.issued} owners from the chain, {done.not_issued} covers never issued, "
               f"{len(done.batches)} batches finished")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
    app.command("reconcile")(reconcile_cmd)
    app.command("worker")(worker_cmd)
    app.command("reindex")(reindex_cmd)
    app.add_typer(db_app, name="db")
