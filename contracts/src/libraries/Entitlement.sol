// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IOutageOracle} from "../interfaces/IOutageOracle.sol";
import {IPolicyBook} from "../interfaces/IPolicyBook.sol";

/// @title Entitlement
/// @notice What a policy is owed from the verified outage episodes of its service.
library Entitlement {
    /// @dev Counts each episode that started inside the cover (from `from`, before cover end),
    /// whose start is final, and whose downtime exceeds the trigger. An episode that began before
    /// `from` is excluded whole (the oracle's `episodesIn` never returns it): the outage was a
    /// known loss when the cover was bought, and since merging only moves starts earlier it stays
    /// excluded. Downtime is the sum of the episode's windows outside declared maintenance, so a
    /// gap inside an episode is never paid. Returns `normal`, from episodes outside any excluded
    /// event, and `total`, all episodes, both capped at the policy limit (`normal ≤ total`).
    function compute(
        IPolicyBook.Product memory prod,
        uint40 coverEnd,
        uint96 limit,
        uint64 from,
        IOutageOracle.Episode[] memory episodes
    ) internal pure returns (uint96 normal, uint96 total) {
        uint256 n;
        uint256 all;
        for (uint256 i = 0; i < episodes.length; ++i) {
            IOutageOracle.Episode memory e = episodes[i];
            if (e.start < from || e.start >= coverEnd || !e.settled) continue;
            if (e.downSeconds <= prod.triggerSeconds) continue;
            uint256 amount = prod.payoutAmount;
            if (prod.payoutKind == IPolicyBook.PayoutKind.PerUnit) {
                amount *= (e.downSeconds - prod.triggerSeconds + prod.unitSeconds - 1) / prod.unitSeconds;
            }
            all += amount;
            if (e.excludedEvent == 0) n += amount;
            if (n >= limit) return (limit, limit);
        }
        return (uint96(n), all >= limit ? limit : uint96(all));
    }

    /// @dev The most one episode can pay a policy of `limit`: what the product's `eventCap` sums.
    function perEpisode(IPolicyBook.Product memory prod, uint96 limit) internal pure returns (uint96) {
        return prod.payoutKind == IPolicyBook.PayoutKind.Fixed && prod.payoutAmount < limit ? prod.payoutAmount : limit;
    }
}
