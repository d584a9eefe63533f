"""§7.2.1: what is watched during the policy and how often, by risk tier.

§7.2.1 has three tiers (高/中/低) while Table 6 has four levels; "lower" (较低风险) is
served by the low tier, since both bands are insured on normal or better terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.assessment.levels import RiskLevel


class Tier(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Activity:
    frequency: str  # machine-readable: weekly, monthly, quarterly, semiannual, once
    min_per_year: int  # lower bound per policy year, for scheduling and compliance checks
    text_zh: str


@dataclass(frozen=True, slots=True)
class MonitoringPlan:
    tier: Tier
    security_assessment: Activity
    event_monitoring: Activity
    staff_training: Activity
    source: str


PLANS: dict[Tier, MonitoringPlan] = {
    Tier.HIGH: MonitoringPlan(
        Tier.HIGH,
        Activity("monthly", 12, "每月进行安全评估"),
        Activity("weekly", 52, "每周监控安全事件"),
        Activity("quarterly", 4, "每季度进行员工网络安全风险培训"),
        "§7.2.1 a)",
    ),
    Tier.MEDIUM: MonitoringPlan(
        Tier.MEDIUM,
        Activity("quarterly", 4, "每季度进行安全评估"),
        Activity("monthly", 12, "每月监控安全事件"),
        Activity("semiannual", 2, "每半年进行员工网络安全风险培训"),
        "§7.2.1 b)",
    ),
    Tier.LOW: MonitoringPlan(
        Tier.LOW,
        Activity("semiannual", 2, "每半年进行一次安全评估"),
        Activity("quarterly", 4, "每季度监控安全事件"),
        # "至少进行 1 次": read as at least once per policy year.
        Activity("once", 1, "至少进行 1 次员工网络安全风险培训"),
        "§7.2.1 c)",
    ),
}

TIER_FOR_LEVEL: dict[RiskLevel, Tier] = {
    RiskLevel.HIGH: Tier.HIGH,
    RiskLevel.MEDIUM: Tier.MEDIUM,
    RiskLevel.LOWER: Tier.LOW,
    RiskLevel.LOW: Tier.LOW,
}


class ChangeArea(StrEnum):
    """§7.2.1 过程风险评估内容: the changes and threats an in-policy assessment watches."""

    SYSTEM_CHANGE = "system_change"  # a) 1) 重大信息系统上线、升级、架构变更
    NETWORK_TOPOLOGY = "network_topology"  # a) 2) 核心网络拓扑调整
    SECURITY_POLICY = "security_policy"  # a) 3) 关键安全策略、流程变更
    SUPPLIER_CHANGE = "supplier_change"  # a) 4) 重要供应商/外包商变更
    ORGANISATION_CHANGE = "organisation_change"  # a) 5) 重大组织架构或安全团队变动
    INDUSTRY_VULNERABILITY = "industry_vulnerability"  # b) 1) 行业高危漏洞披露
    NEW_ATTACK_TECHNIQUE = "new_attack_technique"  # b) 2) 新型攻击手法（如零日漏洞利用）


def plan_for(level: RiskLevel) -> MonitoringPlan:
    return PLANS[TIER_FOR_LEVEL[level]]
