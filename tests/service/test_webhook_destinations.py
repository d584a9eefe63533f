"""The webhook destination check, on addresses and on injected resolver answers: nothing here
connects anywhere or queries DNS. Also the pure parts of delivery: the circuit breaker's state
machine and the sealing of secrets."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from service.settings import Settings
from service.webhooks.breaker import Breakers, State
from service.webhooks.destinations import DestinationRefused, check, normalize, origin, refusal
from service.webhooks.sealing import KEY_FILE, Sealer, SealingError, sealer_for

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


def resolver(*answers: str):  # type: ignore[no-untyped-def]
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return list(answers)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def unresolvable(host: str, port: int) -> list[str]:
    raise OSError("no such host")


REFUSED_ADDRESSES = [
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"), ("100.100.100.200", "carrier-grade NAT"),
    ("169.254.169.254", "cloud metadata"), ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("fd00:ec2::254", "cloud metadata"), ("fd12:3456::1", "unique-local"), ("fc00::1", "unique-local"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
    ("255.255.255.255", "reserved"), ("240.0.0.1", "reserved"),
    ("192.0.2.1", "documentation"), ("2001:db8::1", "documentation"), ("198.18.0.1", "benchmarking"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "cloud metadata"), ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"), ("::127.0.0.1", "IPv4-compatible"),
    ("2002:7f00:1::1", "6to4"), ("2001:0:4136:e378::1", "IETF"), ("fec0::1", "site-local"),
]


@pytest.mark.parametrize(("address", "why"), REFUSED_ADDRESSES)
def test_internal_addresses_are_refused(address: str, why: str) -> None:
    reason = refusal(ipaddress.ip_address(address))
    assert reason is not None
    assert why in reason


@pytest.mark.parametrize("address", [PUBLIC_V4, "8.8.8.8", "1.1.1.1", PUBLIC_V6, "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_scoped_ipv6_is_refused() -> None:
    assert refusal(ipaddress.ip_address("fe80::1%eth0")) is not None
    with pytest.raises(DestinationRefused, match="scoped|link-local"):
        check("https://hooks.example/x", resolver("fe80::1%2"))


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/", "https://[::1]:8545/", "https://0x7f000001/", "https://2130706433/",
    "https://0177.0.0.1/", "https://127.1/", "https://%31%32%37.0.0.1/", "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/", "https://169.254.169.254/latest/meta-data/", "https://0xa9fea9fe/",
    "https://[fe80::1]/", "https://10.0.0.1/", "https://[fd00::1]/", "https://100.64.0.1/", "https://0.0.0.0/",
    "https://224.0.0.1/", "https://localhost/", "https://LOCALHOST./", "https://api.localhost/",
    "https://metadata.google.internal/computeMetadata/v1/", "https://intranet/", "https://printer.local/",
])
def test_internal_urls_refused_without_asking_dns_for_literals(url: str) -> None:
    resolve = resolver(PUBLIC_V4)
    with pytest.raises(DestinationRefused):
        check(url, resolve)
    assert resolve.calls == []  # type: ignore[attr-defined]  # refused before any lookup


@pytest.mark.parametrize(("answers", "why"), [
    (["10.0.0.5"], "private"), (["169.254.169.254"], "metadata"), (["127.0.0.1"], "loopback"),
    (["::1"], "loopback"), (["::ffff:169.254.169.254"], "metadata"), (["fe80::1"], "link-local"),
    ([PUBLIC_V4, "127.0.0.1"], "loopback"),  # one inside answer refuses the name
    ([PUBLIC_V4, "not-an-address"], "unparseable"), ([], "does not resolve"),
])
def test_names_resolving_inside_are_refused(answers: list[str], why: str) -> None:
    with pytest.raises(DestinationRefused, match=why):
        check("https://hooks.example/cb", resolver(*answers))


def test_unresolvable_name_refused() -> None:
    with pytest.raises(DestinationRefused, match="does not resolve"):
        check("https://hooks.example/cb", unresolvable)


def test_public_name_gives_a_pinned_target() -> None:
    resolve = resolver(PUBLIC_V6, PUBLIC_V4)
    t = check("https://Hooks.Example:8443/cb/a%20b?token=x", resolve)
    assert resolve.calls == [("hooks.example", 8443)]  # type: ignore[attr-defined]
    assert (t.scheme, t.host, t.port, t.path) == ("https", "hooks.example", 8443, "/cb/a%20b?token=x")
    assert t.address == ipaddress.ip_address(PUBLIC_V6)  # the first checked answer is what we connect to
    assert t.host_header == "hooks.example:8443"
    assert t.sni_hostname == "hooks.example"
    assert t.origin == "https://hooks.example:8443"
    literal = check(f"https://{PUBLIC_V4}/cb", resolver())
    assert literal.sni_hostname is None
    assert literal.host_header == PUBLIC_V4


@pytest.mark.parametrize(("url", "why"), [
    ("http://hooks.example/cb", "https"), ("ftp://hooks.example/", "valid"),
    ("https://user:pw@hooks.example/", "credentials"), ("https://hooks.example/#frag", "fragment"),
    ("not a url", "valid"), ("https://hooks.example/" + "a" * 2000, "longer"),
])
def test_malformed_or_plain_http_refused(url: str, why: str) -> None:
    with pytest.raises(DestinationRefused, match=why):
        check(url, resolver(PUBLIC_V4))


def test_local_development_allows_http_to_loopback_only() -> None:
    dev = {"allow_loopback_http": True}
    assert check("http://127.0.0.1:9000/hook", resolver(), **dev).address == ipaddress.ip_address("127.0.0.1")
    assert check("http://[::1]:9000/hook", resolver(), **dev).port == 9000
    assert check("http://localhost:9000/", resolver("127.0.0.1"), **dev).host_header == "localhost:9000"
    assert check("https://127.0.0.1:9443/", resolver(), **dev).scheme == "https"
    for url, answers in (("http://10.0.0.1/", ()), ("http://169.254.169.254/", ()), ("http://0.0.0.0:80/", ()),
                         ("http://hooks.example/", (PUBLIC_V4,)), ("http://localhost/", ("10.0.0.2",))):
        with pytest.raises(DestinationRefused):
            check(url, resolver(*answers), **dev)


def test_normalized_spelling_is_what_duplicates_compare() -> None:
    assert normalize("HTTPS://Hooks.EXAMPLE:443") == "https://hooks.example/"
    assert normalize("https://☃.example/x") == "https://xn--n3h.example/x"
    assert origin("https://hooks.example/secret-path?token=t") == "https://hooks.example:443"


# --- circuit breaker ------------------------------------------------------------------------

def test_breaker_opens_after_consecutive_failures_and_half_opens_after_cooldown() -> None:
    b: Breakers[str] = Breakers(failures=3, cooldown=30)
    for t in (0, 1):
        assert b.allow("x", t)
        b.failed("x", t)
    b.succeeded("x")  # a success resets the count
    for t in (2, 3, 4):
        b.failed("x", t)
    assert b.state("x", 5) is State.OPEN
    assert not b.allow("x", 5)
    assert b.allow("y", 5)
    assert b.closed_off(5) == ({"x"}, set())
    assert b.state("x", 34) is State.HALF_OPEN
    assert b.allow("x", 34)
    assert b.closed_off(34) == (set(), {"x"})
    b.started("x", 34)
    assert not b.allow("x", 34)  # one trial at a time
    b.failed("x", 35)  # the trial failed: open again for a full cool-down
    assert b.state("x", 64) is State.OPEN
    assert b.state("x", 65) is State.HALF_OPEN
    b.started("x", 65)
    b.succeeded("x")
    assert b.state("x", 65) is State.CLOSED
    assert b.allow("x", 65)


# --- sealed secrets -------------------------------------------------------------------------

def test_sealed_secret_opens_only_with_its_key_and_row() -> None:
    sealer = Sealer(bytes(range(32)))
    sealed = sealer.seal("s3cret", context="hook-a")
    assert "s3cret" not in sealed
    assert sealed != sealer.seal("s3cret", context="hook-a")
    assert sealer.open(sealed, context="hook-a") == "s3cret"
    with pytest.raises(SealingError):
        sealer.open(sealed, context="hook-b")  # copied onto another row
    with pytest.raises(SealingError):
        Sealer(bytes(32)).open(sealed, context="hook-a")  # another key
    with pytest.raises(SealingError):
        sealer.open(sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1], context="hook-a")
    with pytest.raises(SealingError):
        sealer.open("plaintext-secret", context="hook-a")
    assert "00010203" not in repr(sealer)


def test_key_from_setting_or_a_0600_key_file(tmp_path: Path) -> None:
    from_file = sealer_for(Settings(data_dir=tmp_path / "d"))
    key_file = tmp_path / "d" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = sealer_for(Settings(data_dir=tmp_path / "d"))
    assert again.open(from_file.seal("x", context="c"), context="c") == "x"
    assert [p.name for p in key_file.parent.iterdir()] == [KEY_FILE]  # no temporary file left behind
    key = SecretStr("ab" * 32)
    configured = sealer_for(Settings(data_dir=tmp_path / "e", webhook_secret_key=key))
    assert Sealer(bytes.fromhex("ab" * 32)).open(configured.seal("y", context="c"), context="c") == "y"
    assert not (tmp_path / "e").exists()
    with pytest.raises(SealingError):
        sealer_for(Settings(data_dir=tmp_path, webhook_secret_key=SecretStr("nothex")))
