#!/usr/bin/env python
"""Reproduces anvil losing transactions (README "Benchmarks"): a contract that burns the gas it is
given, then transactions of ~5 M gas each from one account under 1 s interval mining: N of them,
either all at once or `--gap` seconds apart; or, with `--burst K`, K right after each block for
`--rounds` blocks (a block holds 5: K = 5 loses none; K = 6 leaves one over at a block, and anvil
then loses the next burst and queues every later transaction of the account behind them). Prints, per block,
the nonces mined, and how many transactions the node no longer knows once its pool is settled. No
re-broadcast: this is the node alone, as the sender's pipeline first met it.

    .venv/bin/python scripts/anvil_drops.py [--count 30] [--gap 0.15] [--burst K --rounds 6]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.procs import free_port, start_anvil, stop, wait_for_rpc  # noqa: E402

# Runtime: loop while gas() > 10,000 (JUMPDEST PUSH2 10000 GAS GT PUSH1 0 JUMPI STOP); the init
# code stores it in memory and returns its 10 bytes.
RUNTIME = bytes.fromhex("5b6127105a1160005700")
INIT = bytes.fromhex("69") + RUNTIME + bytes.fromhex("600052600a6016f3")
GAS = 5_050_000  # a 100-policy settle's limit in bench_e2e


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--gap", type=float, default=0.15, help="seconds between sends (0: all at once)")
    ap.add_argument("--burst", type=int, default=0, help="transactions sent right after each block (0: --count)")
    ap.add_argument("--rounds", type=int, default=6, help="blocks to send a burst after")
    args = ap.parse_args()
    port = free_port()
    proc = start_anvil(port)
    try:
        w3 = wait_for_rpc(f"http://127.0.0.1:{port}", 20, proc=proc)
        owner = w3.eth.accounts[0]
        deployed = w3.eth.send_transaction({"from": owner, "data": "0x" + INIT.hex(), "gas": 200_000})
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        burner = w3.eth.get_transaction_receipt(deployed)["contractAddress"]
        start = w3.eth.get_block_number()
        w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[arg-type]
        hashes = []
        if args.burst:
            nonce = w3.eth.get_transaction_count(owner)
            for _ in range(args.rounds):
                seen = w3.eth.get_block_number()
                while w3.eth.get_block_number() == seen:
                    time.sleep(0.02)
                for _ in range(args.burst):
                    hashes.append(w3.eth.send_transaction({"from": owner, "to": burner, "gas": GAS, "nonce": nonce}))
                    nonce += 1
        else:
            for _ in range(args.count):
                hashes.append(w3.eth.send_transaction({"from": owner, "to": burner, "gas": GAS}))
                time.sleep(args.gap)
        for _ in range(60):  # until nothing is pending (what is left there would still be mined)
            time.sleep(1)
            status = w3.provider.make_request("txpool_status", [])["result"]  # type: ignore[arg-type]
            if int(status["pending"], 16) == 0:
                print(f"pool: {int(status['queued'], 16)} queued behind the lost ones")
                break
        for b in range(start + 1, w3.eth.get_block_number() + 1):
            block = w3.eth.get_block(b, full_transactions=True)
            if block["transactions"]:
                print(f"block {b}: gas used {block['gasUsed']:,}, nonces {[t['nonce'] for t in block['transactions']]}")
        lost = 0
        for h in hashes:
            try:
                w3.eth.get_transaction(h)
            except Exception:  # noqa: BLE001 - TransactionNotFound: the node has no trace of it
                lost += 1
        how = f"{args.burst} after each of {args.rounds} blocks" if args.burst else f"{args.gap:g} s apart"
        print(f"sent {len(hashes)} ({how}), never mined and unknown to the node: {lost}")
    finally:
        stop(proc, timeout=10)


if __name__ == "__main__":
    main()
