// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IOutageOracle} from "../interfaces/IOutageOracle.sol";
import {IPolicyBook} from "../interfaces/IPolicyBook.sol";

/// @title Entitlement
/// @notice What a policy is owed from the verified outage episodes of its service.
library Entitlement {
    /// @dev Counts each episode that started inside the cover (after the waiting period, before
    /// cover end), whose start is final, and whose downtime exceeds the trigger. An episode that
    /// began before `from` is excluded whole (the oracle's `episodesIn` never returns it): the
    /// outage was a known loss when the cover was bought, and since merging only moves starts
    /// earlier it stays excluded. Downtime is the sum of the episode's windows, so a gap inside
    /// an episode is never paid. The sum is capped at the policy limit.
    function compute(
        IPolicyBook.Product memory prod,
        uint40 coverEnd,
        uint96 limit,
        uint64 from,
        IOutageOracle.Episode[] memory episodes
    ) internal pure returns (uint96) {
        uint256 total;
        for (uint256 i = 0; i < episodes.length; ++i) {
            IOutageOracle.Episode memory e = episodes[i];
            if (e.start < from || e.start >= coverEnd || !e.settled) continue;
            if (e.downSeconds <= prod.triggerSeconds) continue;
            if (prod.payoutKind == IPolicyBook.PayoutKind.Fixed) {
                total += prod.payoutAmount;
            } else {
                uint256 units = (e.downSeconds - prod.triggerSeconds + prod.unitSeconds - 1) / prod.unitSeconds;
                total += units * prod.payoutAmount;
            }
            if (total >= limit) return limit;
        }
        return uint96(total);
    }
}
