// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IOutageOracle} from "../interfaces/IOutageOracle.sol";
import {IPolicyBook} from "../interfaces/IPolicyBook.sol";

/// @title Entitlement
/// @notice What a policy is owed from the verified outage windows of its service.
library Entitlement {
    /// @dev Counts each window that started inside the cover (after the waiting period, before
    /// cover end) and lasted longer than the trigger. A window that began before cover start is
    /// excluded whole: the outage was a known loss when the cover was bought. The sum is capped
    /// at the policy limit.
    function compute(
        IPolicyBook.Product memory prod,
        uint40 coverEnd,
        uint96 limit,
        uint64 from,
        IOutageOracle.Window[] memory windows
    ) internal pure returns (uint96) {
        uint256 total;
        for (uint256 i = 0; i < windows.length; ++i) {
            IOutageOracle.Window memory w = windows[i];
            if (w.start < from || w.start >= coverEnd) continue;
            uint256 duration = w.end - w.start;
            if (duration <= prod.triggerSeconds) continue;
            if (prod.payoutKind == IPolicyBook.PayoutKind.Fixed) {
                total += prod.payoutAmount;
            } else {
                uint256 units = (duration - prod.triggerSeconds + prod.unitSeconds - 1) / prod.unitSeconds;
                total += units * prod.payoutAmount;
            }
            if (total >= limit) return limit;
        }
        return uint96(total);
    }
}
