// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice The few Foundry-compatible cheatcodes (served by Hardhat's EDR) the gateway fuzz tests use.
interface GatewayTestVm {
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address);
    function expectRevert(bytes calldata revertData) external;
    function assume(bool condition) external pure;
    function warp(uint256 timestamp) external;
    function chainId(uint256 newChainId) external;
}

/// @notice Base for the gateway Solidity tests: cheatcodes and small helpers.
abstract contract GatewayTestBase {
    GatewayTestVm internal constant VM = GatewayTestVm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    function _sign(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = VM.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The EIP-2098 compact form (r, vs) of the key's signature over `digest`: v - 27 in the top bit of vs.
    function _signCompact(uint256 privateKey, bytes32 digest) internal pure returns (bytes32 r, bytes32 vs) {
        (uint8 v, bytes32 r_, bytes32 s) = VM.sign(privateKey, digest);
        return (r_, bytes32(uint256(s) | (uint256(v - 27) << 255)));
    }

    function _bound(uint256 value, uint256 min, uint256 max) internal pure returns (uint256) {
        return min + (value % (max - min + 1));
    }
}
