"""Admin actions through the deployment's timelock (`Governance`, an OpenZeppelin
TimelockController): schedule a call, wait the minimum delay, execute it.

On a production deployment the timelock is the only holder of every admin role, so a role
grant, an oracle-set change or an accreditation is visible on chain (`CallScheduled`) for the
whole delay before it can take effect (`CallExecuted`), and a proposer can cancel it meanwhile.

    op = schedule(w3, timelock, oracle.functions.setConfig(signers, quorum), proposer)
    ...                                     # ≥ getMinDelay() seconds later
    execute(w3, timelock, op, executor)

`govern` does all three, travelling in time on a local chain (eth-tester, anvil) and sleeping
on any other; it is what tests and local CLI commands use.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from web3 import Web3
from web3.types import TxReceipt

from contracts.errors import ContractsError
from contracts.sender import send

ZERO32 = b"\x00" * 32
# Chains whose clock can be moved by RPC (anvil, hardhat); eth-tester is recognised by provider.
LOCAL_TRAVEL_CHAIN_IDS = frozenset({31337})


class GovernanceError(ContractsError):
    """A timelock operation that cannot be carried out as asked."""


@dataclass(frozen=True)
class Operation:
    """One scheduled timelock operation (one call, or several executed atomically)."""

    targets: tuple[str, ...]
    values: tuple[int, ...]
    payloads: tuple[bytes, ...]
    predecessor: bytes
    salt: bytes
    id: bytes
    ready_at: int  # chain timestamp from which it can be executed


def _encode(call: Any) -> tuple[str, bytes]:
    """A bound contract function (`c.functions.f(...)`) → (target, calldata)."""
    target = getattr(call, "address", None)
    if not target:
        raise GovernanceError(f"{call!r} is not a call bound to a deployed contract")
    return str(target), bytes.fromhex(call._encode_transaction_data()[2:])


def _fields(call: Any | Sequence[Any]) -> tuple[tuple[str, ...], tuple[int, ...], tuple[bytes, ...]]:
    """One call or a list of them → the timelock's (targets, values, payloads)."""
    encoded = [_encode(c) for c in (call if isinstance(call, list | tuple) else [call])]
    if not encoded:
        raise GovernanceError("nothing to schedule")
    return tuple(t for t, _ in encoded), (0,) * len(encoded), tuple(d for _, d in encoded)


def _one_or_batch(timelock: Any, name: str, targets: Sequence[str], values: Sequence[int],
                  payloads: Sequence[bytes], *rest: Any) -> Any:
    """The timelock's `name` call for one target, or its `nameBatch` for several."""
    if len(targets) == 1:
        return getattr(timelock.functions, name)(targets[0], values[0], payloads[0], *rest)
    return getattr(timelock.functions, name + "Batch")(list(targets), list(values), list(payloads), *rest)


def operation_id(timelock: Any, targets: Sequence[str], values: Sequence[int], payloads: Sequence[bytes],
                 predecessor: bytes = ZERO32, salt: bytes = ZERO32) -> bytes:
    return bytes(_one_or_batch(timelock, "hashOperation", targets, values, payloads, predecessor, salt).call())


def plan(timelock: Any, call: Any | Sequence[Any], *, predecessor: bytes = ZERO32,
         salt: bytes | None = None) -> Operation:
    """The operation that would run `call` (a bound contract function, or a list executed
    atomically), not yet scheduled (`ready_at` 0). `salt` defaults to a random one so that an
    identical call can be scheduled again later."""
    targets, values, payloads = _fields(call)
    salt = os.urandom(32) if salt is None else salt
    op_id = operation_id(timelock, targets, values, payloads, predecessor, salt)
    return Operation(targets, values, payloads, predecessor, salt, op_id, 0)


def schedule_call(timelock: Any, op: Operation, delay: int) -> Any:
    """The timelock's bound `schedule` (or `scheduleBatch`) call for `op`, for any sender."""
    return _one_or_batch(timelock, "schedule", op.targets, op.values, op.payloads, op.predecessor, op.salt, delay)


