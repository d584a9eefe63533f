"""ASGI middleware that bounds request bodies before any framework code reads or parses them.

In order, for a request that carries a body: the API key header must be present (on the paths
that need one: an unauthenticated caller gets 401 before a byte is read), a declared
Content-Length must be within the cap (413 without reading), the bytes are counted as they
stream in (413 as soon as the cap is passed), and the JSON nesting depth is scanned (400).
The app then receives the buffered body. Shared by the service API and the oracle node API.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from contracts.jsonguard import MAX_BYTES, MAX_DEPTH, JsonLimitError, check_depth, check_size

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def reject(send: Send, status: int, type_: str, detail: str) -> None:
    body = json.dumps({"type": type_, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                 key_header: str | None = None, key_paths: str = "/v1/") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.key_header = key_header.lower().encode() if key_header else None
        self.key_name = key_header
        self.key_paths = key_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        lengths = {v.strip() for k, v in headers if k == b"content-length"}
        chunked = any(k == b"transfer-encoding" for k, _ in headers)
        if not chunked and lengths <= {b"0"}:
            await self.app(scope, receive, send)  # no body to bound
            return
        if (self.key_header is not None and scope["path"].startswith(self.key_paths)
                and not any(k == self.key_header and v for k, v in headers)):
            await reject(send, 401, "unauthorized", f"missing {self.key_name} header")
            return
        try:
            if lengths:
                if len(lengths) > 1 or not next(iter(lengths)).isdigit():
                    raise JsonLimitError("invalid Content-Length", 400)
                check_size(int(next(iter(lengths))), self.max_bytes)
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                check_size(len(body), self.max_bytes)
                if not message.get("more_body", False):
                    break
            check_depth(bytes(body), self.max_depth)
        except JsonLimitError as exc:
            await reject(send, exc.status, "body_too_large" if exc.status == 413 else "bad_request", exc.detail)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)
