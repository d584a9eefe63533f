"""Types of the Appendix A questionnaire and lookups over it.

The data itself lives in appendix_a.py so that a reviewer can compare it with the standard
line by line without wading through code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction


class Part(StrEnum):
    """The base part and the three risk scenarios of §6.3.1/§6.3.2."""

    BASE = "base"
    RANSOMWARE = "ransomware"
    BUSINESS_INTERRUPTION = "business_interruption"
    DATA_SECURITY = "data_security"


SCENARIOS: tuple[Part, ...] = (Part.RANSOMWARE, Part.BUSINESS_INTERRUPTION, Part.DATA_SECURITY)


class Category(StrEnum):
    """The two groupings Appendix A uses inside every part."""

    INTERNAL_MANAGEMENT = "internal_management"  # 内部安全管理 (安全管理 in the BI scenario)
    EXTERNAL_PROTECTION = "external_protection"  # 外部安全防护


@dataclass(frozen=True, slots=True)
class Item:
    """One sub-item of Appendix A, answered yes / partial / no."""

    id: str
    part: Part
    category: Category
    topic_zh: str  # 风险识别项: the heading the sub-item sits under
    topic_en: str
    text_zh: str  # 风险识别内容, as printed (full-width punctuation restored)
    text_en: str
    points: Fraction  # upper bound of 分数区间, as printed


@dataclass(frozen=True, slots=True)
class PartInfo:
    part: Part
    name_zh: str
    name_en: str
