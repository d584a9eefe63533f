"""Aggregate limits: the per-service exposure cap (across every product of a covered service) and
the figures PolicyBook enforces at issuance, read on-chain for display."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eth_utils import decode_hex

from service.chain.gateway import Gateway
from service.chain.indexer import Indexer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceExposure:
    service_id: str
    cap: int  # 0: no cap
    exposure: int  # total limit of the service's active policies


def read(gw: Gateway | None, view: str, *args: Any) -> int | None:
    """A PolicyBook figure for display; None when the chain could not be read (the projection
    answers the rest)."""
    if gw is None:
        return None
    try:
        return int(getattr(gw.book.functions, view)(*args).call())
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
