"""§4.1 insured loss types, and which of them each assessed part bears on.

Lets the risk list state the "潜在的业务影响（及对应的保险损失）" that §6.4 c asks for, and gives
incident loss items (§8.3) a closed vocabulary.
"""

from __future__ import annotations

from enum import StrEnum

from service.assessment.template import Part


class LossType(StrEnum):
    BUSINESS_INTERRUPTION = "business_interruption_loss"  # 4.1.1 a) 营业中断损失
    EXTORTION = "extortion_loss"  # 4.1.1 b) 网络勒索损失
    DATA_ASSET = "data_asset_loss"  # 4.1.1 c) 数据资产损失
    EMERGENCY_RESPONSE = "emergency_response_costs"  # 4.1.1 d) 应急响应费用
    NETWORK_SECURITY_LIABILITY = "network_security_liability"  # 4.1.2 a) 网络安全责任
    INFORMATION_LEAK_LIABILITY = "information_leak_liability"  # 4.1.2 b) 信息泄露责任


FIRST_PARTY: frozenset[LossType] = frozenset({
    LossType.BUSINESS_INTERRUPTION, LossType.EXTORTION, LossType.DATA_ASSET,
    LossType.EMERGENCY_RESPONSE,
})

LOSS_TYPE_ZH: dict[LossType, str] = {
    LossType.BUSINESS_INTERRUPTION: "营业中断损失",
    LossType.EXTORTION: "网络勒索损失",
    LossType.DATA_ASSET: "数据资产损失",
    LossType.EMERGENCY_RESPONSE: "应急响应费用",
    LossType.NETWORK_SECURITY_LIABILITY: "网络安全责任",
    LossType.INFORMATION_LEAK_LIABILITY: "信息泄露责任",
}

# The base part is the precondition of every scenario (§6.3.1), so it bears on all losses.
EXPOSURE_BY_PART: dict[Part, tuple[LossType, ...]] = {
    Part.BASE: tuple(LossType),
    Part.RANSOMWARE: (LossType.EXTORTION, LossType.EMERGENCY_RESPONSE),
    Part.BUSINESS_INTERRUPTION: (
        LossType.BUSINESS_INTERRUPTION, LossType.NETWORK_SECURITY_LIABILITY,
    ),
    Part.DATA_SECURITY: (LossType.DATA_ASSET, LossType.INFORMATION_LEAK_LIABILITY),
}
