// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IOutageOracle
/// @notice Verifies outage reports co-signed by a quorum of monitoring oracles and keeps, per
/// covered service, the verified outage windows in time order. Windows never overlap.
interface IOutageOracle {
    /// @notice One oracle's signed view of an outage. Each oracle signs the EIP-712 struct
    /// `OutageReport(bytes32 serviceId,uint32 configVersion,uint64 start,uint64 end,bool ongoing,
    /// bytes32 evidenceRoot,uint64 seq)`; serviceId and configVersion are shared by the whole
    /// submission, so they travel once. `(r, vs)` is an EIP-2098 compact signature.
    struct SignedReport {
        uint64 start;
        uint64 end;
        bool ongoing;
        bytes32 evidenceRoot;
        uint64 seq;
        bytes32 r;
        bytes32 vs;
    }

    /// @notice A verified outage window `[start, end)` in unix seconds. One storage slot.
    struct Window {
        uint64 start;
        uint64 end;
        uint40 verifiedAt;
        bool ongoing;
    }

    event OracleConfigSet(uint32 indexed version, uint8 quorum, address[] signers);
    /// @notice Emitted for every accepted submission: a new window, or the latest one extended.
    /// `signers` is a bitmap of the config's signer indices that backed this submission.
    event OutageVerified(
        bytes32 indexed serviceId,
        uint256 indexed index,
        uint64 start,
        uint64 end,
        bool ongoing,
        uint32 configVersion,
        uint256 signers
    );

    error OutageOracleInvalidConfig(uint256 signerCount, uint8 quorum);
    error OutageOracleInvalidConfigSigner(address signer);
    error OutageOracleNoConfig();
    error OutageOracleStaleConfig(uint32 given, uint32 current);
    error OutageOracleQuorumNotMet(uint256 reports, uint8 quorum);
    error OutageOracleInvalidSignature(uint256 index);
    error OutageOracleUnknownSigner(address signer);
    error OutageOracleDuplicateSigner(address signer);
    error OutageOracleInvalidWindow(uint64 start, uint64 end);
    error OutageOracleWindowInFuture(uint64 end, uint256 nowTime);
    error OutageOracleReportsDisjoint(uint64 latestStart, uint64 earliestEnd);
    error OutageOracleWindowAlreadyCovered(bytes32 serviceId, uint64 start, uint64 end);
    error OutageOracleWindowOutOfOrder(bytes32 serviceId, uint64 end, uint64 latestStart);

    /// @notice Replaces the oracle set; bumps the config version, which invalidates every
    /// report signed for an earlier version.
    function setConfig(address[] calldata signers, uint8 quorum) external;

    /// @notice Verifies ≥ quorum reports from distinct signers of the current config and records
    /// the verified window: from the q-th smallest start to the q-th largest end. The reports'
    /// windows must pairwise overlap; then every instant of the verified window lies inside at
    /// least q signed windows, so with fewer than q faulty oracles an honest one saw it down.
    /// @return index position of the window that was created or extended
    function submit(bytes32 serviceId, uint32 configVersion, SignedReport[] calldata reports)
        external
        returns (uint256 index);

    function config() external view returns (uint32 version, uint8 quorum, address[] memory signers);

    function windowCount(bytes32 serviceId) external view returns (uint256);

    function windowAt(bytes32 serviceId, uint256 index) external view returns (Window memory);

    /// @notice The windows of a service that start at or after `from`, oldest first.
    function windowsSince(bytes32 serviceId, uint64 from) external view returns (Window[] memory);

    /// @notice The EIP-712 digest an oracle signs for `report` (for off-chain tools and tests).
    function reportDigest(bytes32 serviceId, uint32 configVersion, SignedReport calldata report)
        external
        view
        returns (bytes32);
}
