"""An issuing API process of its own, for the kill -9 test (tests/service/test_issue_kill.py):
starts one batch (`issue_batches.start`, as `POST /v1/policies/batch` does) from the CYBERCOVER_*
environment and the batch in argv, prints the batch id once its transactions are sent, then
waits for receipts that do not come (mining is paused) until the test kills it."""

from __future__ import annotations

import json
import logging
import sys
import time

from service.api.routes.policies import BatchIn
from service.chain.gateway import gateway_from_settings
from service.chain.indexer import Indexer
from service.db.session import make_engine, make_sessionmaker
from service.domain import issue_batches
from service.settings import get_settings


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    spec = json.loads(sys.argv[1])
    settings = get_settings()
    factory = make_sessionmaker(make_engine(settings.db_url))
    gateway = gateway_from_settings(settings)
    covers = BatchIn(quote_id=spec["quote_id"], covers=spec["covers"]).covers  # validated as the API does
    batch = issue_batches.start(factory, gateway, Indexer(gateway, factory), spec["quote_id"], covers, None,
                                spec["chunk"], tenant_id=spec["tenant_id"], may_see=lambda _: True, insurer="insurer",
                                assessor="assessor", in_flight=16)
    print(batch.id, flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
