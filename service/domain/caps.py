"""Aggregate limits: the per-service exposure cap (across every product of a covered service) and
the figures PolicyBook enforces at issuance, read on-chain for display."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eth_utils import decode_hex

from contracts.calldata import Calls
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.domain.exclusions import governance_delay

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceExposure:
    service_id: str
    cap: int  # 0: no cap
    exposure: int  # total limit of the service's active policies


class ListingReads:
    """The chain figures of one product listing, each read once per request: the governance delay
    and a service's cap and exposure are shared by every product on the page, and the per-product
    views go through `Calls` (eth_abi) rather than web3's per-call ABI validation. Reading all of
    them per product made `GET /v1/products` cost four web3 calls a product (38 s of one test file
    at a few hundred products)."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.delay = governance_delay(gw)
        self._services: dict[str, ServiceExposure | None] = {}
        self._views: dict[str, Calls] = {}

    def service(self, service_id: str) -> ServiceExposure | None:
        if service_id not in self._services:
            self._services[service_id] = service_exposure(self.gw, service_id)
        return self._services[service_id]

    def read(self, view: str, *args: Any) -> int | None:
        """A PolicyBook view for display, one `eth_call`; None when the chain could not be read
        (the projection answers the rest)."""
        try:
            calls = self._views.get(view) or self._views.setdefault(view, Calls(self.gw.book, view))
            return int(calls.result(self.gw.w3.eth.call(calls.tx(*args))))  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - a read for display
            log.warning("%s%r could not be read", view, args, exc_info=True)
            return None


def service_exposure(gw: Gateway, service_id: str) -> ServiceExposure | None:
    try:
        cap, exposure = gw.book.functions.serviceExposure(decode_hex(service_id)).call()
    except Exception:  # noqa: BLE001 - a read for display
        log.warning("serviceExposure(%s) could not be read", service_id, exc_info=True)
        return None
    return ServiceExposure(service_id, int(cap), int(exposure))


def set_service_cap(gw: Gateway, indexer: Indexer, service_id: str, cap: int) -> None:
    """Sets the cap (the underwriter role on-chain); a cap below the exposure only stops new issuance."""
    gw.send(gw.book.functions.setServiceCap(decode_hex(service_id), cap))
    indexer.sync()
