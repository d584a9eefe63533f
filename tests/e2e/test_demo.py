"""The README's demo, as a newcomer runs it: `cybercover demo` starts its own stack (started at the
beginning of the e2e session, see conftest.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_demo_runs_the_whole_cycle_and_every_check_holds(demo_run: tuple[subprocess.Popen[bytes], Path]) -> None:
    proc, out_dir = demo_run
    code = proc.wait(timeout=840)
    out, err = (out_dir / "stdout").read_text(), (out_dir / "stderr").read_text()
    assert code == 0, out + err
    assert "all 200 customers hold 20 cUSD" in out
    assert "200 customers (CSV) in one transaction" in out  # the group cover (CohortBook)
    assert "group cover: all 200 customers hold 20 cUSD, paid in multiproof batches" in out
    assert "enterprise beneficiary holds 500 cUSD" in out
    assert "a second cancel is refused: 409 policy_not_active" in out
    assert "s inside the window, 0 s that pays" in out
    assert "demo: every check held" in out
    assert "FAIL" not in out
    # The pages a newcomer opens: the scenario's status page, printed before and after the outage.
    assert len(re.findall(r"status page: http://127\.0\.0\.1:\d+/status/0x[0-9a-f]{64}", out)) == 2
    assert re.search(r"cover page of customer acme-customer-0: http://127\.0\.0\.1:\d+/cover/\d+\?ref=", out)
