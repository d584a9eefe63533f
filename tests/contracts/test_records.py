"""contracts.records against the ABIs: each record has its struct's fields (or its view's named
outputs), in ABI order, with the enums typed; decoding and encoding round-trip."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, get_type_hints

import pytest

from contracts import artifacts, enums, records

STRUCTS = {records.Product: "IPolicyBook.Product", records.PolicyTerms: "IPolicyBook.PolicyTerms",
           records.PolicyRecord: "IPolicyBook.Policy", records.Anchor: "IAssessmentRegistry.Anchor",
           records.Verification: "IAssessmentRegistry.Verification", records.Episode: "IOutageOracle.Episode",
           records.MaintenanceRules: "IOutageOracle.MaintenanceRules",
           records.Maintenance: "IOutageOracle.Maintenance", records.ExcludedEvent: "IOutageOracle.ExcludedEvent"}
OUTPUTS = {records.UnderwritingStatus: ("IAssessmentRegistry", "underwritingStatus")}


def _struct_components(struct: str) -> list[dict[str, Any]]:
    owner = struct.split(".")[0]
    stack: list[Any] = list(artifacts.abi(owner))
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("internalType") in (f"struct {struct}", f"struct {struct}[]"):
                return list(node["components"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError(f"{struct} is not in the {owner} ABI")


def _outputs(owner: str, function: str) -> list[dict[str, Any]]:
    [item] = [i for i in artifacts.abi(owner) if i.get("type") == "function" and i["name"] == function]
    return list(item["outputs"])


def _check(cls: type, components: list[dict[str, Any]]) -> None:
    hints = get_type_hints(cls)
    assert [records.solidity_name(f.name) for f in fields(cls)] == [c["name"] for c in components]
    for f, c in zip(fields(cls), components, strict=True):
        if c["internalType"].startswith("enum "):
            assert hints[f.name] is getattr(enums, c["internalType"].split(".")[-1]), f.name
        else:
            assert not (isinstance(hints[f.name], type) and issubclass(hints[f.name], enums.ChainEnum)), f.name


@pytest.mark.parametrize("cls", list(STRUCTS), ids=lambda c: c.__name__)
def test_record_fields_are_the_struct_components(cls: type) -> None:
    _check(cls, _struct_components(STRUCTS[cls]))


@pytest.mark.parametrize("cls", list(OUTPUTS), ids=lambda c: c.__name__)
def test_record_fields_are_the_view_outputs(cls: type) -> None:
    _check(cls, _outputs(*OUTPUTS[cls]))


def test_decode_from_a_tuple_or_event_args_and_back() -> None:
    values = (7, 100, 200, 5, "0x" + "11" * 20, "0x" + "22" * 20, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32,
              1, 2, 3, 1)
    rec = records.PolicyRecord.decode(values)
    assert rec.status is enums.PolicyStatus.EXPIRED and rec.as_tuple() == values
    by_name = {c["name"]: v for c, v in zip(_struct_components("IPolicyBook.Policy"), values, strict=True)}
    assert records.PolicyRecord.decode(by_name) == rec


def test_of_a_projection_row_with_hex_bytes() -> None:
    values = (7, 100, 200, 5, "0x" + "11" * 20, "0x" + "22" * 20, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32,
              0, 0, 0, 0)
    row = type("Row", (), {f.name: ("0x" + v.hex() if isinstance(v, bytes) else v)
                           for f, v in zip(fields(records.PolicyRecord), values, strict=True)})()
    assert records.PolicyRecord.of(row) == records.PolicyRecord.decode(values)
    status = records.UnderwritingStatus.decode((True, 3, 2))
    assert (status.risk_level, status.kind) == (enums.RiskLevel.HIGH, enums.ReportKind.INCIDENT)
