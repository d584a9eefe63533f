"""Shared chain helpers for tests: actors, revert/event assertions, time, oracle signing."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from eth.exceptions import HeaderNotFound
from eth.exceptions import TransactionNotFound as EVMTransactionNotFound
from eth_tester import EthereumTester
from eth_tester.backends.pyevm.main import PyEVMBackend, _get_transaction_by_hash
from eth_tester.backends.pyevm.serializers import serialize_transaction, serialize_transaction_receipt
from eth_tester.utils.filters import Filter, check_if_log_matches
from eth_utils import keccak
from web3 import EthereumTesterProvider, Web3
from web3.contract.contract import ContractConstructor
from web3.logs import DISCARD

from contracts import eip712, registry
from contracts.deploy import Deployment
from contracts.records import Episode
from contracts.reverts import ContractRevert, decode_exception
from contracts.sender import Account as SenderAccount
from contracts.sender import Sender, send

USD = 10**6  # TestToken has 6 decimals, like USDC
TEST_GAS = 12_000_000
SUBJECT = b"\x11" * 32  # the default subject commitment of test anchors


@dataclass(frozen=True)
class Signer:
    """A sign-only key (oracle nodes, relayed assessors): needs no ether."""

    name: str
    key: bytes

    @property
    def address(self) -> str:
        from eth_keys import keys

        return keys.PrivateKey(self.key).public_key.to_checksum_address()


def signer(name: str) -> Signer:
    return Signer(name, keccak(text=f"cybercover-test-{name}"))


# --- a faster eth-tester ------------------------------------------------------------------
# eth-tester finds a transaction by walking the chain back from its head, block by block
# (`_get_transaction_by_hash`, "TODO: the chain should be able to look these up directly"), and
# its `get_logs` serialises every block of the range and the receipt of each of its transactions
# (recovering each sender's public key). On the session-long test chains of thousands of blocks
# every receipt and every indexer sync then costs O(chain length), and a `get_logs` from block 0
# O(length²). The two classes below answer the same questions from py-evm's own
# transaction-hash index and from a cache of each block's logs keyed by its hash (a block's
# logs never change; a snapshot revert or a reorg changes which block is canonical at a height,
# hence its hash, and so misses the cache). Anything they cannot answer exactly falls back to
# eth-tester's own code, so results are the same, only faster.


class IndexedPyEVMBackend(PyEVMBackend):
    """PyEVMBackend whose transaction and receipt lookups are O(1) in the chain's length."""

    def _locate(self, transaction_hash: bytes) -> tuple[Any, Any, int]:
        chain = self.chain
        head = chain.get_block()  # the pending block: its transactions are in no index yet
        for index, tx in enumerate(head.transactions):
            if tx.hash == transaction_hash:
                return head, tx, index
        try:
            number, index = chain.chaindb.get_transaction_index(transaction_hash)
            if number < head.number:
                block = chain.get_canonical_block_by_number(number)
                txs = block.transactions
                if index < len(txs) and txs[index].hash == transaction_hash:
                    return block, txs[index], index
        except (EVMTransactionNotFound, HeaderNotFound, KeyError):
            pass
        # Not indexed, or the index entry is stale (eth-tester's snapshot revert re-points the
        # canonical head without touching the index): eth-tester's own walk decides.
        return _get_transaction_by_hash(chain, transaction_hash)  # type: ignore[no-any-return]

    def get_transaction_by_hash(self, transaction_hash: bytes) -> Any:
        block, tx, index = self._locate(transaction_hash)
        return serialize_transaction(block, tx, index, block.number == self.chain.get_block().number)

    def get_transaction_receipt(self, transaction_hash: bytes) -> Any:
        block, tx, index = self._locate(transaction_hash)
        return serialize_transaction_receipt(block, block.get_receipts(self.chain.chaindb), tx, index,
                                             block.number == self.chain.get_block().number, self.chain.get_vm())


