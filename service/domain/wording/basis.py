"""What a schedule is built from, read once per issuance: the product's terms from the chain (the
record `policy verify` checks them against), its name and service from the database, the payout
token, and the service's maintenance rules when the oracle has them."""

from __future__ import annotations

import weakref
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy.orm import Session
from web3 import Web3
from web3.exceptions import Web3Exception

from contracts import artifacts
from contracts.records import MaintenanceRules, Product
from service.chain.gateway import Gateway
from service.db import models as m
from service.domain.wording.document import Basis, Maintenance, Token
from service.errors import NotFound

_TOKEN_READ_ERRORS = (Web3Exception, ValueError, OverflowError, TypeError)  # a token without the optional views


def _optional(fn: Any) -> Any:
    try:
        return fn.call()
    except _TOKEN_READ_ERRORS:
        return None


# Read once per node connection and pool: the pool's asset is immutable, and an ERC-20's symbol
# and decimals are fixed at its deployment. Each issuance request read them (three calls and a
# contract object built from the ABI) to write the same sentences into every schedule.
_TOKENS: weakref.WeakKeyDictionary[Web3, dict[str, Token]] = weakref.WeakKeyDictionary()


def token(gw: Gateway) -> Token:
    """The pool's payout asset; symbol and decimals when the token has those (optional) views."""
    known = _TOKENS.setdefault(gw.w3, {})
    if gw.pool.address not in known:
        known[gw.pool.address] = _read_token(gw)
    return known[gw.pool.address]


def _read_token(gw: Gateway) -> Token:
    address = to_checksum_address(gw.pool.functions.asset().call())
    erc20 = artifacts.contract(gw.w3, "TestToken", address)  # only its ERC-20 views are called
    symbol, decimals = _optional(erc20.functions.symbol()), _optional(erc20.functions.decimals())
    return Token(address, symbol if isinstance(symbol, str) else None, decimals if isinstance(decimals, int) else None)


def maintenance(gw: Gateway, service_id: bytes) -> Maintenance | None:
    """OutageOracle.maintenanceRules of the service (None: it has no maintainer, so nobody can
    declare a window)."""
    rules = MaintenanceRules.decode(gw.oracle.functions.maintenanceRules(service_id).call())
    if int(rules.maintainer, 16) == 0:
        return None
    return Maintenance(rules.min_notice, rules.max_seconds_per_period)


def basis(session: Session, gw: Gateway, quote: m.Quote, report_id: bytes, subject: bytes, cover_end: int, *,
          insurer: str, assessor: str, cover_start: int | None = None, renewal_of: int | None = None,
          limit: int | None = None) -> Basis:
    """`limit`: the cover's, when not the quote's (a renewal keeps the lower of the two)."""
    product = Product.decode(gw.book.functions.product(quote.product_id).call())
    terms = session.get(m.ProductTerms, quote.product_id)
    if terms is None:
        raise NotFound(f"no product {quote.product_id} with pricing")
    return Basis(
        insurer=insurer, assessor=assessor, chain_id=int(gw.w3.eth.chain_id), policy_book=gw.book.address,
        product_id=quote.product_id, product=product, product_name=terms.name, service=terms.service_name,
        token=token(gw), limit=int(quote.limit or 0) if limit is None else limit, premium=int(quote.premium or 0),
        risk_level=quote.risk_level, report_id=report_id, subject=subject, cover_end=cover_end,
        cover_start=cover_start, conditions=tuple(quote.conditions or ()),
        pricing=quote.pricing,
        maintenance=maintenance(gw, product.service_id), cancellation_fee=product.cancellation_fee,
        renewal_of=renewal_of)
