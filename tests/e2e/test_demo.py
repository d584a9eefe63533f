"""The README's demo, as a newcomer runs it: `cybercover demo` starts its own stack."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.procs import FAST_STACK

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_demo_runs_the_whole_cycle_and_every_check_holds() -> None:
    result = subprocess.run([sys.executable, "-m", "service", "demo", "--api", "http://127.0.0.1:9",
                             "--customers", "200"], capture_output=True, text=True, timeout=840,
                            env={**os.environ, **FAST_STACK})
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "all 200 customers hold 20 cUSD" in out
    assert "enterprise beneficiary holds 500 cUSD" in out
    assert "demo: every check held" in out and "FAIL" not in out
