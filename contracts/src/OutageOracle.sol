// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IOutageOracle} from "./interfaces/IOutageOracle.sol";
import {SignerSet} from "./libraries/SignerSet.sol";

/// @title OutageOracle
/// @notice Quorum-verified outage windows per covered service.
contract OutageOracle is IOutageOracle, AccessControl, EIP712 {
    /// @inheritdoc IOutageOracle
    bytes32 public constant OUTAGE_REPORT_TYPEHASH = keccak256(
        "OutageReport(bytes32 serviceId,uint32 configVersion,uint64 start,uint64 end,bool ongoing,bytes32 evidenceRoot,uint64 seq)"
    );
    /// @inheritdoc IOutageOracle
    uint256 public constant MAX_SIGNERS = 32;
    /// @inheritdoc IOutageOracle
    bytes32 public constant MAINTENANCE_ADMIN_ROLE = keccak256("MAINTENANCE_ADMIN_ROLE");
    /// @inheritdoc IOutageOracle
    uint32 public constant MAINTENANCE_PERIOD = 30 days;
    /// @inheritdoc IOutageOracle
    uint256 public constant MAX_MAINTENANCE_PER_PERIOD = 8;
    /// @inheritdoc IOutageOracle
    uint256 public constant MAX_EXCLUDED_EVENTS = 32;
    /// @inheritdoc IOutageOracle
    uint32 public constant MAX_BUCKET_SECONDS = 3600;

    struct Config {
        uint32 version;
        uint8 quorum;
        uint8 count;
        address pointer; // SignerSet data contract
    }

    /// @dev The newest window of a service, with the service's window count, in one slot; older
    /// windows live in `_archive`, so extending an ongoing outage rewrites a single slot.
    struct Latest {
        uint64 start;
        uint64 end;
        uint40 verifiedAt;
        uint40 startSince;
        bool ongoing;
        uint32 count;
    }

    /// @dev A service's maintenance rules with its maintenance and excluded-event counts, in one
    /// slot: `episodesIn` learns there is nothing to exclude from a single read.
    struct Exclusions {
        address maintainer;
        uint32 minNotice;
        uint32 maxSecondsPerPeriod;
        uint24 maintenanceCount;
        uint8 excludedCount;
    }

    /// @dev What one budget period of a service holds: windows declared (cancelled included) and
    /// seconds of uncancelled ones.
    struct PeriodUse {
        uint32 count;
        uint64 used;
    }

    /// @dev `episodesIn`'s walk over the exclusions, loaded on the first episode window it counts.
    struct Scan {
        bool loaded;
        uint256 maintenanceCount;
        uint256 next; // first maintenance window that may still overlap a later outage window
        uint256 excludedCount;
        uint64[] eventStarts;
        uint64[] eventEnds;
    }

    uint32 private immutable _mergeGap;
    uint32 private immutable _finalityDelay;
    uint32 private immutable _bucketSeconds;

    Config private _config;
    mapping(bytes32 serviceId => Latest) private _latest;
    mapping(bytes32 serviceId => mapping(uint256 index => Window)) private _archive;
    mapping(bytes32 serviceId => Exclusions) private _exclusions;
    mapping(bytes32 serviceId => mapping(uint256 index => Maintenance)) private _maintenance;
    mapping(bytes32 serviceId => mapping(uint256 period => PeriodUse)) private _periodUse;
    mapping(bytes32 serviceId => mapping(uint256 index => ExcludedEvent)) private _excluded;

    /// @param mergeGap_ windows at most this far apart are one episode (the nodes' own
    /// close-after hysteresis is the natural value: their episodes never have longer UP gaps)
    /// @param finalityDelay_ how long an episode's start must stay unchanged before it pays:
    /// longer than the honest transmitters' submission interval plus inclusion time
    /// @param bucketSeconds_ the verdict bucket the oracle nodes of this deployment judge (UTC-aligned,
    /// 1 to `MAX_BUCKET_SECONDS`; 60 by default): published for the nodes, which refuse to start on
    /// another value, and for auditors
    constructor(address admin, uint32 mergeGap_, uint32 finalityDelay_, uint32 bucketSeconds_)
        EIP712("CyberCover OutageOracle", "1")
    {
        if (bucketSeconds_ == 0 || bucketSeconds_ > MAX_BUCKET_SECONDS) revert OutageOracleInvalidBucket(bucketSeconds_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _mergeGap = mergeGap_;
        _finalityDelay = finalityDelay_;
        _bucketSeconds = bucketSeconds_;
    }

    /// @inheritdoc IOutageOracle
    function setConfig(address[] calldata signers, uint8 quorum) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 n = signers.length;
        // A strict majority: two disjoint quorums can never both exist, and an admin cannot
        // shrink the quorum to one signer it controls.
        if (n == 0 || n > MAX_SIGNERS || quorum > n || 2 * uint256(quorum) <= n) {
            revert OutageOracleInvalidConfig(n, quorum);
        }
        for (uint256 i = 0; i < n; ++i) {
            if (signers[i] == address(0)) revert OutageOracleInvalidConfigSigner(address(0));
            for (uint256 j = 0; j < i; ++j) {
                if (signers[j] == signers[i]) revert OutageOracleInvalidConfigSigner(signers[i]);
            }
        }
        uint32 version = _config.version + 1;
        _config = Config({version: version, quorum: quorum, count: uint8(n), pointer: SignerSet.write(signers)});
        emit OracleConfigSet(version, quorum, signers);
    }

    /// @inheritdoc IOutageOracle
    function submit(bytes32 serviceId, uint32 configVersion, SignedReport[] calldata reports)
        external
        returns (uint256 index)
    {
        Config memory cfg = _config;
        if (cfg.version == 0) revert OutageOracleNoConfig();
        if (configVersion != cfg.version) revert OutageOracleStaleConfig(configVersion, cfg.version);
        uint256 n = reports.length;
        if (n < cfg.quorum) revert OutageOracleQuorumNotMet(n, cfg.quorum);

        (Window memory verified, uint256 signerBits) = _verifyReports(serviceId, configVersion, reports, cfg);
        if (verified.end > block.timestamp) revert OutageOracleWindowInFuture(verified.end, block.timestamp);

        uint256 replaced;
        (uint64 start, uint64 end, bool ongoing) = (verified.start, verified.end, verified.ongoing);
        (index, replaced, start, end, ongoing) = _record(serviceId, start, end, ongoing);
        emit OutageVerified(serviceId, index, start, end, ongoing, configVersion, signerBits, replaced);
    }

    /// @inheritdoc IOutageOracle
    function setMaintenanceRules(bytes32 serviceId, MaintenanceRules calldata rules)
        external
        onlyRole(MAINTENANCE_ADMIN_ROLE)
    {
        if (rules.maxSecondsPerPeriod > MAINTENANCE_PERIOD) {
            revert OutageOracleInvalidMaintenanceRules(rules.maxSecondsPerPeriod);
        }
        Exclusions storage x = _exclusions[serviceId];
        (x.maintainer, x.minNotice, x.maxSecondsPerPeriod) = (rules.maintainer, rules.minNotice, rules.maxSecondsPerPeriod);
        emit MaintenanceRulesSet(serviceId, rules);
    }

    /// @inheritdoc IOutageOracle
    function declareMaintenance(bytes32 serviceId, uint64 start, uint64 end) external returns (uint256 index) {
        Exclusions memory x = _exclusions[serviceId];
        if (x.maintainer == address(0) || msg.sender != x.maintainer) {
            revert OutageOracleNotMaintainer(serviceId, msg.sender);
        }
        if (end <= start) revert OutageOracleInvalidMaintenanceWindow(start, end);
        // Never retroactive: a window starts after the declaration by at least the notice, so
        // every outage it covers happened after it was public.
        uint256 earliest = block.timestamp + x.minNotice;
        if (start < earliest) revert OutageOracleMaintenanceNoticeTooShort(start, earliest);
        // With a short notice a hostile maintainer could otherwise cut the rest of a running outage.
        Latest memory l = _latest[serviceId];
        if (l.count > 0 && (l.ongoing || uint256(l.end) + _mergeGap > block.timestamp)) {
            revert OutageOracleMaintenanceDuringOutage(serviceId, l.end);
        }
        index = x.maintenanceCount;
        if (index > 0) {
            uint64 lastEnd = _maintenance[serviceId][index - 1].end;
            if (start < lastEnd) revert OutageOracleMaintenanceOutOfOrder(start, lastEnd);
        }
        uint256 period = start / MAINTENANCE_PERIOD;
        PeriodUse memory u = _periodUse[serviceId][period];
        if (u.count >= MAX_MAINTENANCE_PER_PERIOD) revert OutageOracleMaintenanceCountExceeded(serviceId, period);
        uint256 total = uint256(u.used) + (end - start);
        if (total > x.maxSecondsPerPeriod) {
            revert OutageOracleMaintenanceBudgetExceeded(serviceId, period, total, x.maxSecondsPerPeriod);
        }
        _periodUse[serviceId][period] = PeriodUse(u.count + 1, uint64(total));
        _maintenance[serviceId][index] = Maintenance(start, end, uint40(block.timestamp), false);
        _exclusions[serviceId].maintenanceCount = x.maintenanceCount + 1; // checked uint24: reverts at 2^24
        emit MaintenanceDeclared(serviceId, index, start, end);
    }

    /// @inheritdoc IOutageOracle
    function cancelMaintenance(bytes32 serviceId, uint256 index) external {
        Exclusions memory x = _exclusions[serviceId];
        if (x.maintainer == address(0) || msg.sender != x.maintainer) {
            revert OutageOracleNotMaintainer(serviceId, msg.sender);
        }
        if (index >= x.maintenanceCount) revert OutageOracleUnknownMaintenance(serviceId, index);
        Maintenance storage m = _maintenance[serviceId][index];
        if (m.cancelled) revert OutageOracleMaintenanceAlreadyCancelled(serviceId, index);
        if (block.timestamp >= m.start) revert OutageOracleMaintenanceStarted(serviceId, index, m.start);
        m.cancelled = true;
        _periodUse[serviceId][m.start / MAINTENANCE_PERIOD].used -= m.end - m.start;
        emit MaintenanceCancelled(serviceId, index);
    }

    /// @inheritdoc IOutageOracle
    function declareExcludedEvent(bytes32[] calldata serviceIds, uint64 start, uint64 end, bytes32 reason)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (end <= start) revert OutageOracleInvalidExcludedEvent(start, end);
        if (serviceIds.length == 0) revert OutageOracleNoServices();
        for (uint256 i = 0; i < serviceIds.length; ++i) {
            bytes32 serviceId = serviceIds[i];
            uint256 index = _exclusions[serviceId].excludedCount;
            if (index >= MAX_EXCLUDED_EVENTS) revert OutageOracleTooManyExcludedEvents(serviceId);
            _excluded[serviceId][index] = ExcludedEvent(start, end, reason, uint40(block.timestamp));
            _exclusions[serviceId].excludedCount = uint8(index + 1);
            emit ExcludedEventDeclared(serviceId, index, start, end, reason);
        }
    }

    /// @inheritdoc IOutageOracle
    function maintenanceRules(bytes32 serviceId) external view returns (MaintenanceRules memory) {
        Exclusions memory x = _exclusions[serviceId];
        return MaintenanceRules(x.maintainer, x.minNotice, x.maxSecondsPerPeriod);
    }

    /// @inheritdoc IOutageOracle
    function maintenanceCount(bytes32 serviceId) external view returns (uint256) {
        return _exclusions[serviceId].maintenanceCount;
    }

    /// @inheritdoc IOutageOracle
    function maintenanceAt(bytes32 serviceId, uint256 index) external view returns (Maintenance memory) {
        return _maintenance[serviceId][index];
    }

    /// @inheritdoc IOutageOracle
    function excludedEventCount(bytes32 serviceId) external view returns (uint256) {
        return _exclusions[serviceId].excludedCount;
    }

    /// @inheritdoc IOutageOracle
    function excludedEventAt(bytes32 serviceId, uint256 index) external view returns (ExcludedEvent memory) {
        return _excluded[serviceId][index];
    }

    /// @inheritdoc IOutageOracle
    function config() external view returns (uint32 version, uint8 quorum, address[] memory signers) {
        Config memory cfg = _config;
        signers = cfg.version == 0 ? new address[](0) : SignerSet.read(cfg.pointer, cfg.count);
        return (cfg.version, cfg.quorum, signers);
    }

    /// @inheritdoc IOutageOracle
    function mergeGap() external view returns (uint32) {
        return _mergeGap;
    }

    /// @inheritdoc IOutageOracle
    function finalityDelay() external view returns (uint32) {
        return _finalityDelay;
    }

    /// @inheritdoc IOutageOracle
    function bucketSeconds() external view returns (uint32) {
        return _bucketSeconds;
    }

    /// @inheritdoc IOutageOracle
    function windowCount(bytes32 serviceId) external view returns (uint256) {
        return _latest[serviceId].count;
    }

    /// @inheritdoc IOutageOracle
    function windowAt(bytes32 serviceId, uint256 index) external view returns (Window memory) {
        Latest memory l = _latest[serviceId];
        if (index >= l.count) return Window(0, 0, 0, 0, false);
        return _get(serviceId, index, l);
    }

    /// @inheritdoc IOutageOracle
    function episodesIn(bytes32 serviceId, uint64 from, uint64 until, uint256 maxWindows)
        external
        view
        returns (Episode[] memory episodes, bool truncated)
    {
        Latest memory l = _latest[serviceId];
        uint256 n = l.count;
        episodes = new Episode[](maxWindows);
        uint256 k;
        uint256 i = n == 0 ? 0 : _firstStartingFrom(serviceId, from, l);
        // The window before `i` (if any) tells whether window `i` continues an earlier episode.
        bool before = i > 0;
        uint64 prevEnd = before ? _get(serviceId, i - 1, l).end : 0;
        Episode memory cur;
        Scan memory scan;
        bool building;
        uint256 budget = maxWindows;
        while (i < n) {
            if (budget == 0) {
                truncated = true;
                break;
            }
            --budget;
            Window memory w = _get(serviceId, i, l);
            bool joins = (before || building) && w.start - prevEnd <= _mergeGap;
            prevEnd = w.end;
            ++i;
            if (joins && before) continue; // the rest of an episode that began before `from`
            before = false;
            if (joins) {
                cur.end = w.end;
                cur.ongoing = w.ongoing;
                ++cur.windows;
            } else {
                if (building) episodes[k++] = cur;
                building = w.start < until;
                if (!building) break;
                cur = Episode({
                    start: w.start,
                    end: w.end,
                    downSeconds: 0,
                    maintenanceSeconds: 0,
                    ongoing: w.ongoing,
                    settled: uint256(w.startSince) + _finalityDelay <= block.timestamp,
                    windows: 1,
                    excludedEvent: 0
                });
            }
            _count(serviceId, w, cur, scan);
        }
        if (building) episodes[k++] = cur;
        assembly ("memory-safe") {
            mstore(episodes, k)
        }
    }

    /// @dev Adds window `w` of episode `e`: its downtime, split at the maintenance windows, and
    /// the first excluded event it overlaps.
    function _count(bytes32 serviceId, Window memory w, Episode memory e, Scan memory scan) private view {
        if (!scan.loaded) _load(serviceId, w.start, scan);
        uint64 inMaintenance = scan.maintenanceCount == 0 ? 0 : _maintenanceIn(serviceId, w.start, w.end, scan);
        e.maintenanceSeconds += inMaintenance;
        e.downSeconds += w.end - w.start - inMaintenance;
        // Only a lower index than the one found can still change it.
        uint256 limit = e.excludedEvent == 0 ? scan.excludedCount : e.excludedEvent - 1;
        for (uint256 j = 0; j < limit; ++j) {
            if (scan.eventStarts[j] < w.end && w.start < scan.eventEnds[j]) {
                e.excludedEvent = uint32(j + 1);
                break;
            }
        }
    }

    /// @dev Reads the service's exclusion counts, enters the maintenance list at the first window
    /// ending after `from` (binary search: the list is sorted and disjoint, so ends ascend) and
    /// copies the excluded events' periods to memory.
    function _load(bytes32 serviceId, uint64 from, Scan memory scan) private view {
        Exclusions memory x = _exclusions[serviceId];
        scan.loaded = true;
        scan.maintenanceCount = x.maintenanceCount;
        scan.excludedCount = x.excludedCount;
        if (x.maintenanceCount != 0) {
            uint256 lo;
            uint256 hi = x.maintenanceCount;
            while (lo < hi) {
                uint256 mid = (lo + hi) / 2;
                if (_maintenance[serviceId][mid].end > from) hi = mid;
                else lo = mid + 1;
            }
            scan.next = lo;
        }
        scan.eventStarts = new uint64[](x.excludedCount);
        scan.eventEnds = new uint64[](x.excludedCount);
        for (uint256 j = 0; j < x.excludedCount; ++j) {
            ExcludedEvent storage ev = _excluded[serviceId][j];
            (scan.eventStarts[j], scan.eventEnds[j]) = (ev.start, ev.end);
        }
    }

    /// @dev Seconds of `[ws, we)` inside uncancelled maintenance windows. Outage windows come in
    /// time order, so the pointer `scan.next` only moves forward: a maintenance window is passed
    /// once it ends by `we`; one running past `we` is kept for the next outage window.
    function _maintenanceIn(bytes32 serviceId, uint64 ws, uint64 we, Scan memory scan)
        private
        view
        returns (uint64 inside)
    {
        uint256 p = scan.next;
        while (p < scan.maintenanceCount) {
            Maintenance memory m = _maintenance[serviceId][p];
            if (m.start >= we) break;
            if (!m.cancelled && m.end > ws) {
                inside += (m.end < we ? m.end : we) - (m.start > ws ? m.start : ws);
            }
            if (m.end > we) break;
            ++p;
        }
        scan.next = p;
    }

    /// @inheritdoc IOutageOracle
    function reportDigest(bytes32 serviceId, uint32 configVersion, SignedReport calldata report)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(_structHash(serviceId, configVersion, report));
    }

    /// @inheritdoc IOutageOracle
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev Recovers each signer, checks it belongs to the config once, and computes the window
    /// covered by at least `quorum` reports. Kept in one loop with locals: this is the gas hot path.
    function _verifyReports(bytes32 serviceId, uint32 configVersion, SignedReport[] calldata reports, Config memory cfg)
        private
        view
        returns (Window memory verified, uint256 signerBits)
    {
        address[] memory signers = SignerSet.read(cfg.pointer, cfg.count);
        uint256 n = reports.length;
        uint256[] memory starts = new uint256[](n);
        uint256[] memory ends = new uint256[](n);
        uint256 latestStart;
        uint256 earliestEnd = type(uint256).max;
        uint256 ongoingCount;
        for (uint256 i = 0; i < n; ++i) {
            SignedReport calldata rep = reports[i];
            (uint64 s, uint64 e) = (rep.start, rep.end);
            if (s >= e) revert OutageOracleInvalidWindow(s, e);
            address signer = _recover(_hashTypedDataV4(_structHash(serviceId, configVersion, rep)), rep.r, rep.vs);
            if (signer == address(0)) revert OutageOracleInvalidSignature(i);
            uint256 bit = 1 << _indexOf(signers, signer);
            if (signerBits & bit != 0) revert OutageOracleDuplicateSigner(signer);
            signerBits |= bit;

            starts[i] = s;
            ends[i] = e;
            if (s > latestStart) latestStart = s;
            if (e < earliestEnd) earliestEnd = e;
            if (rep.ongoing) ++ongoingCount;
        }
        // Pairwise-overlapping windows make "covered by >= q reports" one interval, exactly
        // [q-th smallest start, q-th largest end). Disjoint windows would not (see README).
        if (latestStart >= earliestEnd) revert OutageOracleReportsDisjoint(uint64(latestStart), uint64(earliestEnd));
        _sort(starts);
        _sort(ends);
        verified.start = uint64(starts[cfg.quorum - 1]);
        verified.end = uint64(ends[n - cfg.quorum]);
        verified.ongoing = ongoingCount >= cfg.quorum;
    }

    function _indexOf(address[] memory signers, address signer) private pure returns (uint256) {
        for (uint256 i = 0; i < signers.length; ++i) {
            if (signers[i] == signer) return i;
        }
        revert OutageOracleUnknownSigner(signer);
    }

    /// @dev Merges the verified window `[vs, ve)` with every window it overlaps or touches, or
    /// inserts it in order. Appending (a new outage) and extending the newest window (an ongoing
    /// one) touch one slot; a merge or a late insertion rewrites the windows after it, paid by
    /// its submitter and bounded by how many real outages followed.
    /// Returns the resulting window's index and bounds, and how many windows it replaced.
    function _record(bytes32 serviceId, uint64 vs, uint64 ve, bool ongoing)
        private
        returns (uint256 index, uint256 replaced, uint64, uint64, bool)
    {
        Latest memory l = _latest[serviceId];
        uint256 n = l.count;
        uint40 nowTime = uint40(block.timestamp);
        if (n == 0 || vs > l.end) {
            if (n != 0) _archive[serviceId][n - 1] = Window(l.start, l.end, l.verifiedAt, l.startSince, l.ongoing);
            _latest[serviceId] = Latest(vs, ve, nowTime, nowTime, ongoing, uint32(n + 1));
            return (n, 0, vs, ve, ongoing);
        }
        Window memory w;
        index = _firstEndingFrom(serviceId, vs, l);
        Window memory first = _get(serviceId, index, l);
        if (ve < first.start) {
            // Disjoint from every window and older than `first`: a late outage, kept in order.
            w = Window(vs, ve, nowTime, nowTime, ongoing);
            for (uint256 j = n; j > index; --j) {
                _put(serviceId, j, n + 1, _get(serviceId, j - 1, l));
            }
            _put(serviceId, index, n + 1, w);
            return (index, 0, vs, ve, ongoing);
        }
        uint256 hi = index;
        while (hi + 1 < n && _get(serviceId, hi + 1, l).start <= ve) ++hi;
        Window memory last = hi == index ? first : _get(serviceId, hi, l);
        bool earlier = vs < first.start;
        w.start = earlier ? vs : first.start;
        w.startSince = earlier ? nowTime : first.startSince;
        w.end = ve > last.end ? ve : last.end;
        // At the same end a report may only close an ongoing outage, never reopen it.
        w.ongoing = ve > last.end ? ongoing : (ve == last.end ? last.ongoing && ongoing : last.ongoing);
        w.verifiedAt = nowTime;
        if (hi == index && !earlier && w.end == first.end && w.ongoing == first.ongoing) {
            revert OutageOracleWindowAlreadyCovered(serviceId, vs, ve);
        }
        replaced = hi - index + 1;
        uint256 removed = hi - index;
        uint256 m = n - removed;
        _put(serviceId, index, m, w);
        for (uint256 j = hi + 1; j < n; ++j) {
            _put(serviceId, j - removed, m, _get(serviceId, j, l));
        }
        // Stale slots past the new end (the newest window and the count were rewritten above).
        for (uint256 j = m - 1; j + 1 < n; ++j) {
            delete _archive[serviceId][j];
        }
        return (index, replaced, w.start, w.end, w.ongoing);
    }

    /// @dev The window at `i`; the newest lives in the `Latest` slot read into `l`.
    function _get(bytes32 serviceId, uint256 i, Latest memory l) private view returns (Window memory) {
        if (i + 1 == l.count) return Window(l.start, l.end, l.verifiedAt, l.startSince, l.ongoing);
        return _archive[serviceId][i];
    }

    /// @dev Writes the window at `i` of a list of `count` windows.
    function _put(bytes32 serviceId, uint256 i, uint256 count, Window memory w) private {
        if (i + 1 == count) {
            _latest[serviceId] = Latest(w.start, w.end, w.verifiedAt, w.startSince, w.ongoing, uint32(count));
        } else {
            _archive[serviceId][i] = w;
        }
    }

    /// @dev First index whose window ends at or after `t`; the newest does (caller checked).
    function _firstEndingFrom(bytes32 serviceId, uint64 t, Latest memory l) private view returns (uint256) {
        uint256 n = l.count;
        if (n == 1 || _archive[serviceId][n - 2].end < t) return n - 1;
        uint256 lo;
        uint256 hi = n - 2;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (_archive[serviceId][mid].end >= t) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    /// @dev First index whose window starts at or after `t`, or the count if none does.
    function _firstStartingFrom(bytes32 serviceId, uint64 t, Latest memory l) private view returns (uint256) {
        uint256 n = l.count;
        if (l.start < t) return n;
        uint256 lo;
        uint256 hi = n - 1;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (_get(serviceId, mid, l).start >= t) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    /// @dev ecrecover on an EIP-2098 signature; zero for an invalid or malleable (high-s) one.
    /// Same checks as OpenZeppelin's ECDSA.tryRecover, without its memory round trips.
    function _recover(bytes32 digest, bytes32 r, bytes32 vs) private view returns (address signer) {
        uint256 s = uint256(vs) & 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff;
        if (s > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return address(0);
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, digest)
            mstore(add(m, 0x20), add(shr(255, vs), 27))
            mstore(add(m, 0x40), r)
            mstore(add(m, 0x60), s)
            mstore(0x00, 0)
            pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
            signer := mload(0x00)
        }
    }

    /// @dev Insertion sort: at most 32 elements.
    function _sort(uint256[] memory a) private pure {
        for (uint256 i = 1; i < a.length; ++i) {
            uint256 key = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > key) {
                a[j] = a[j - 1];
                --j;
            }
            a[j] = key;
        }
    }

    /// @dev keccak256(abi.encode(TYPEHASH, serviceId, configVersion, start, end, ongoing,
    /// evidenceRoot, seq)) without allocating memory per report.
    function _structHash(bytes32 serviceId, uint32 configVersion, SignedReport calldata rep)
        private
        pure
        returns (bytes32 h)
    {
        bytes32 typehash = OUTAGE_REPORT_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            mstore(add(m, 0x20), serviceId)
            mstore(add(m, 0x40), configVersion)
            calldatacopy(add(m, 0x60), rep, 0xa0)
            h := keccak256(m, 0x100)
        }
    }
}
