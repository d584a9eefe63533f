"""The test chain's clock after a snapshot revert (CI finding, stop 18).

py-evm re-creates the pending block at max(wall clock, parent + 1) when a snapshot is reverted, so a
chain that lags the wall clock already stands past `latest + seconds`; eth-tester refuses to travel
back to it. `Ledger.travel` and `governance.wait_until` must then take the pending block's time.
"""

from __future__ import annotations

import time

from web3 import EthereumTesterProvider, Web3

from contracts import governance
from tests.chain import Ledger


def lagging_chain() -> tuple[Web3, int]:
    w3 = Web3(EthereumTesterProvider())
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.mine_blocks(1)
    snap = tester.take_snapshot()
    latest = int(w3.eth.get_block("latest")["timestamp"])
    time.sleep(max(0.0, latest + 3.1 - time.time()))  # the wall clock moves past the snapshot's block
    tester.mine_blocks(1)
    tester.revert_to_snapshot(snap)
    latest = int(w3.eth.get_block("latest")["timestamp"])
    assert int(w3.eth.get_block("pending")["timestamp"]) > latest + 1  # the situation under test
    return w3, latest


def test_travel_behind_the_pending_block_lands_on_the_next_block_time() -> None:
    w3, latest = lagging_chain()
    led = Ledger.__new__(Ledger)  # only the clock helpers: no deployment needed
    led.w3 = w3
    at = led.travel(1, mine=True)
    assert at >= latest + 1
    assert led.now() == at  # the value returned is the block time the next block got


def test_wait_until_a_time_the_pending_block_already_passed_returns() -> None:
    w3, latest = lagging_chain()
    governance.wait_until(w3, latest + 1)
    w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]
    assert int(w3.eth.get_block("latest")["timestamp"]) >= latest + 1
