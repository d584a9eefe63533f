"""Who may read the node's operational endpoints (`/metrics`, `/openapi.json`).

With `ORACLE_METRICS_TOKEN` set, a caller sends `Authorization: Bearer <token>` from anywhere;
without it, only loopback clients are answered. `/healthz` and the report and evidence routes
stay public: peers, transmitters and auditors read them.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import Request

from ..errors import Forbidden, Unauthorized


def operator_only(request: Request) -> None:
    token = request.app.state.metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}".encode()
        if not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
            raise Unauthorized("send Authorization: Bearer <metrics token>")
        return
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise Forbidden("operational endpoints answer loopback clients only (or set ORACLE_METRICS_TOKEN)")
