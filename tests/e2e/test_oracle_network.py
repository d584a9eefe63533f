"""Three oracle node processes, anvil, and a loopback HTTP service that goes down for longer
than a short threshold: the nodes co-sign, one transmits, and OutageOracle records it. The
scenario runs in the background from the start of the e2e session (conftest.py); the test checks
what it recorded."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from contracts import eip712
from tests.e2e.helpers import E2E_BUCKET, SERVICE, Outage

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]


def test_three_nodes_verify_an_outage_on_anvil(network_outage: Future[Outage]) -> None:
    outage = network_outage.result(timeout=400)
    went_down, events = outage.went_down, outage.events
    assert events, f"no OutageVerified within 300 s; node logs:\n{outage.logs}"
    ev = events[0]["args"]
    assert ev["serviceId"] == eip712.service_id(SERVICE)
    # The window starts at a bucket boundary at or after the outage began (the first DOWN bucket
    # of the deployment's E2E_BUCKET-second buckets) and lasts at least the threshold (one bucket).
    assert went_down - E2E_BUCKET <= ev["start"]
    assert ev["start"] % E2E_BUCKET == 0
    assert ev["end"] % E2E_BUCKET == 0
    assert ev["end"] - ev["start"] >= E2E_BUCKET
    assert bin(ev["signers"]).count("1") >= 2
