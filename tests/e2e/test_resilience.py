"""One oracle node down, the payout worker killed with SIGKILL mid-batches, a replayed oracle report:
every policy paid exactly once (tests/e2e/resilience.py). The scenario runs in the background
from the start of the e2e session (conftest.py); the test waits for its outcome."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_node_down_worker_killed_and_replay_pay_each_policy_exactly_once(resilience_run: Future[None]) -> None:
    resilience_run.result(timeout=840)  # re-raises the scenario's failure
