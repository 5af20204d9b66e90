// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageLib} from "../../contracts/gateway/MessageLib.sol";
import {GatewayTestBase} from "./GatewayCheats.sol";

/// @notice Fuzz tests of the message hashing every signature depends on.
contract MessageLibTest is GatewayTestBase {
    function messageIdFromCalldata(MessageLib.Message calldata message) external pure returns (bytes32) {
        return MessageLib.messageIdCalldata(message);
    }

    function digestFromCalldata(MessageLib.Message calldata message, address target) external pure returns (bytes32) {
        return MessageLib.digestCalldata(message, target);
    }

    function _message(uint64 nonce, uint64 srcChainId, address srcGateway, uint64 gasLimit, bytes memory payload)
        private
        pure
        returns (MessageLib.Message memory)
    {
        return MessageLib.Message({
            nonce: nonce,
            srcChainId: srcChainId,
            srcGateway: srcGateway,
            sender: address(uint160(srcGateway) ^ 1),
            dstChainId: srcChainId ^ 7,
            receiver: address(uint160(srcGateway) ^ 2),
            gasLimit: gasLimit,
            payload: payload
        });
    }

    /// @notice The memory and calldata paths hash identically, and the digest is EIP-712 over the id.
    function testFuzz_calldataAndMemoryAgree(
        uint64 nonce,
        uint64 srcChainId,
        address srcGateway,
        uint64 gasLimit,
        bytes calldata payload,
        address target
    ) external view {
        MessageLib.Message memory message = _message(nonce, srcChainId, srcGateway, gasLimit, payload);
        bytes32 id = MessageLib.messageId(message);
        require(this.messageIdFromCalldata(message) == id, "calldata id differs");
        bytes32 expected = keccak256(
            abi.encodePacked(hex"1901", MessageLib.domainSeparator(message.dstChainId, target), id)
        );
        require(MessageLib.digest(message, target) == expected, "digest is not EIP-712 over the id");
        require(this.digestFromCalldata(message, target) == expected, "calldata digest differs");
    }

    /// @notice Changing any one field changes the id (no two distinct messages collide on a field).
    function testFuzz_everyFieldIsBound(uint64 nonce, uint64 srcChainId, address srcGateway, bytes calldata payload)
        external
        pure
    {
        MessageLib.Message memory base = _message(nonce, srcChainId, srcGateway, 100_000, payload);
        bytes32 id = MessageLib.messageId(base);
        MessageLib.Message memory changed = _message(nonce, srcChainId, srcGateway, 100_000, payload);
        changed.nonce = nonce ^ 1;
        require(MessageLib.messageId(changed) != id, "nonce not bound");
        changed = _message(nonce, srcChainId ^ 1, srcGateway, 100_000, payload);
        changed.dstChainId = base.dstChainId;
        require(MessageLib.messageId(changed) != id, "srcChainId not bound");
        changed = _message(nonce, srcChainId, srcGateway, 100_000, payload);
        changed.dstChainId ^= 1;
        require(MessageLib.messageId(changed) != id, "dstChainId not bound");
        changed = _message(nonce, srcChainId, srcGateway, 100_001, payload);
        require(MessageLib.messageId(changed) != id, "gasLimit not bound");
        changed = _message(nonce, srcChainId, srcGateway, 100_000, bytes.concat(payload, hex"00"));
        require(MessageLib.messageId(changed) != id, "payload not bound");
        changed = _message(nonce, srcChainId, srcGateway, 100_000, payload);
        changed.receiver = address(uint160(changed.receiver) ^ 4);
        require(MessageLib.messageId(changed) != id, "receiver not bound");
    }

    /// @notice Domains of different chains or gateways never share a digest; message, batch and rotation
    ///         digests are separated by their type hashes.
    function testFuzz_domainsAndTypesSeparate(bytes32 root, uint64 chainId, address target) external pure {
        require(
            MessageLib.batchDigest(root, chainId, target) != MessageLib.batchDigest(root, chainId ^ 1, target),
            "chain not bound"
        );
        require(
            MessageLib.batchDigest(root, chainId, target)
                != MessageLib.batchDigest(root, chainId, address(uint160(target) ^ 1)),
            "gateway not bound"
        );
        require(
            MessageLib.batchDigest(root, chainId, target)
                != MessageLib.relayRotationDigest(address(uint160(uint256(root))), 0, 0, chainId, target),
            "batch and rotation collide"
        );
    }

    /// @notice A leaf is never equal to the id itself or to its single hash (no second-preimage via inner nodes).
    function testFuzz_leafIsDoubleHashed(bytes32 id) external pure {
        bytes32 leaf = MessageLib.leaf(id);
        require(leaf == keccak256(bytes.concat(keccak256(abi.encode(id)))), "leaf encoding");
        require(leaf != id && leaf != keccak256(abi.encode(id)), "leaf not double-hashed");
    }
}
