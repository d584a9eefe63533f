// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IOutageOracle} from "./interfaces/IOutageOracle.sol";
import {SignerSet} from "./libraries/SignerSet.sol";

/// @title OutageOracle
/// @notice Quorum-verified outage windows per covered service.
contract OutageOracle is IOutageOracle, AccessControl, EIP712 {
    bytes32 public constant OUTAGE_REPORT_TYPEHASH = keccak256(
        "OutageReport(bytes32 serviceId,uint32 configVersion,uint64 start,uint64 end,bool ongoing,bytes32 evidenceRoot,uint64 seq)"
    );
    /// @dev A bitmap of signer indices fits one word.
    uint256 public constant MAX_SIGNERS = 32;

    struct Config {
        uint32 version;
        uint8 quorum;
        uint8 count;
        address pointer; // SignerSet data contract
    }

    /// @dev The newest window of a service, with the service's window count, in one slot; older
    /// windows move to `_archive` when a new one opens, so an extension rewrites a single slot.
    struct Latest {
        uint64 start;
        uint64 end;
        uint40 verifiedAt;
        bool ongoing;
        uint32 count;
    }

    Config private _config;
    mapping(bytes32 serviceId => Latest) private _latest;
    mapping(bytes32 serviceId => mapping(uint256 index => Window)) private _archive;

    constructor(address admin) EIP712("CyberCover OutageOracle", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IOutageOracle
    function setConfig(address[] calldata signers, uint8 quorum) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 n = signers.length;
        if (n == 0 || n > MAX_SIGNERS || quorum == 0 || quorum > n) revert OutageOracleInvalidConfig(n, quorum);
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

        Window memory w;
        (index, w) = _record(serviceId, verified);
        emit OutageVerified(serviceId, index, w.start, w.end, w.ongoing, configVersion, signerBits);
    }

    /// @inheritdoc IOutageOracle
    function config() external view returns (uint32 version, uint8 quorum, address[] memory signers) {
        Config memory cfg = _config;
        signers = cfg.version == 0 ? new address[](0) : SignerSet.read(cfg.pointer, cfg.count);
        return (cfg.version, cfg.quorum, signers);
    }

    /// @inheritdoc IOutageOracle
    function windowCount(bytes32 serviceId) external view returns (uint256) {
        return _latest[serviceId].count;
    }

    /// @inheritdoc IOutageOracle
    function windowAt(bytes32 serviceId, uint256 index) public view returns (Window memory) {
        Latest memory l = _latest[serviceId];
        if (index + 1 == l.count) return Window(l.start, l.end, l.verifiedAt, l.ongoing);
        return _archive[serviceId][index];
    }

    /// @inheritdoc IOutageOracle
    function windowsSince(bytes32 serviceId, uint64 from) external view returns (Window[] memory windows) {
        uint256 count = _latest[serviceId].count;
        uint256 first = count;
        while (first > 0 && windowAt(serviceId, first - 1).start >= from) --first;
        windows = new Window[](count - first);
        for (uint256 i = first; i < count; ++i) windows[i - first] = windowAt(serviceId, i);
    }

    /// @inheritdoc IOutageOracle
    function reportDigest(bytes32 serviceId, uint32 configVersion, SignedReport calldata report)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(_structHash(serviceId, configVersion, report));
    }

    /// @notice The EIP-712 domain separator (chain id and this address are in it).
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

    /// @dev Appends a new window, or extends the latest one it overlaps or touches.
    function _record(bytes32 serviceId, Window memory v) private returns (uint256 index, Window memory w) {
        (uint64 start, uint64 end, bool ongoing) = (v.start, v.end, v.ongoing);
        Latest memory l = _latest[serviceId];
        uint40 nowTime = uint40(block.timestamp);
        if (l.count == 0 || start > l.end) {
            if (l.count != 0) _archive[serviceId][l.count - 1] = Window(l.start, l.end, l.verifiedAt, l.ongoing);
            _latest[serviceId] = Latest(start, end, nowTime, ongoing, l.count + 1);
            return (l.count, Window(start, end, nowTime, ongoing));
        }
        if (end < l.start) revert OutageOracleWindowOutOfOrder(serviceId, end, l.start);

        uint64 newStart = start < l.start ? start : l.start;
        if (newStart < l.start && l.count > 1) {
            // Never reach back into the previous window: windows stay disjoint.
            uint64 previousEnd = _archive[serviceId][l.count - 2].end;
            if (newStart < previousEnd) newStart = previousEnd;
        }
        uint64 newEnd = end > l.end ? end : l.end;
        // At the same end a report may only close an ongoing outage, never reopen it.
        bool newOngoing = end > l.end ? ongoing : (end == l.end ? l.ongoing && ongoing : l.ongoing);
        if (newStart == l.start && newEnd == l.end && newOngoing == l.ongoing) {
            revert OutageOracleWindowAlreadyCovered(serviceId, start, end);
        }
        _latest[serviceId] = Latest(newStart, newEnd, nowTime, newOngoing, l.count);
        return (l.count - 1, Window(newStart, newEnd, nowTime, newOngoing));
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
