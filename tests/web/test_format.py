"""The pages' formatting filters (service.web): token amounts in the token's units with thousands
separators, exact (read back, they are the minor units they came from); dates in UTC in a <time>
whose datetime the browser turns into the local time on hover; durations."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, localcontext

from hypothesis import given
from hypothesis import strategies as st

from service.web import amount, duration, utc

GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d*[1-9])?$")  # no trailing zeros after the point


@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=0, max_value=18))
def test_amount_is_exact_and_grouped(minor: int, decimals: int) -> None:
    text = amount(minor, decimals)
    assert GROUPED.match(text), text
    with localcontext() as ctx:  # read back exactly (the default 28 digits would round)
        ctx.prec = 80
        assert Decimal(text.replace(",", "")).scaleb(decimals) == minor


def test_amount_examples() -> None:
    assert amount(99_999_501_500_000, 6, "USD") == "99,999,501.5 USD"
    assert amount(50 * 10**6, 6, "USD") == "50 USD"
    assert amount(1, 18, "ETH") == "0.000000000000000001 ETH"
    assert amount(1234567, None) == "1,234,567"  # no decimals known: the minor units, grouped
    assert amount(None, 6) == "—"


def test_utc_is_a_time_element_in_utc() -> None:
    html = str(utc(1_767_225_600))  # 2026-01-01 00:00 UTC
    assert html == '<time datetime="2026-01-01T00:00:00Z">2026-01-01 00:00 UTC</time>'
    shanghai = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert str(utc(shanghai)) == html  # any aware datetime is shown in UTC
    assert str(utc(None)) == "—"


def test_duration_examples() -> None:
    assert [duration(s) for s in (40, 720, 725, 3900, 7200, 90000, None)] == [
        "40 s", "12 min", "12 min 05 s", "1 h 05 min", "2 h 00 min", "1 d 1 h", "—"]
