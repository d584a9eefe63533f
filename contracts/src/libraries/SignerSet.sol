// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title SignerSet
/// @notice Stores an oracle signer list as the code of a data contract ("SSTORE2"). Reading all
/// signers back costs one EXTCODECOPY (~2,600 gas) instead of one cold SLOAD (2,100 gas) per
/// signer, which keeps each extra oracle signature on `submit` under 7,000 gas.
library SignerSet {
    error SignerSetDeployFailed();

    /// @dev Deploys a contract whose runtime code is `0x00 || signers (20 bytes each)`. The leading
    /// STOP makes the data contract inert if anyone calls it.
    function write(address[] memory signers) internal returns (address pointer) {
        bytes memory data = new bytes(signers.length * 20);
        for (uint256 i = 0; i < signers.length; ++i) {
            bytes20 s = bytes20(signers[i]);
            assembly ("memory-safe") {
                mstore(add(add(data, 32), mul(i, 20)), s)
            }
        }
        bytes memory runtime = abi.encodePacked(hex"00", data);
        // PUSH2 len, DUP1, PUSH1 10, RETURNDATASIZE, CODECOPY, RETURNDATASIZE, RETURN — then runtime.
        bytes memory creation = abi.encodePacked(hex"61", uint16(runtime.length), hex"80600a3d393df3", runtime);
        assembly ("memory-safe") {
            pointer := create(0, add(creation, 32), mload(creation))
        }
        if (pointer == address(0)) revert SignerSetDeployFailed();
    }

    /// @dev Reads `count` signers back into memory.
    function read(address pointer, uint256 count) internal view returns (address[] memory signers) {
        signers = new address[](count);
        assembly ("memory-safe") {
            let size := mul(count, 20)
            let buf := mload(0x40)
            extcodecopy(pointer, buf, 1, size)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                mstore(add(add(signers, 32), mul(i, 32)), shr(96, mload(add(buf, mul(i, 20)))))
            }
        }
    }
}
