// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title Governance
/// @notice The sole admin of a production deployment: OpenZeppelin's TimelockController,
/// unchanged. Every admin action (role grants and revocations, oracle-set changes,
/// accreditation) is scheduled here first (`CallScheduled`, public), can be executed only after
/// `getMinDelay()` seconds (`CallExecuted`), and can be cancelled meanwhile (`Cancelled`). The
/// timelock administers itself: changing the delay or its proposers is itself a delayed call.
/// A local source only so that the pinned compiler emits (and `compile --check` reproduces) the
/// artifact the deployment and the bytecode check use.
contract Governance is TimelockController {
    /// @param minDelay Seconds between scheduling and execution (short on local chains).
    /// @param proposers Accounts that may schedule and cancel (the insurer's governance account).
    /// @param executors Accounts that may execute a ready operation (address(0): anyone).
    /// @param admin Optional bootstrap admin without delay; deployments pass address(0).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
