// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IOutageOracle
/// @notice Verifies outage reports co-signed by a quorum of monitoring oracles and keeps, per
/// covered service, the verified outage windows: disjoint, non-touching, in time order.
///
/// Windows are the union of every verified submission: a submission that overlaps or touches
/// windows merges with them, one that does not is inserted in order (however late it arrives).
/// Episodes are what pays: maximal runs of windows whose gaps are at most `mergeGap()`. An
/// episode's downtime is the sum of its windows (gaps never count), its start is the start of its
/// first window, and its start is *final* once it has not moved for `finalityDelay()` seconds —
/// the time the honest transmitters have to bridge a split a faulty signer tried to open.
///
/// Roles: `DEFAULT_ADMIN_ROLE` (the governance timelock in production) sets the oracle set;
/// `submit` is open to anyone, the signatures are the authority.
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
    /// `startSince`: when the window was created or its start last moved earlier.
    struct Window {
        uint64 start;
        uint64 end;
        uint40 verifiedAt;
        uint40 startSince;
        bool ongoing;
    }

    /// @notice A run of windows separated by at most `mergeGap()`: one real outage.
    /// `downSeconds` sums the windows; `settled` says the start has been stable for `finalityDelay()`.
    struct Episode {
        uint64 start;
        uint64 end;
        uint64 downSeconds; // downtime outside declared maintenance (what pays)
        uint64 maintenanceSeconds; // downtime inside declared, uncancelled maintenance windows
        bool ongoing;
        bool settled;
        uint32 windows;
        uint32 excludedEvent; // 0, or 1 + index of the first excluded event overlapping the episode
    }

    /// @notice Oracle set `version` is now `signers`, of which `quorum` must co-sign a submission.
    event OracleConfigSet(uint32 indexed version, uint8 quorum, address[] signers);
    /// @notice Emitted for every accepted submission. The window at `index` is now
    /// `[start, end)`; it replaced the `replaced` windows that were at `index ..` before (0: it was
    /// inserted there). Applying these events in order rebuilds the window list exactly.
    /// `signers` is a bitmap of the config's signer indices that backed this submission.
    event OutageVerified(
        bytes32 indexed serviceId,
        uint256 indexed index,
        uint64 start,
        uint64 end,
        bool ongoing,
        uint32 configVersion,
        uint256 signers,
        uint256 replaced
    );

    /// @notice `setConfig`: no signers, more than `MAX_SIGNERS`, or `quorum` not a strict majority
    /// of `signerCount` (or above it).
    error OutageOracleInvalidConfig(uint256 signerCount, uint8 quorum);
    /// @notice `setConfig`: `signer` is the zero address or appears twice.
    error OutageOracleInvalidConfigSigner(address signer);
    /// @notice `submit` before any `setConfig`.
    error OutageOracleNoConfig();
    /// @notice The reports were signed for config version `given`; the current one is `current`.
    error OutageOracleStaleConfig(uint32 given, uint32 current);
    /// @notice Fewer `reports` than the `quorum`.
    error OutageOracleQuorumNotMet(uint256 reports, uint8 quorum);
    /// @notice Report `index` carries an invalid or malleable (high-s) signature.
    error OutageOracleInvalidSignature(uint256 index);
    /// @notice A report was signed by `signer`, who is not in the current config.
    error OutageOracleUnknownSigner(address signer);
    /// @notice `signer` signed more than one report of the submission.
    error OutageOracleDuplicateSigner(address signer);
    /// @notice A report's window does not end after it starts.
    error OutageOracleInvalidWindow(uint64 start, uint64 end);
    /// @notice The verified window ends after the current block time `nowTime`.
    error OutageOracleWindowInFuture(uint64 end, uint256 nowTime);
    /// @notice The reports' windows do not all overlap: the latest start is not before the earliest end.
    error OutageOracleReportsDisjoint(uint64 latestStart, uint64 earliestEnd);
    /// @notice The verified window `[start, end)` adds nothing to the service's windows.
    error OutageOracleWindowAlreadyCovered(bytes32 serviceId, uint64 start, uint64 end);

    /// @notice Replaces the oracle set; bumps the config version, which invalidates every
    /// report signed for an earlier version. The quorum must be a strict majority of the set.
    /// Windows already verified stay.
    /// @dev Requirements: the caller has `DEFAULT_ADMIN_ROLE`. Emits {OracleConfigSet}. Reverts
    /// `OutageOracleInvalidConfig`, `OutageOracleInvalidConfigSigner`.
    function setConfig(address[] calldata signers, uint8 quorum) external;

    /// @notice Verifies ≥ quorum reports from distinct signers of the current config and records
    /// the verified window: from the q-th smallest start to the q-th largest end. The reports'
    /// windows must pairwise overlap; then every instant of the verified window lies inside at
    /// least q signed windows, so with fewer than q faulty oracles an honest one saw it down.
    /// The verified window is ongoing when at least q reports say so. It is merged with every
    /// window it overlaps or touches, or inserted in order.
    /// @dev Anyone may call (the oracle nodes' transmitters do). Emits {OutageVerified}. Reverts
    /// `OutageOracleNoConfig`, `OutageOracleStaleConfig`, `OutageOracleQuorumNotMet`,
    /// `OutageOracleInvalidWindow`, `OutageOracleInvalidSignature`, `OutageOracleUnknownSigner`,
    /// `OutageOracleDuplicateSigner`, `OutageOracleReportsDisjoint`, `OutageOracleWindowInFuture`,
    /// and `OutageOracleWindowAlreadyCovered` when the submission adds nothing.
    /// @param configVersion the config version every report was signed for
    /// @return index position of the window that was created or extended
    function submit(bytes32 serviceId, uint32 configVersion, SignedReport[] calldata reports)
        external
        returns (uint256 index);

    /// @notice The current oracle set (version 0 and no signers before the first `setConfig`).
    function config() external view returns (uint32 version, uint8 quorum, address[] memory signers);

    /// @notice Windows closer than this (seconds) belong to one episode.
    function mergeGap() external view returns (uint32);

    /// @notice Seconds an episode's start must stay unchanged before it is final (payable).
    function finalityDelay() external view returns (uint32);

    /// @notice How many verified windows the service has.
    function windowCount(bytes32 serviceId) external view returns (uint256);

    /// @notice The service's window at `index`, in time order (all zero past the end).
    function windowAt(bytes32 serviceId, uint256 index) external view returns (Window memory);

    /// @notice The episodes of a service that start at or after `from` and before `until`, oldest
    /// first, reading at most `maxWindows` windows. An episode that began before `from` is
    /// skipped whole, including its windows after `from`. Bounded work whatever the history:
    /// one binary search, then at most `maxWindows` reads. `truncated` when the bound cut it short.
    function episodesIn(bytes32 serviceId, uint64 from, uint64 until, uint256 maxWindows)
        external
        view
        returns (Episode[] memory episodes, bool truncated);

    /// @notice The EIP-712 digest an oracle signs for `report` (for off-chain tools and tests).
    function reportDigest(bytes32 serviceId, uint32 configVersion, SignedReport calldata report)
        external
        view
        returns (bytes32);

    /// @notice The EIP-712 domain separator (chain id and this address are in it).
    function domainSeparator() external view returns (bytes32);

    /// @notice The EIP-712 type hash of `OutageReport` (see `SignedReport`).
    function OUTAGE_REPORT_TYPEHASH() external view returns (bytes32);

    /// @notice Most signers in a config (their bitmap fits one word).
    function MAX_SIGNERS() external view returns (uint256);
}
