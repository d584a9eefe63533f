"""Table 6 (§6.5): overall score → risk level → underwriting advice. Upper bounds inclusive."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from contracts import enums


class RiskLevel(StrEnum):
    """The levels as reports name them: the chain's enum (contracts.enums), by label."""

    LOW = enums.RiskLevel.LOW.label  # 低等风险
    LOWER = enums.RiskLevel.LOWER.label  # 较低风险
    MEDIUM = enums.RiskLevel.MEDIUM.label  # 中风险
    HIGH = enums.RiskLevel.HIGH.label  # 高风险

    @property
    def on_chain(self) -> enums.RiskLevel:
        return enums.RiskLevel[self.name]


class Underwriting(StrEnum):
    PREFERENTIAL = "preferential"
    STANDARD = "standard"
    CONDITIONAL = "conditional"  # harden first, or cover with a sub-limit
    DECLINE = "decline"


@dataclass(frozen=True, slots=True)
class Band:
    level: RiskLevel
    upper: Fraction  # inclusive: "0~60 分（含）"
    underwriting: Underwriting
    level_zh: str
    advice_zh: str
    advice_en: str
    note_zh: str
    note_en: str


TABLE_6: tuple[Band, ...] = (
    Band(RiskLevel.HIGH, Fraction(60), Underwriting.DECLINE, "高风险", "建议不予承保",
         "Decline cover.",
         "安全基础薄弱，存在大量高风险项，事故概率及预期损失高。",
         "Weak security foundations with many high-risk items; high incident probability "
         "and expected loss."),
    Band(RiskLevel.MEDIUM, Fraction(80), Underwriting.CONDITIONAL, "中风险",
         "建议加固后承保或限额承保",
         "Cover after hardening, or cover with a sub-limit.",
         "存在显著风险，需明确整改要求，承保后加强过程风控；或通过严格条款控制风险。",
         "Significant risk: set remediation requirements and strengthen in-policy risk "
         "control after binding, or control the risk through strict terms."),
    Band(RiskLevel.LOWER, Fraction(90), Underwriting.STANDARD, "较低风险", "建议正常承保",
         "Cover on standard terms.",
         "安全状况达到基本要求，风险在可控范围内",
         "Security meets the basic requirements; the risk is under control."),
    Band(RiskLevel.LOW, Fraction(100), Underwriting.PREFERENTIAL, "低等风险", "建议优惠承保",
         "Cover on preferential terms.",
         "安全状况良好，风险管理优秀，可给予费率优惠或更宽松条款。",
         "Good security and excellent risk management; a rate discount or looser terms "
         "may be offered."),
)



def classify(score: Fraction) -> Band:
    """The Table 6 band of a score in [0, 100]: S ≤ 60 high, ≤ 80 medium, ≤ 90 lower, else low."""
    if not 0 <= score <= 100:
        raise ValueError(f"score {score} outside 0..100")
    for band in TABLE_6:
        if score <= band.upper:
            return band
    raise AssertionError("unreachable: the last band ends at 100")