def execute_call(timelock: Any, op: Operation) -> Any:
    """The timelock's bound `execute` (or `executeBatch`) call for `op`, for any sender."""
    return _one_or_batch(timelock, "execute", op.targets, op.values, op.payloads, op.predecessor, op.salt)


def schedule(w3: Web3, timelock: Any, call: Any | Sequence[Any], sender: str, *, delay: int | None = None,
             predecessor: bytes = ZERO32, salt: bytes | None = None) -> Operation:
    """Schedules `call` (a bound contract function, or a list executed atomically) on the timelock;
    `sender` needs PROPOSER_ROLE. `delay` defaults to the timelock's minimum; `salt` defaults to a
    random one so that an identical call can be scheduled again later."""
    op = plan(timelock, call, predecessor=predecessor, salt=salt)
    delay = int(timelock.functions.getMinDelay().call()) if delay is None else delay
    send(w3, schedule_call(timelock, op, delay), sender)
    return replace(op, ready_at=int(timelock.functions.getTimestamp(op.id).call()))


def execute(w3: Web3, timelock: Any, op: Operation, sender: str) -> TxReceipt:
    """Executes a ready operation; `sender` needs EXECUTOR_ROLE. Before `op.ready_at` the timelock
    reverts `TimelockUnexpectedOperationState` (raised here as a decoded `ContractRevert`)."""
    return send(w3, execute_call(timelock, op), sender)


def cancel(w3: Web3, timelock: Any, op: Operation, sender: str) -> TxReceipt:
    """Cancels a pending operation; `sender` needs CANCELLER_ROLE (every proposer has it)."""
    return send(w3, timelock.functions.cancel(op.id), sender)


DONE_TIMESTAMP = 1  # TimelockController marks an executed operation's timestamp so


def operation_state(timelock: Any, op_id: bytes, now: int) -> str:
    """`unset` (never scheduled, or cancelled), `waiting` (before its ready time), `ready` or
    `done` — TimelockController.getOperationState, judged at chain time `now`."""
    at = int(timelock.functions.getTimestamp(op_id).call())
    if at == 0:
        return "unset"
    if at == DONE_TIMESTAMP:
        return "done"
    return "waiting" if at > now else "ready"


def wait_until(w3: Web3, timestamp: int, *, travel: bool | None = None, poll: float = 1.0) -> None:
    """Returns once a new block can carry `timestamp`: on eth-tester and anvil by moving the chain
    clock (`travel`, the default there), elsewhere by sleeping until the chain gets there."""
    provider = w3.provider
    tester = getattr(provider, "ethereum_tester", None)
    if travel is None:
        travel = tester is not None or w3.eth.chain_id in LOCAL_TRAVEL_CHAIN_IDS
    latest = int(w3.eth.get_block("latest")["timestamp"])
    if latest >= timestamp:
        return
    if travel and tester is not None:
        # The next block is mined at `timestamp`, unless the pending one already stands later
        # (py-evm re-creates it at the wall clock after a snapshot revert; no travelling back).
        if int(w3.eth.get_block("pending")["timestamp"]) < timestamp:
            tester.time_travel(timestamp)
        return
    if travel:
        # anvil / hardhat: the next block gets at least `timestamp`.
        provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
        provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        return
    while int(w3.eth.get_block("latest")["timestamp"]) < timestamp:
        time.sleep(poll)


def govern(w3: Web3, timelock: Any, call: Any | Sequence[Any], sender: str, *,
           travel: bool | None = None) -> TxReceipt:
    """Schedules `call`, waits the timelock's delay (time travel on a local chain, sleeping
    otherwise) and executes it; `sender` must be proposer and executor. Returns the execution
    receipt (the target's events are in it)."""
    op = schedule(w3, timelock, call, sender)
    wait_until(w3, op.ready_at, travel=travel)
    return execute(w3, timelock, op, sender)
