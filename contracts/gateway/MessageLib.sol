// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

/// @title MessageLib
/// @notice The cross-chain message format and every hash the MPC network signs over.
/// @dev All signatures are EIP-712 typed data under the domain
///      {name: "MpcRelayGateway", version: "1", chainId: <target chain>, verifyingContract: <target gateway>},
///      so a signature is only valid on the one gateway of the one chain it was made for.
///      packages/sdk/src/message.ts is the TypeScript twin; tests keep the two equal.
library MessageLib {
    /// @notice A message as emitted by the source gateway and delivered by the target gateway.
    /// @param nonce Sequence number of the (source gateway, destination chain) channel, starting at 0.
    /// @param srcChainId Chain id of the source chain.
    /// @param srcGateway SourceGateway that emitted the message.
    /// @param sender Contract or account that called sendMessage.
    /// @param dstChainId Chain id of the destination chain.
    /// @param receiver IMessageReceiver on the destination chain.
    /// @param gasLimit Gas the target gateway forwards to receiver.onMessage.
    /// @param payload Opaque application data.
    struct Message {
        uint64 nonce;
        uint64 srcChainId;
        address srcGateway;
        address sender;
        uint64 dstChainId;
        address receiver;
        uint64 gasLimit;
        bytes payload;
    }

    // solhint-disable gas-small-strings
    bytes32 internal constant MESSAGE_TYPEHASH = keccak256(
        "Message(uint64 nonce,uint64 srcChainId,address srcGateway,address sender,"
        "uint64 dstChainId,address receiver,uint64 gasLimit,bytes payload)"
    );
    bytes32 internal constant BATCH_TYPEHASH = keccak256("Batch(bytes32 root)");
    bytes32 internal constant RELAY_ROTATION_TYPEHASH =
        keccak256("RelayRotation(address newRelay,uint256 nonce,uint256 deadline)");
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    // solhint-enable gas-small-strings
    bytes32 internal constant DOMAIN_NAME_HASH = keccak256("MpcRelayGateway");
    bytes32 internal constant DOMAIN_VERSION_HASH = keccak256("1");

    /// @notice Unique id of a message: its EIP-712 struct hash. It covers srcChainId, srcGateway,
    ///         dstChainId and the channel nonce, so no two messages ever share an id.
    function messageId(Message memory message) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                MESSAGE_TYPEHASH,
                message.nonce,
                message.srcChainId,
                message.srcGateway,
                message.sender,
                message.dstChainId,
                message.receiver,
                message.gasLimit,
                keccak256(message.payload)
            )
        );
    }

    /// @notice messageId of a message held in calldata, hashed in place (the delivery hot path).
    /// @dev The seven static fields are hashed as their raw calldata words. A word with dirty high bits gives
    ///      an id no relay ever signed (the relay signs canonical encodings), so it can only be rejected.
    function messageIdCalldata(Message calldata message) internal pure returns (bytes32 id) {
        bytes32 payloadHash = keccak256(message.payload);
        bytes32 typeHash = MESSAGE_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), message, 0xe0)
            mstore(add(ptr, 0x100), payloadHash)
            id := keccak256(ptr, 0x120)
        }
    }

    /// @notice EIP-712 domain separator of a target gateway on a chain.
    function domainSeparator(uint256 chainId, address targetGateway) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, DOMAIN_NAME_HASH, DOMAIN_VERSION_HASH, chainId, targetGateway));
    }

    /// @notice Digest the relay key signs to attest one message for `targetGateway` on message.dstChainId.
    function digest(Message memory message, address targetGateway) internal pure returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(domainSeparator(message.dstChainId, targetGateway), messageId(message));
    }

    /// @notice digest() for a message held in calldata.
    function digestCalldata(Message calldata message, address targetGateway) internal pure returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(
            domainSeparator(message.dstChainId, targetGateway), messageIdCalldata(message)
        );
    }

    /// @notice Digest the relay key signs to attest a Merkle root of messages bound for one target gateway.
    function batchDigest(bytes32 root, uint64 dstChainId, address targetGateway) internal pure returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(
            domainSeparator(dstChainId, targetGateway), keccak256(abi.encode(BATCH_TYPEHASH, root))
        );
    }

    /// @notice Digest the current relay key signs to hand over to `newRelay` on `targetGateway`.
    function relayRotationDigest(
        address newRelay,
        uint256 nonce,
        uint256 deadline,
        uint256 chainId,
        address targetGateway
    ) internal pure returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(
            domainSeparator(chainId, targetGateway),
            keccak256(abi.encode(RELAY_ROTATION_TYPEHASH, newRelay, nonce, deadline))
        );
    }

    /// @notice Merkle leaf of a message id: the OpenZeppelin StandardMerkleTree leaf for leaf encoding ["bytes32"].
    /// @dev Hashing twice keeps a 64-byte inner node from ever being accepted as a leaf.
    function leaf(bytes32 id) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(id))));
    }
}
