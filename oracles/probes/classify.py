"""Map a probe's exception to an outcome class.

The line that matters is between the target's fault and ours: a refused or reset connection,
a timeout or a bad certificate is the target's; running out of file descriptors or having no
route out is the node's and must never become a DOWN vote.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator

import httpx

from ..outcome import Outcome

_LOCAL_ERRNOS = frozenset({
    errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.EADDRNOTAVAIL,
    errno.ENETUNREACH, errno.ENETDOWN, errno.EACCES, errno.EPERM,
})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        yield node
        node = node.__cause__ or node.__context__


def classify_exception(exc: BaseException, timeout: float) -> tuple[Outcome, str]:
    chain = list(_chain(exc))
    for e in chain:
        if isinstance(e, socket.gaierror):
            return Outcome.DNS_FAILURE, f"dns: {e.strerror or e}"
    for e in chain:
        if isinstance(e, TimeoutError | httpx.TimeoutException):
            return Outcome.TARGET_FAILURE, f"timeout after {timeout:g} s"
        if isinstance(e, httpx.PoolTimeout | httpx.UnsupportedProtocol | httpx.InvalidURL):
            return Outcome.ORACLE_FAULT, f"local: {type(e).__name__}: {e}"
        if isinstance(e, ssl.SSLCertVerificationError):
            return Outcome.TARGET_FAILURE, f"certificate: {e.verify_message or e.reason}"
        if isinstance(e, ssl.SSLError):
            return Outcome.TARGET_FAILURE, f"tls: {e.reason or e}"
        if isinstance(e, OSError) and e.errno is not None:
            if e.errno in _LOCAL_ERRNOS:
                return Outcome.ORACLE_FAULT, f"local: {e.strerror or e}"
            return Outcome.TARGET_FAILURE, f"connect: {e.strerror or e}"
    for e in chain:
        if isinstance(e, httpx.TransportError | ConnectionError | EOFError):
            text = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            return Outcome.TARGET_FAILURE, f"transport: {text}"
    return Outcome.ORACLE_FAULT, f"local: {type(exc).__name__}: {exc}"
