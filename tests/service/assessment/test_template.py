"""Appendix A transcription: counts, points, totals, ids, and the text against the seed."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from service.assessment import ITEMS, ITEMS_BY_ID, Category, Part, max_points
from service.assessment.views import template_json

SEED = Path("/work/shared/seeds/002_4bc1c6ba130fc7ad.txt")


def test_item_counts_per_part_match_appendix_a() -> None:
    counts = Counter(item.part for item in ITEMS)
    assert counts == {
        Part.BASE: 24, Part.RANSOMWARE: 7, Part.BUSINESS_INTERRUPTION: 5, Part.DATA_SECURITY: 12,
    }


def test_part_totals_are_the_printed_sums() -> None:
    # base: 应急管理 printed as two 0-5 items → 105; ransomware items sum to 50 as printed.
    assert max_points(Part.BASE) == 105
    assert max_points(Part.RANSOMWARE) == 50
    assert max_points(Part.BUSINESS_INTERRUPTION) == 100
    assert max_points(Part.DATA_SECURITY) == 100


@pytest.mark.parametrize(
    ("part", "internal", "external"),
    [
        (Part.BASE, 55, 50),
        (Part.RANSOMWARE, 25, 25),
        (Part.BUSINESS_INTERRUPTION, 40, 60),
        (Part.DATA_SECURITY, 60, 40),
    ],
)
def test_category_totals(part: Part, internal: int, external: int) -> None:
    def total(cat: Category) -> Fraction:
        return sum((i.points for i in ITEMS if i.part is part and i.category is cat), Fraction(0))

    assert total(Category.INTERNAL_MANAGEMENT) == internal
    assert total(Category.EXTERNAL_PROTECTION) == external


def test_points_as_printed_for_distinctive_items() -> None:
    points = {item_id: ITEMS_BY_ID[item_id].points for item_id in (
        "base.im.03", "base.im.04", "base.im.11", "base.im.12", "base.ep.06",
        "ransomware.im.02", "business_interruption.ep.01", "business_interruption.ep.03",
        "data_security.im.07",
    )}
    assert points == {
        "base.im.03": 10, "base.im.04": Fraction(5, 2), "base.im.11": 5, "base.im.12": 5,
        "base.ep.06": Fraction(5, 2), "ransomware.im.02": 10, "business_interruption.ep.01": 30,
        "business_interruption.ep.03": 10, "data_security.im.07": 5,
    }
    assert {item.points for item in ITEMS} <= {Fraction(5, 2), 5, 10, 20, 30}


def test_ids_are_stable_unique_and_match_part_and_category() -> None:
    assert len(ITEMS_BY_ID) == len(ITEMS)
    for item in ITEMS:
        part, cat, number = item.id.split(".")
        assert part == item.part.value
        assert cat == {"internal_management": "im", "external_protection": "ep"}[item.category]
        assert re.fullmatch(r"\d\d", number)


def test_every_item_has_both_languages() -> None:
    for item in ITEMS:
        assert item.text_zh.strip()
        assert item.text_en.strip()
        assert item.topic_en.strip()
        assert re.search(r"[\u4e00-\u9fff]", item.text_zh)
        assert not re.search(r"[\u4e00-\u9fff]", item.text_en)


def _normalise(text: str) -> str:
    table = str.maketrans({",": "，", "(": "（", ")": "）"})
    return re.sub(r"\s+", "", text).translate(table)


@pytest.mark.skipif(not SEED.exists(), reason="seed text of the standard not available")
def test_text_zh_is_transcribed_from_the_seed() -> None:
    seed = _normalise(SEED.read_text(encoding="utf-8"))
    # The Appendix A body only (the last heading; the first is in the table of contents).
    appendix = seed[seed.rindex("附录A（资料性）"):seed.rindex("附录B（资料性）")]
    assert "风险评估表示例" in appendix
    assert "能力评分" not in appendix
    # Cells split across a page break in the seed: check both halves.
    split = {"base.ep.04": "其他网络区", "data_security.im.05": "安全评估和"}
    for item in ITEMS:
        text = _normalise(item.text_zh)
        if item.id in split:
            head, tail = text.split(split[item.id], 1)
            assert head + split[item.id] in appendix, item.id
            assert tail[:12] in appendix, item.id
        else:
            assert text in appendix, item.id
        assert _normalise(item.topic_zh) in appendix, item.id


def test_template_json_shape() -> None:
    doc = template_json()
    assert doc["standard"] == "T/SNISA 04002—2025"
    items = doc["items"]
    assert isinstance(items, list)
    assert len(items) == 48
    first = items[0]
    assert isinstance(first, dict)
    assert {"id", "part", "category", "points", "text_zh", "text_en"} <= set(first)
    assert doc["default_weights"] == {
        "base": "0.7", "ransomware": "0.1", "business_interruption": "0.1", "data_security": "0.1",
    }
    parts = doc["parts"]
    assert isinstance(parts, dict)
    assert parts["base"] == {
        "name_zh": "基础评估项", "name_en": "Baseline assessment", "items": 24,
        "max_points": "105",
        "category_points": {"internal_management": "55", "external_protection": "50"},
    }
