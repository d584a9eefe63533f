"""Numbers in words, English and Chinese: the schedule's sentences are generated from its numbers,
so the words can never say something the numbers do not."""

from __future__ import annotations

from datetime import UTC, datetime

_UNITS = ((86400, "day", "天"), (3600, "hour", "小时"), (60, "minute", "分钟"), (1, "second", "秒"))


def duration(seconds: int) -> tuple[str, str]:
    """(en, zh): 90061 → ("1 day 1 hour 1 minute 1 second", "1天1小时1分钟1秒"); 0 → none."""
    if seconds == 0:
        return "none", "无"
    en, zh, rest = [], [], seconds
    for size, name, cn in _UNITS:
        n, rest = divmod(rest, size)
        if n:
            en.append(f"{n:,} {name}{'' if n == 1 else 's'}")
            zh.append(f"{n:,}{cn}")
    return " ".join(en), "".join(zh)


def amount(units: int, symbol: str | None, decimals: int | None) -> str:
    """Token units as the token writes them (same in both languages): 50000000 at 6 decimals is
    "50 cUSD"; without decimals, the raw count of token units."""
    if decimals is None:
        return f"{units:,} token units"
    whole, frac = divmod(units, 10**decimals)
    text = f"{whole:,}" + (f".{frac:0{decimals}d}".rstrip("0") if frac else "")
    return f"{text} {symbol}" if symbol else f"{text} (×10^{decimals} token units)"


def instant(ts: int) -> str:
    """A unix time as UTC, ISO 8601 to the second."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pair(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh": zh}
