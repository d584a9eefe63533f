"""A small, strict TOML writer for the node config's types (no TOML writer is installed).

Strings are always written as escaped basic strings and keys quoted unless bare-safe, so no
value can end a string, open a table or add a key: text is data, never syntax. Anything the
config model cannot hold (None, bytes, lone surrogates, nested lists of tables) is refused
rather than guessed at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
                  "\r": "\\r"}


def _string(value: str) -> str:
    out = []
    for ch in value:
        code = ord(ch)
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            raise ValueError("a lone surrogate cannot be written to TOML")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys are strings, not {type(key).__name__}")
    return key if _BARE_KEY.fullmatch(key) else _string(key)  # fullmatch: "$" would allow "k\n"


def _is_table_array(value: object) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, str) and bool(value)
            and all(isinstance(v, Mapping) for v in value))


def _value(value: Any) -> str:
    """An inline value: scalar, array of inline values, or inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # Python's shortest round-trip form is valid TOML ("1e-05", "0.5")
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _table(data: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    # Plain keys first: after a [header] every key belongs to that header's table.
    for k, v in data.items():
        if not isinstance(v, Mapping) and not _is_table_array(v):
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in data.items():
        sub = (*path, _key(k))
        if isinstance(v, Mapping):
            lines += ["", f"[{'.'.join(sub)}]"]
            _table(v, sub, lines)
        elif _is_table_array(v):
            for item in v:
                lines += ["", f"[[{'.'.join(sub)}]]"]
                _table(item, sub, lines)


def dumps(data: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"
