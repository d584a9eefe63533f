"""Build the configured submitter, with the transmitter's own transaction key."""

from __future__ import annotations

import logging

from contracts.redact import describe

from ..config import NodeConfig, OracleSettings
from ..errors import ConfigError
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
