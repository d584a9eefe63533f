"""contracts.enums against the Solidity sources and the ABIs: same enums, same members, same order
(the order is the uint8 the contracts store, sign and return)."""

from __future__ import annotations

import re

from contracts import artifacts, enums
from contracts.compiler import SRC_DIR

ENUM = re.compile(r"\benum\s+(\w+)\s*\{([^}]*)\}")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def solidity_enums() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(SRC_DIR.rglob("*.sol")):
        source = re.sub(r"//[^\n]*|/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
        for name, body in ENUM.findall(source):
            assert name not in found, f"enum {name} declared twice"
            found[name] = [m.strip() for m in body.split(",") if m.strip()]
    return found


def abi_enums() -> set[str]:
    """Enums the ABIs of our contracts use (`internalType: "enum IPolicyBook.PayoutKind"`)."""
    ours = {p.stem for p in SRC_DIR.rglob("*.sol")}
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            kind = node.get("internalType", "")
            if kind.startswith("enum ") and kind[5:].split(".")[0] in ours:
                names.add(kind[5:].split(".")[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in artifacts.all_artifact_names():
        walk(artifacts.abi(name))
    return names


def python_enums() -> dict[str, type[enums.ChainEnum]]:
    return {name: cls for name, cls in vars(enums).items()
            if isinstance(cls, type) and issubclass(cls, enums.ChainEnum) and cls is not enums.ChainEnum}


def test_every_solidity_enum_has_a_python_enum_with_its_members_in_order() -> None:
    sol = solidity_enums()
    assert set(python_enums()) == set(sol)
    for name, cls in python_enums().items():
        assert [(m.name, m.value) for m in cls] == [(_snake(s), i) for i, s in enumerate(sol[name])], name


def test_every_enum_of_the_abis_is_declared_in_the_sources() -> None:
    assert abi_enums() == set(solidity_enums())


def test_labels_round_trip() -> None:
    assert enums.PayoutKind.of("per_unit") is enums.PayoutKind.PER_UNIT
    assert [k.label for k in enums.ReportKind] == ["pre_underwriting", "in_policy", "incident"]


def test_the_assessment_engine_names_the_chain_levels_and_kinds() -> None:
    from service.assessment import ReportKind, RiskLevel

    for names, chain in ((RiskLevel, enums.RiskLevel), (ReportKind, enums.ReportKind)):
        assert [(n.value, n.on_chain) for n in names] == [(c.label, c) for c in chain]
