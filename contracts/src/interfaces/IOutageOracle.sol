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
/// Exclusions, declared before the fact and public: a service's *maintainer* declares
/// maintenance windows at least `minNotice` ahead, within a budget per `MAINTENANCE_PERIOD`
/// (`MaintenanceRules`); downtime inside an uncancelled window is `maintenanceSeconds`, never
/// `downSeconds`, so it never pays. `DEFAULT_ADMIN_ROLE` declares excluded events (cyber war, a
/// provider-wide systemic event) for a list of services; an episode overlapping one carries its
/// number in `excludedEvent`, and the book sends what it is owed to claims review.
///
/// Roles: `DEFAULT_ADMIN_ROLE` (the governance timelock in production) sets the oracle set and
/// declares excluded events (behind the timelock's delay); `MAINTENANCE_ADMIN_ROLE` sets each
/// service's maintenance rules; `submit` is open to anyone, the signatures are the authority.
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
    /// The windows' downtime (gaps never count) splits into `downSeconds`, outside declared
    /// uncancelled maintenance windows (what pays), and `maintenanceSeconds`, inside them (never
    /// pays). `settled` says the start has been stable for `finalityDelay()`. `excludedEvent` is
    /// 0, or 1 + the index of the service's first excluded event (lowest index) whose period
    /// `[start, end)` overlaps any window of the episode.
    struct Episode {
        uint64 start;
        uint64 end;
        uint64 downSeconds;
        uint64 maintenanceSeconds;
        bool ongoing;
        bool settled;
        uint32 windows;
        uint32 excludedEvent;
    }

    /// @notice A service's maintenance rules: who declares its windows, how far ahead (seconds),
    /// and how many seconds of windows one `MAINTENANCE_PERIOD` may hold. The zero maintainer (the
    /// default) means no window can be declared.
    struct MaintenanceRules {
        address maintainer;
        uint32 minNotice;
        uint32 maxSecondsPerPeriod;
    }

    /// @notice A declared maintenance window `[start, end)`, declared at `declaredAt`. A
    /// cancelled window excludes nothing but keeps its place in the (sorted, disjoint) list.
    struct Maintenance {
        uint64 start;
        uint64 end;
        uint40 declaredAt;
        bool cancelled;
    }

    /// @notice An excluded event's period `[start, end)`, its `reason` (e.g. the keccak of a
    /// public statement) and when it was declared.
    struct ExcludedEvent {
        uint64 start;
        uint64 end;
        bytes32 reason;
        uint40 declaredAt;
    }

    /// @notice The maintenance rules of `serviceId` are now `rules`.
    event MaintenanceRulesSet(bytes32 indexed serviceId, MaintenanceRules rules);
    /// @notice The maintainer of `serviceId` declared maintenance window `index`: `[start, end)`.
    event MaintenanceDeclared(bytes32 indexed serviceId, uint256 indexed index, uint64 start, uint64 end);
    /// @notice Maintenance window `index` of `serviceId` was cancelled before it started.
    event MaintenanceCancelled(bytes32 indexed serviceId, uint256 indexed index);
    /// @notice Excluded event `index` of `serviceId` is `[start, end)` for `reason`.
    event ExcludedEventDeclared(
        bytes32 indexed serviceId, uint256 indexed index, uint64 start, uint64 end, bytes32 reason
    );
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
    /// @notice Constructor: the verdict bucket is 0 or above `MAX_BUCKET_SECONDS`.
    error OutageOracleInvalidBucket(uint32 bucketSeconds);
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

    /// @notice `setMaintenanceRules`: a budget above one `MAINTENANCE_PERIOD`.
    error OutageOracleInvalidMaintenanceRules(uint32 maxSecondsPerPeriod);
    /// @notice `caller` is not the maintainer of `serviceId` (none is set, or another one is).
    error OutageOracleNotMaintainer(bytes32 serviceId, address caller);
    /// @notice A maintenance window that does not end after it starts.
    error OutageOracleInvalidMaintenanceWindow(uint64 start, uint64 end);
    /// @notice A maintenance window must start at `earliest` (now + the rules' `minNotice`) or later.
    error OutageOracleMaintenanceNoticeTooShort(uint64 start, uint256 earliest);
    /// @notice A maintenance window must start at or after `lastEnd`, the end of the service's last one.
    error OutageOracleMaintenanceOutOfOrder(uint64 start, uint64 lastEnd);
    /// @notice The service's latest verified window is ongoing or ended less than `mergeGap` ago
    /// (it may still grow): no maintenance is declared while an outage is in progress.
    error OutageOracleMaintenanceDuringOutage(bytes32 serviceId, uint64 lastWindowEnd);
    /// @notice `period` already holds `MAX_MAINTENANCE_PER_PERIOD` windows (cancelled ones included).
    error OutageOracleMaintenanceCountExceeded(bytes32 serviceId, uint256 period);
    /// @notice The uncancelled windows of `period` would total `total` seconds, above `budget`.
    error OutageOracleMaintenanceBudgetExceeded(bytes32 serviceId, uint256 period, uint256 total, uint32 budget);
    /// @notice The service has no maintenance window `index`.
    error OutageOracleUnknownMaintenance(bytes32 serviceId, uint256 index);
    /// @notice Maintenance window `index` started at `start`: it can no longer be cancelled.
    error OutageOracleMaintenanceStarted(bytes32 serviceId, uint256 index, uint64 start);
    /// @notice Maintenance window `index` is already cancelled.
    error OutageOracleMaintenanceAlreadyCancelled(bytes32 serviceId, uint256 index);
    /// @notice An excluded event that does not end after it starts.
    error OutageOracleInvalidExcludedEvent(uint64 start, uint64 end);
    /// @notice `declareExcludedEvent` with no service.
    error OutageOracleNoServices();
    /// @notice `serviceId` already has `MAX_EXCLUDED_EVENTS` excluded events.
    error OutageOracleTooManyExcludedEvents(bytes32 serviceId);

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

    /// @notice Sets who may declare maintenance windows for `serviceId`, with what notice and
    /// budget. Applies to declarations from now on; windows already declared stay.
    /// @dev Requirements: the caller has `MAINTENANCE_ADMIN_ROLE`. Emits {MaintenanceRulesSet}.
    /// Reverts `OutageOracleInvalidMaintenanceRules` when the budget exceeds `MAINTENANCE_PERIOD`.
    function setMaintenanceRules(bytes32 serviceId, MaintenanceRules calldata rules) external;

    /// @notice Declares the maintenance window `[start, end)` for `serviceId`, never
    /// retroactively: `start >= block.timestamp + minNotice`. Windows stay sorted and disjoint
    /// (`start` at or after the end of the last declared one, cancelled or not); the period of
    /// `start` (`start / MAINTENANCE_PERIOD`) holds at most `MAX_MAINTENANCE_PER_PERIOD` windows and
    /// at most `maxSecondsPerPeriod` seconds of uncancelled ones. Nothing is declared while the
    /// service's latest verified window is ongoing or ended less than `mergeGap` ago, so a window
    /// can never be laid over an outage already happening, whatever the notice.
    /// @dev Requirements: the caller is the rules' maintainer. Emits {MaintenanceDeclared}. Reverts
    /// `OutageOracleNotMaintainer`, `OutageOracleInvalidMaintenanceWindow`, `OutageOracleMaintenanceDuringOutage`,
    /// `OutageOracleMaintenanceNoticeTooShort`, `OutageOracleMaintenanceOutOfOrder`,
    /// `OutageOracleMaintenanceCountExceeded`, `OutageOracleMaintenanceBudgetExceeded`.
    /// @return index the window's position in the service's maintenance list
    function declareMaintenance(bytes32 serviceId, uint64 start, uint64 end) external returns (uint256 index);

    /// @notice Cancels maintenance window `index` before it starts; its seconds return to the
    /// period's budget (its place in the count and in the list stays).
    /// @dev Requirements: the caller is the rules' maintainer. Emits {MaintenanceCancelled}.
    /// Reverts `OutageOracleNotMaintainer`, `OutageOracleUnknownMaintenance`,
    /// `OutageOracleMaintenanceAlreadyCancelled`, `OutageOracleMaintenanceStarted`.
    function cancelMaintenance(bytes32 serviceId, uint256 index) external;

    /// @notice Declares the excluded event `[start, end)` for each of `serviceIds`; it may lie in
    /// the past (the governance delay is its notice). Outage episodes overlapping it carry its
    /// number in `Episode.excludedEvent`.
    /// @dev Requirements: the caller has `DEFAULT_ADMIN_ROLE` (the timelock). Emits
    /// {ExcludedEventDeclared} per service. Reverts `OutageOracleInvalidExcludedEvent`,
    /// `OutageOracleNoServices`, `OutageOracleTooManyExcludedEvents`.
    function declareExcludedEvent(bytes32[] calldata serviceIds, uint64 start, uint64 end, bytes32 reason)
        external;

    /// @notice The maintenance rules of `serviceId` (all zero until set).
    function maintenanceRules(bytes32 serviceId) external view returns (MaintenanceRules memory);

    /// @notice How many maintenance windows `serviceId` has declared (cancelled ones included).
    function maintenanceCount(bytes32 serviceId) external view returns (uint256);

    /// @notice Maintenance window `index` of `serviceId`, in time order (all zero past the end).
    function maintenanceAt(bytes32 serviceId, uint256 index) external view returns (Maintenance memory);

    /// @notice How many excluded events `serviceId` has.
    function excludedEventCount(bytes32 serviceId) external view returns (uint256);

    /// @notice Excluded event `index` of `serviceId`, in declaration order (all zero past the end).
    function excludedEventAt(bytes32 serviceId, uint256 index) external view returns (ExcludedEvent memory);

    /// @notice The role that sets maintenance rules: keccak256("MAINTENANCE_ADMIN_ROLE").
    function MAINTENANCE_ADMIN_ROLE() external view returns (bytes32);

    /// @notice The maintenance budget period, seconds: a window counts in `start / MAINTENANCE_PERIOD`.
    function MAINTENANCE_PERIOD() external view returns (uint32);

    /// @notice Most maintenance windows one period may hold: bounds the work of `episodesIn`.
    function MAX_MAINTENANCE_PER_PERIOD() external view returns (uint256);

    /// @notice Most excluded events per service.
    function MAX_EXCLUDED_EVENTS() external view returns (uint256);

    /// @notice The longest verdict bucket a deployment may declare (seconds).
    function MAX_BUCKET_SECONDS() external view returns (uint32);

    /// @notice The current oracle set (version 0 and no signers before the first `setConfig`).
    function config() external view returns (uint32 version, uint8 quorum, address[] memory signers);

    /// @notice Windows closer than this (seconds) belong to one episode.
    function mergeGap() external view returns (uint32);

    /// @notice Seconds an episode's start must stay unchanged before it is final (payable).
    function finalityDelay() external view returns (uint32);

    /// @notice The verdict bucket length (seconds) of this deployment's oracle nodes: they vote per
    /// UTC-aligned bucket of this length, so honest windows start and end on its multiples. A
    /// deployment parameter (60 by default; a few seconds on test chains); a node whose configured
    /// bucket differs refuses to start.
    function bucketSeconds() external view returns (uint32);

    /// @notice How many verified windows the service has.
    function windowCount(bytes32 serviceId) external view returns (uint256);

    /// @notice The service's window at `index`, in time order (all zero past the end).
    function windowAt(bytes32 serviceId, uint256 index) external view returns (Window memory);

    /// @notice The episodes of a service that start at or after `from` and before `until`, oldest
    /// first, reading at most `maxWindows` windows. An episode that began before `from` is
    /// skipped whole, including its windows after `from`. Bounded work whatever the history:
    /// one binary search, then at most `maxWindows` window reads; the maintenance list is entered
    /// by one binary search and walked with a pointer that only moves forward, so it reads each
    /// window it overlaps (at most `MAX_MAINTENANCE_PER_PERIOD` per period the episodes span)
    /// plus one per window; the excluded events are read once. `truncated` when the bound cut it short.
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
