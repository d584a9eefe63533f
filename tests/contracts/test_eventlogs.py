"""`contracts.eventlogs.EventDecoder` decodes every event of every contract exactly as web3's
`process_log` / `process_receipt(errors=DISCARD)` do, on logs an adversary fills with any values
(plain dict logs and web3's AttributeDict ones): the fast path cannot drift from web3."""

from __future__ import annotations

import re
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from hexbytes import HexBytes
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.datastructures import AttributeDict
from web3.logs import DISCARD

from contracts import artifacts
from contracts.eip55 import to_checksum_address as fast_checksum
from contracts.eventlogs import EventDecoder, split_tuple

W3 = Web3()
ADDRESS = to_checksum_address("0x" + "ab" * 20)
EVENTS = sorted({(name, item["name"]): item for name in artifacts.all_artifact_names() for item in artifacts.abi(name)
                 if item["type"] == "event"}.items())


def _value(t: str) -> st.SearchStrategy[Any]:
    """Values of ABI type `t` (collapsed form), as eth_abi encodes them."""
    if t.endswith("]"):
        inner, n = t[:t.rindex("[")], t[t.rindex("[") + 1:-1]
        size = int(n) if n else None
        return st.lists(_value(inner), min_size=size or 0, max_size=size or 3).map(tuple)
    if t.startswith("("):
        return st.tuples(*[_value(p) for p in split_tuple(t)])
    if m := re.fullmatch(r"uint(\d+)", t):
        return st.integers(0, 2**int(m[1]) - 1)
    if m := re.fullmatch(r"int(\d+)", t):
        return st.integers(-2**(int(m[1]) - 1), 2**(int(m[1]) - 1) - 1)
    if m := re.fullmatch(r"bytes(\d+)", t):
        return st.binary(min_size=int(m[1]), max_size=int(m[1]))
    return {"address": st.binary(min_size=20, max_size=20).map(lambda b: to_checksum_address(b)),
            "bool": st.booleans(), "bytes": st.binary(max_size=70), "string": st.text(max_size=20)}[t]


def _static(t: str) -> bool:
    return not (t in ("bytes", "string") or t.endswith("[]") or t.startswith("(") or "[" in t)


@st.composite
def _log(draw: st.DrawFn, event: dict[str, Any]) -> dict[str, Any]:
    topics = [] if event.get("anonymous") else [HexBytes(event_abi_to_log_topic(event))]
    data_types, data_values = [], []
    for i in event["inputs"]:
        t = collapse_if_tuple(i)
        if i["indexed"]:  # a dynamic indexed value is its hash on-chain
            topics.append(HexBytes(encode([t], [draw(_value(t))]) if _static(t) else draw(st.binary(min_size=32,
                                                                                                    max_size=32))))
        else:
            data_types.append(t)
            data_values.append(draw(_value(t)))
    return {"address": ADDRESS, "topics": topics, "data": HexBytes(encode(data_types, data_values)),
            "logIndex": draw(st.integers(0, 9)), "transactionIndex": 0, "transactionHash": HexBytes(keccak(b"t")),
            "blockHash": HexBytes(keccak(b"b")), "blockNumber": 7}


@pytest.mark.parametrize(("key", "event"), EVENTS, ids=[f"{c}.{e}" for (c, e), _ in EVENTS])
@settings(max_examples=15, deadline=None)
@given(data=st.data(), attribute=st.booleans())
def test_an_event_decodes_as_web3_decodes_it(key: tuple[str, str], event: dict[str, Any], data: st.DataObject,
                                             attribute: bool) -> None:
    log = data.draw(_log(event))
    log = AttributeDict(log) if attribute else log
    web3_event = W3.eth.contract(address=ADDRESS, abi=[event]).events[event["name"]]()
    assert EventDecoder(event).decode(log) == web3_event.process_log(log)
    other = {**log, "topics": [HexBytes(keccak(b"another event"))] + list(log["topics"][1:])}
    receipt = {"logs": [log, other, log]}
    assert list(EventDecoder(event).process_receipt(receipt)) == list(web3_event.process_receipt(receipt,
                                                                                                  errors=DISCARD))


@given(raw=st.binary(min_size=20, max_size=20))
def test_the_checksum_is_eth_utils(raw: bytes) -> None:
    assert fast_checksum("0x" + raw.hex()) == to_checksum_address(raw)


FLAT = [(key, e) for key, e in EVENTS if any(not i["indexed"] for i in e["inputs"])
        and all(_static(p) for i in e["inputs"] if not i["indexed"]
                for p in (split_tuple(collapse_if_tuple(i)) if i["type"] == "tuple" else [i["type"]]))]


@pytest.mark.parametrize(("key", "event"), FLAT, ids=[f"{c}.{e}" for (c, e), _ in FLAT])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_head_words_read_by_slicing_decode_or_fail_as_eth_abi(key: tuple[str, str], event: dict[str, Any],
                                                              data: st.DataObject) -> None:
    """Events of word types only (PolicyIssued's record) are read a word at a time: any word the
    adversary spoils (padding, sign, bool), or data cut short or too long, decodes as web3
    decodes it or fails as it fails."""
    log = data.draw(_log(event))
    raw = bytes(log["data"])
    words = [raw[i:i + 32] for i in range(0, len(raw), 32)]
    for k in data.draw(st.lists(st.integers(0, len(words) - 1), max_size=3)):
        words[k] = data.draw(st.binary(min_size=32, max_size=32))
    cut = data.draw(st.integers(-40, 40))
    raw = b"".join(words)
    log["data"] = HexBytes(raw[:cut] if cut < 0 else raw + bytes(cut))
    web3_event = W3.eth.contract(address=ADDRESS, abi=[event]).events[event["name"]]()
    try:
        expected: Any = web3_event.process_log(log)
    except Exception as exc:  # noqa: BLE001 - the same failure is expected of ours
        with pytest.raises(type(exc)):
            EventDecoder(event).decode(log)
    else:
        assert EventDecoder(event).decode(log) == expected