class CachingEthereumTester(EthereumTester):
    """EthereumTester whose `get_logs` reads each mined block's logs once (cached by block hash)."""

    def __init__(self, backend: PyEVMBackend | None = None, **kw: Any) -> None:
        super().__init__(backend or IndexedPyEVMBackend(), **kw)
        self._block_logs: dict[bytes, tuple[Any, ...]] = {}

    def _raw_logs(self, number: int) -> tuple[Any, ...]:
        """The raw (inbound-normalised) log entries of canonical block `number`, as eth-tester's
        get_logs gathers them."""
        block = self.get_block_by_number(number)
        out = []
        for transaction_hash in block["transactions"]:
            for entry in self.get_transaction_receipt(transaction_hash)["logs"]:
                out.append(self.normalizer.normalize_inbound_log_entry(entry))
        return tuple(out)

    def _logs_of(self, number: int) -> tuple[Any, ...]:
        chain = self.backend.chain
        if not 0 <= number < chain.get_block().number:
            return self._raw_logs(number)  # not mined (eth-tester raises BlockNotFound): uncached
        key = chain.chaindb.get_canonical_block_hash(number)
        logs = self._block_logs.get(key)
        if logs is None:
            logs = self._block_logs[key] = self._raw_logs(number)
        return logs

    def get_logs(self, from_block: Any = None, to_block: Any = None, address: Any = None,
                 topics: Any = None) -> tuple[Any, ...]:
        # eth_tester.main.EthereumTester.get_logs, with the per-block gathering cached.
        self.validator.validate_inbound_filter_params(from_block=from_block, to_block=to_block, address=address,
                                                      topics=topics)
        raw_from, raw_to, raw_address, raw_topics = self.normalizer.normalize_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics)
        params = {"from_block": raw_from, "to_block": raw_to, "addresses": raw_address, "topics": raw_topics}
        log_filter = Filter(filter_params=params, filter_fn=partial(check_if_log_matches, **params))
        raw_from = "latest" if raw_from is None else raw_from
        raw_to = "latest" if raw_to is None else raw_to
        lower = raw_from if isinstance(raw_from, int) else self.get_block_by_number(raw_from)["number"]
        upper = raw_to if isinstance(raw_to, int) else self.get_block_by_number(raw_to)["number"]
        for number in range(lower, upper + 1):
            for entry in self._logs_of(number):
                log_filter.add(entry)
        return tuple(self.normalizer.normalize_outbound_log_entry(item) for item in log_filter.get_all())


def fast_w3() -> Web3:
    """A fresh eth-tester chain (what `Web3(EthereumTesterProvider())` gives), with O(1)
    transaction lookups and cached logs. Tests build their chains with this."""
    return Web3(EthereumTesterProvider(CachingEthereumTester()))


ORACLES = [signer(f"oracle_{i}") for i in range(1, 5)]
QUORUM = 3


@dataclass
class Actors:
    owner: str
    assessor: str
    underwriter: str
    distributor: str
    claims: str
    alice: str
    bob: str
    treasurer: str
    outsider: str
    relayer: str

    @classmethod
    def from_accounts(cls, accounts: list[str]) -> Actors:
        return cls(*accounts[:10])


