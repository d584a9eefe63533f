"""Build the configured submitter, with the transmitter's own transaction key."""

from __future__ import annotations

import logging
from typing import Any

from contracts.redact import describe, redact

from ..config import NodeConfig, OracleSettings
from ..errors import ConfigError, OracleError
from ..keys import load_key
from .rpc import RpcSubmitter
from .submitters import RelaySubmitter, Submitter

log = logging.getLogger("oracles.transmit")


def build_submitter(config: NodeConfig, settings: OracleSettings) -> Submitter | None:
    t = config.transmit
    if not t.enabled:
        return None
    if t.submitter == "relay":
        assert t.relay_url is not None
        key = settings.relay_api_key.get_secret_value() if settings.relay_api_key else None
        return RelaySubmitter(t.relay_url, api_key=key)
    assert config.chain.rpc_url is not None
    tx_key = load_key(t.tx_keystore, settings.tx_keystore_password, settings.tx_private_key,
                      what="transaction key", password_var="ORACLE_TX_KEYSTORE_PASSWORD",
                      key_var="ORACLE_TX_PRIVATE_KEY")
    return RpcSubmitter.from_url(config.chain.rpc_url, config.chain.oracle_address,
                                 tx_key.account(), receipt_timeout=t.receipt_timeout)


async def check_chain_config(config: NodeConfig, submitter: Submitter | None,
                             node_address: str) -> frozenset[str] | None:
    """The registered signers the transmitter should keep to.

    With direct RPC they are read from the chain, which must run our config version and quorum.
    An unreachable RPC endpoint is logged, not fatal: signing must not depend on it.
    """
    configured = frozenset(config.transmit.signers) or None
    if not isinstance(submitter, RpcSubmitter):
        return configured
    try:
        version, quorum, signers = await submitter.oracle_config()
    except Exception as exc:
        log.error("cannot read OutageOracle.config(); submissions will show whether the "
                  "config matches", extra={"oracle": config.chain.oracle_address,
                                           "error": describe(exc)})
        return configured
    if version != config.node.config_version:
        raise ConfigError(f"on-chain oracle config is version {version}, node.config_version "
                          f"is {config.node.config_version}")
    if config.transmit.quorum is not None and config.transmit.quorum < quorum:
        raise ConfigError(f"transmit.quorum {config.transmit.quorum} is below the on-chain "
                          f"quorum {quorum}")
    if node_address not in signers:
        log.warning("this node's key is not a registered oracle signer; its own reports "
                    "will not count", extra={"node": node_address})
    return frozenset(signers)


def _read_bucket(w3: Any, oracle_address: str) -> int | None:
    """`bucketSeconds()` of the contract at `oracle_address`, None when no contract is there.
    A transport failure raises; a contract without the function raises ConfigError."""
    from web3.exceptions import BadFunctionCallOutput, ContractLogicError

    from contracts.artifacts import abi

    if not w3.eth.get_code(oracle_address):
        return None
    try:
        return int(w3.eth.contract(address=oracle_address, abi=abi("OutageOracle")).functions.bucketSeconds().call())
    except Exception as exc:
        # A revert is an answer (web3's ContractLogicError over JSON-RPC, eth-tester's
        # TransactionFailed in process); anything else is the transport's and is re-raised.
        if not isinstance(exc, BadFunctionCallOutput | ContractLogicError) and "revert" not in str(exc).lower():
            raise
        raise ConfigError(f"the contract at chain.oracle_address {oracle_address} answers no bucketSeconds() "
                          f"({describe(exc)}): not an OutageOracle of this version") from None


async def check_bucket(config: NodeConfig, w3: Any | None = None) -> int | None:
    """With `chain.rpc_url` (or a given `w3`), the OutageOracle's `bucketSeconds()` must equal
    `chain.bucket_seconds`: a node judging other buckets than its deployment declares would sign
    windows its peers never sign. A mismatch, or no OutageOracle at the address, is a
    ConfigError (the node does not start); an unreachable endpoint is logged, not fatal, like
    `check_chain_config`. Returns the on-chain value when it was read."""
    import asyncio

    chain = config.chain
    if w3 is None:
        if not chain.rpc_url:
            log.info("chain.bucket_seconds not checked against the chain: no chain.rpc_url",
                     extra={"bucket_seconds": chain.bucket_seconds})
            return None
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 10}))
    try:
        on_chain = await asyncio.to_thread(_read_bucket, w3, chain.oracle_address)
    except OracleError:
        raise
    except Exception as exc:
        log.error("cannot read OutageOracle.bucketSeconds(); chain.bucket_seconds is unchecked",
                  extra={"oracle": chain.oracle_address, "rpc": redact(chain.rpc_url or ""),
                         "error": describe(exc)})
        return None
    if on_chain is None:
        where = redact(chain.rpc_url or "the chain")
        raise ConfigError(f"no contract at chain.oracle_address {chain.oracle_address} on {where}")
    if on_chain != chain.bucket_seconds:
        raise ConfigError(f"the OutageOracle at {chain.oracle_address} declares {on_chain} s verdict buckets "
                          f"(bucketSeconds()), chain.bucket_seconds is {chain.bucket_seconds}: set "
                          f"chain.bucket_seconds = {on_chain} (every node of a deployment judges the same buckets)")
    return on_chain
