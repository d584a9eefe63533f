"""What a product may cover: a URL the oracle nodes can probe, or a plain name.

The text is hashed into the on-chain service id and, for a URL, handed to the nodes as the
address they probe. It is checked here so it is always plain data: RFC 3986 characters only
(no whitespace, quotes, backslashes or control characters), a scheme the nodes probe, a host,
no credentials (the text is public), a bounded length.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, WithJsonSchema

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
MAX_URL_LENGTH = 512
SCHEMES = frozenset({"http", "https", "tcp", "tls"})


def check_service(text: str) -> str:
    """The covered-service text as given, or ValueError saying what is wrong with it."""
    if NAME.fullmatch(text):
        return text
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"a covered service URL is at most {MAX_URL_LENGTH} characters")
    if not _URL_CHARS.fullmatch(text):
        raise ValueError("a covered service is a plain name ([A-Za-z0-9._-], at most 64) or a URL; "
                         "whitespace, quotes, backslashes and control characters are not allowed")
    parts = urlsplit(text)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"a covered service URL uses one of {', '.join(sorted(SCHEMES))}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the covered service URL has an invalid port") from None
    if not parts.hostname:
        raise ValueError("the covered service URL has no host")
    if "@" in parts.netloc:
        raise ValueError("a covered service URL must not carry credentials (it is public)")
    if parts.scheme in ("tcp", "tls") and (port is None or parts.path not in ("", "/") or parts.query
                                           or parts.fragment):
        raise ValueError(f"a {parts.scheme} service is {parts.scheme}://host:port")
    return text


def _ci(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" for c in word)  # JSON Schema patterns have no flags


# check_service as a JSON Schema pattern, for clients: a plain name, an http(s) URL (a port is
# optional), or tcp/tls://host:port. Bracketed IPv6 hosts, which check_service also takes, are left
# out: a pattern accepting only valid ones would be long.
_HOST = r"[A-Za-z0-9\-._~!$&'()*+,;=%]+"
_PORT = r"0*(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
_REST = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*"
PATTERN = (rf"^({NAME.pattern}|({_ci('http')}|{_ci('https')})://{_HOST}(:({_PORT})?)?([/?#]{_REST})?"
           rf"|({_ci('tcp')}|{_ci('tls')})://{_HOST}:{_PORT}/?\??#?)$")
CoveredService = Annotated[str, AfterValidator(check_service),
                           WithJsonSchema({"type": "string", "pattern": PATTERN, "maxLength": MAX_URL_LENGTH})]
