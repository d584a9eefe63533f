"""Part weights of §6.3.3.2: defaults, overrides, and rescaling over the covered scenarios.

The standard sets W = 0 for a scenario the cover does not include (note 3) but leaves the
other weights as they are, which would cap S below 100 and push every partial cover into
"high risk". We rescale the remaining weights to sum to 1 so that all-yes is always 100 and
the Table 6 bands mean the same thing for every cover.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

from service.assessment.errors import AssessmentError
from service.assessment.numbers import parse_decimal
from service.assessment.template import SCENARIOS, Part

# §6.3.3.2: W_base suggested 70 %, scenarios 30 % in total; split evenly over the three.
DEFAULT_WEIGHTS: Mapping[Part, Fraction] = {
    Part.BASE: Fraction(7, 10),
    Part.RANSOMWARE: Fraction(1, 10),
    Part.BUSINESS_INTERRUPTION: Fraction(1, 10),
    Part.DATA_SECURITY: Fraction(1, 10),
}


def parse_part(name: object, what: str = "part") -> Part:
    if not isinstance(name, str):
        raise AssessmentError(f"{what}: expected a string, got {type(name).__name__}")
    try:
        return Part(name)
    except ValueError:
        allowed = ", ".join(p.value for p in Part)
        message = f"{what}: unknown part {name!r} (expected one of {allowed})"
        raise AssessmentError(message) from None


def parse_scenarios(names: Iterable[object]) -> tuple[Part, ...]:
    """Covered scenarios, in template order; base is always assessed and cannot be listed."""
    chosen: set[Part] = set()
    for name in names:
        part = parse_part(name, "scenario")
        if part is Part.BASE:
            raise AssessmentError("scenario: 'base' is always assessed; list only scenarios")
        if part in chosen:
            raise AssessmentError(f"scenario: {part.value!r} listed twice")
        chosen.add(part)
    return tuple(p for p in SCENARIOS if p in chosen)


def resolve_weights(
    scenarios: Iterable[Part], overrides: Mapping[str, object] | None = None
) -> dict[Part, Fraction]:
    """Effective weights for every part (excluded scenarios at 0), summing exactly to 1.

    Overrides replace defaults key by key; a weight given for an uncovered scenario is
    accepted and zeroed, so one product-wide weight table serves every cover.
    """
    covered = {Part.BASE, *scenarios}
    raw = dict(DEFAULT_WEIGHTS)
    for key, value in (overrides or {}).items():
        part = parse_part(key, "weights")
        weight = parse_decimal(value, f"weights.{part.value}")
        if weight < 0:
            raise AssessmentError(f"weights.{part.value}: must not be negative")
        raw[part] = weight
    effective = {part: (w if part in covered else Fraction(0)) for part, w in raw.items()}
    total = sum(effective.values(), Fraction(0))
    if total == 0:
        raise AssessmentError("weights: the covered parts all have weight 0")
    return {part: effective[part] / total for part in Part}