class Ledger:
    """The deployed contracts plus the things tests do over and over."""

    def __init__(self, w3: Web3, dep: Deployment, actors: Actors) -> None:
        self.w3 = w3
        self.dep = dep
        self.a = actors
        self.token = dep.contract(w3, "TestToken")
        self.registry = dep.contract(w3, "AssessmentRegistry")
        self.oracle = dep.contract(w3, "OutageOracle")
        self.pool = dep.contract(w3, "CoverPool")
        self.book = dep.contract(w3, "PolicyBook")
        self.cohorts = dep.contract(w3, "CohortBook")

    # --- transactions -------------------------------------------------------------------
    def send(self, fn: Any, sender: str, **kw: Any) -> Any:
        # Explicit gas skips py-evm's binary-search estimate (many executions per tx); a revert
        # still surfaces: `send` simulates the call first and decodes its revert.
        kw.setdefault("gas", TEST_GAS)
        if isinstance(fn, ContractConstructor):
            return send(self.w3, fn, sender, **kw)
        # The simulation runs the transaction once more on the very state the transaction then
        # runs on (eth-tester mines each at once): most do not revert, so send without it inside
        # a snapshot, and only when the transaction failed go back to before it and take the
        # ordinary way (simulation, then the send), which raises exactly what it always raised.
        snap = self.tester.take_snapshot()
        try:
            return _Unsimulated(self.w3, gas=kw["gas"]).send(fn, SenderAccount(sender))
        except Exception:
            self.tester.revert_to_snapshot(snap)
        return send(self.w3, fn, sender, **kw)

    @property
    def tester(self) -> Any:
        return self.w3.provider.ethereum_tester  # type: ignore[attr-defined]

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel(self, seconds: int, *, mine: bool = False) -> int:
        """Moves chain time forward; the next block is mined at the new time (now, with `mine`,
        so that views see it)."""
        # After a snapshot revert py-evm re-creates the pending block at max(wall clock, parent + 1):
        # a chain that lags the wall clock then already stands past `now + seconds`, and eth-tester
        # refuses to travel back to it. The next block is then simply the pending one.
        pending = int(self.w3.eth.get_block("pending")["timestamp"])
        target = max(self.now() + seconds, pending)
        self.tester.time_travel(target)
        if mine:
            self.tester.mine_blocks(1)
        return target

    def fund(self, who: str, amount: int, spender: str | None = None) -> None:
        self.send(self.token.functions.mint(who, amount), who)
        if spender:
            self.send(self.token.functions.approve(spender, 2**256 - 1), who)

    def balance(self, who: str) -> int:
        return int(self.token.functions.balanceOf(who).call())

    # --- oracle reports -----------------------------------------------------------------
    def oracle_domain(self) -> dict[str, Any]:
        return eip712.oracle_domain(self.w3.eth.chain_id, self.oracle.address)

    def signed_report(self, who: Signer, service: bytes, start: int, end: int, *, ongoing: bool = False,
                      version: int = 1, seq: int = 1, root: bytes | None = None,
                      domain: dict[str, Any] | None = None) -> tuple[Any, ...]:
        root = root or keccak(text=f"evidence-{who.name}-{start}-{end}")
        msg = eip712.outage_report_message(service, version, start, end, ongoing, root, seq)
        sig = eip712.sign_outage_report(who.key, domain or self.oracle_domain(), msg)
        return (start, end, ongoing, root, seq, sig.r, sig.vs)

    def verify_outage(self, service: bytes, start: int, end: int, *, signers: list[Signer] | None = None,
                      ongoing: bool = False, sender: str | None = None) -> Any:
        reports = [self.signed_report(s, service, start, end, ongoing=ongoing) for s in (signers or ORACLES[:QUORUM])]
        return self.send(self.oracle.functions.submit(service, 1, reports), sender or self.a.relayer)

    def episodes(self, service: bytes, from_: int = 0, until: int = 2**64 - 1,
                 max_windows: int = 64) -> tuple[list[Episode], bool]:
        eps, truncated = self.oracle.functions.episodesIn(service, from_, until, max_windows).call()
        return [Episode.decode(e) for e in eps], truncated

    # --- assessments ----------------------------------------------------------------------
    def anchor(self, report_hash: bytes, *, score_bps: int = 8500, level: int = 1, kind: int = 0,
               subject: bytes = SUBJECT, replaces: bytes = b"\x00" * 32, sender: str | None = None) -> Any:
        """Anchors as `sender` (the assessor by default); `replaces` is an anchor id."""
        return self.send(self.registry.functions.anchor(report_hash, score_bps, level, subject, replaces, kind),
                         sender or self.a.assessor)

    def anchor_id(self, report_hash: bytes, assessor: str | None = None) -> bytes:
        """The registry's key for `report_hash` as anchored by `assessor` (the assessor by default)."""
        return registry.anchor_id(assessor or self.a.assessor, report_hash)


class _Unsimulated(Sender):
    """contracts.sender's Sender without the call it makes before each send (Ledger.send)."""

    def simulate(self, fn: Any, account: SenderAccount) -> None:
        return None


def expect_revert(fn: Any, sender: str, error: str, **params: Any) -> ContractRevert:
    """Asserts that sending `fn` from `sender` reverts with the named custom error (and args)."""
    with pytest.raises(Exception) as info:
        fn.transact({"from": sender})
    decoded = info.value if isinstance(info.value, ContractRevert) else decode_exception(info.value)
    assert decoded is not None, f"no revert data in {info.value!r}"
    assert decoded.name == error, f"expected {error}, got {decoded}"
    for k, v in params.items():
        got = decoded.params[k]
        if isinstance(got, str) and isinstance(v, str):
            got, v = got.lower(), v.lower()
        assert got == v, f"{error}.{k}: expected {v!r}, got {got!r}"
    return decoded


def events(receipt: Any, contract: Any, name: str) -> list[dict[str, Any]]:
    ev = getattr(contract.events, name)()
    return [dict(e["args"]) for e in ev.process_receipt(receipt, errors=DISCARD)]


def expect_event(receipt: Any, contract: Any, name: str, **expected: Any) -> dict[str, Any]:
    found = events(receipt, contract, name)
    assert found, f"no {name} event in receipt"
    for args in found:
        if all(_eq(args.get(k), v) for k, v in expected.items()):
            return args
    raise AssertionError(f"no {name} event with {expected}; got {found}")


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return bool(a == b)
