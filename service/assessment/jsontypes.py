"""The JSON value type of canonical documents: no floats and no nulls, by construction."""

from __future__ import annotations

from typing import TypeAlias

JSONValue: TypeAlias = str | int | bool | list["JSONValue"] | dict[str, "JSONValue"]
JSONObject: TypeAlias = dict[str, JSONValue]
