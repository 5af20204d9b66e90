// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MessageLib} from "../../gateway/MessageLib.sol";

/// @title MessageLibHarness
/// @notice Exposes MessageLib so tests can compare it with packages/sdk/src/message.ts.
contract MessageLibHarness {
    /// @notice MessageLib.messageId (memory on purpose: it tests the memory path).
    // solhint-disable-next-line gas-calldata-parameters
    function messageId(MessageLib.Message memory message) external pure returns (bytes32) {
        return MessageLib.messageId(message);
    }

    /// @notice MessageLib.messageIdCalldata.
    function messageIdCalldata(MessageLib.Message calldata message) external pure returns (bytes32) {
        return MessageLib.messageIdCalldata(message);
    }

    /// @notice MessageLib.digest (memory on purpose: it tests the memory path).
    // solhint-disable-next-line gas-calldata-parameters
    function digest(MessageLib.Message memory message, address targetGateway) external pure returns (bytes32) {
        return MessageLib.digest(message, targetGateway);
    }

    /// @notice MessageLib.digestCalldata.
    function digestCalldata(MessageLib.Message calldata message, address targetGateway)
        external
        pure
        returns (bytes32)
    {
        return MessageLib.digestCalldata(message, targetGateway);
    }

    /// @notice MessageLib.batchDigest.
    function batchDigest(bytes32 root, uint64 dstChainId, address targetGateway) external pure returns (bytes32) {
        return MessageLib.batchDigest(root, dstChainId, targetGateway);
    }

    /// @notice MessageLib.relayRotationDigest.
    function relayRotationDigest(
        address newRelay,
        uint256 nonce,
        uint256 deadline,
        uint256 chainId,
        address targetGateway
    ) external pure returns (bytes32) {
        return MessageLib.relayRotationDigest(newRelay, nonce, deadline, chainId, targetGateway);
    }

    /// @notice MessageLib.leaf.
    function leaf(bytes32 id) external pure returns (bytes32) {
        return MessageLib.leaf(id);
    }

    /// @notice Root a multiproof over message ids rebuilds, as TargetGateway.receiveBatch computes it.
    function batchRoot(bytes32[] calldata ids, bytes32[] calldata proof, bool[] calldata proofFlags)
        external
        pure
        returns (bytes32)
    {
        bytes32[] memory leaves = new bytes32[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            leaves[i] = MessageLib.leaf(ids[i]);
        }
        return MerkleProof.processMultiProofCalldata(proof, proofFlags, leaves);
    }
}
