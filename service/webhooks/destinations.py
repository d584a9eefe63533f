"""Where a webhook may be sent: the destination check run at registration and before every
delivery attempt (finding 5 of issue 10).

A URL is parsed once by the WHATWG parser pydantic uses (so `0x7f000001`, `2130706433`,
`0177.0.0.1` and `127.1` all become `127.0.0.1` before any rule is applied), its host is
resolved through an injected resolver, and *every* address the resolver returns must be a
public unicast address; the delivery then connects to the first of them (`Target.address`),
so there is no second DNS lookup between the check and the connect (DNS rebinding). The Host
header and, for https, the TLS SNI name and certificate check keep the URL's host name.

https only; http (and loopback addresses) only when the local-development setting
`CYBERCOVER_WEBHOOK_ALLOW_LOOPBACK_HTTP` is on, and then only to loopback.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import AnyHttpUrl, TypeAdapter, ValidationError

from service.errors import BadRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""`resolver(host, port)` → the addresses the host resolves to, as text. Tests inject one."""

MAX_URL_LENGTH = 2000
_url = TypeAdapter(AnyHttpUrl)

# Refused names, whatever they resolve to (after lower-casing and dropping a trailing dot).
_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "metadata",
          "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
_NAME_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")

_V4 = [(ipaddress.IPv4Network(net), why) for net, why in (
    ("169.254.169.254/32", "cloud metadata"),
    ("0.0.0.0/8", "unspecified / this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT (shared address space)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes 255.255.255.255, broadcast
)]
_V6 = [(ipaddress.IPv6Network(net), why) for net, why in (
    ("fd00:ec2::254/128", "cloud metadata"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments (Teredo, ORCHID, ...)"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
)]
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class DestinationRefused(BadRequest):
    """The webhook URL is not an acceptable destination (the detail says why)."""

    type = "webhook_destination_refused"


def refusal(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why `ip` is not a public unicast address, or None when it is. IPv4-mapped and NAT64
    IPv6 addresses are judged by the IPv4 address they embed."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "scoped IPv6 address"
        if ip in _MAPPED or ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            why = refusal(inner, allow_loopback=allow_loopback)
            return None if why is None else f"{why} (embedded in {ip})"
        table: list[tuple[ipaddress.IPv4Network, str]] | list[tuple[ipaddress.IPv6Network, str]] = _V6
    else:
        table = _V4
    if allow_loopback and ip.is_loopback:
        return None
    for net, why in table:
        if ip in net:
            return why
    if not ip.is_global:  # whatever the tables missed (new IANA special-purpose ranges)
        return "not globally routable"
    return None


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (blocking). Raises OSError when the name does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Target:
    """A checked destination: connect to `address`, speak to `host`."""

    scheme: str
    host: str  # name (IDNA) or IP literal, without brackets
    port: int
    path: str  # path and query, percent-encoded
    address: IPAddress

    @property
    def origin(self) -> str:
        """`scheme://host:port`: the key of the circuit breaker and what logs may name."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def sni_hostname(self) -> str | None:
        """The TLS server name (and the name the certificate is checked against); None for an
        IP-literal URL, where the certificate is checked against the address."""
        if self.scheme != "https" or _parse_ip(self.host) is not None:
            return None
        return self.host


def normalize(url: str) -> str:
    """The canonical spelling of a webhook URL (what is stored and compared for duplicates)."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"URL longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = _url.validate_python(url)
    except ValidationError:
        raise DestinationRefused("not a valid http(s) URL") from None
    if parsed.username or parsed.password:
        raise DestinationRefused("credentials in the URL are not accepted; authenticate with the signature")
    if parsed.fragment is not None:
        raise DestinationRefused("a URL fragment is never sent; remove it")
    return str(parsed)


def check(url: str, resolver: Resolver, *, allow_loopback_http: bool = False) -> Target:
    """Parses `url`, resolves it once with `resolver` and checks every address; the returned
    Target is what to connect to. Raises DestinationRefused."""
    parsed = _url.validate_python(normalize(url))
    scheme = parsed.scheme
    if scheme not in ("https", "http"):
        raise DestinationRefused(f"scheme {scheme!r} is not accepted; use https")
    if scheme == "http" and not allow_loopback_http:
        raise DestinationRefused("webhooks must use https")
    host = (parsed.host or "").strip("[]").lower()
    port = parsed.port or (443 if scheme == "https" else 80)
    if not host:
        raise DestinationRefused("URL has no host")
    path = parsed.path or "/"
    if parsed.query is not None:
        path = f"{path}?{parsed.query}"

    literal = _parse_ip(host)
    if literal is None:
        name = host.rstrip(".")
        if not allow_loopback_http and (name in _NAMES or name.endswith(_NAME_SUFFIXES) or "." not in name):
            raise DestinationRefused(f"host {name!r} is an internal name")
        try:
            answers = list(resolver(name, port))
        except (OSError, UnicodeError):
            raise DestinationRefused(f"host {name!r} does not resolve") from None
    else:
        answers = [str(literal)]
    if not answers:
        raise DestinationRefused(f"host {host!r} does not resolve")

    addresses: list[IPAddress] = []
    for text in answers:
        ip = _parse_ip(text)
        if ip is None:
            raise DestinationRefused(f"host {host!r} resolved to an unparseable address")
        why = refusal(ip, allow_loopback=allow_loopback_http)
        if why is not None:
            # Any refused answer refuses the host: a name that also points inside is not trusted.
            raise DestinationRefused(f"host {host!r} resolves to a {why} address ({ip})")
        if scheme == "http" and not _loopback(ip):
            raise DestinationRefused("plain http is accepted only to loopback in local development; use https")
        addresses.append(ip)
    return Target(scheme, host, port, path, addresses[0])


def _loopback(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip in _MAPPED:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF).is_loopback
    return ip.is_loopback


def origin(url: str) -> str:
    """`scheme://host:port` of a stored URL, without resolving it (the breaker key, and the
    only part of a URL the logs name: paths and queries may carry a receiver's token)."""
    try:
        parsed = _url.validate_python(url)
    except ValidationError:
        return "invalid-url"
    host = parsed.host or ""
    return f"{parsed.scheme}://{host}:{parsed.port}"
