"""A payout worker in a process of its own, for the kill -9 test (tests/service/test_pipeline_worker.py):
one pipelined cycle from the CYBERCOVER_* environment, then exit. The test kills it while its
settle transactions sit unmined in the node's pool."""

from __future__ import annotations

import logging
import os

from service.chain.gateway import gateway_from_settings
from service.chain.indexer import Indexer
from service.db.session import make_engine, make_sessionmaker
from service.settings import get_settings
from service.worker.payouts import PayoutWorker


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    settings = get_settings()
    factory = make_sessionmaker(make_engine(settings.db_url))
    gateway = gateway_from_settings(settings)
    worker = PayoutWorker(gateway, factory, Indexer(gateway, factory), batch=settings.settle_batch,  # type: ignore[arg-type]
                          in_flight=settings.settle_in_flight, name=f"child-{os.getpid()}")
    print(worker.run_once(), flush=True)


if __name__ == "__main__":
    main()
