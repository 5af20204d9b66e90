// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MessageLib} from "../../gateway/MessageLib.sol";
import {ISourceGateway} from "../../interfaces/ISourceGateway.sol";
import {CourtBase} from "./CourtBase.sol";

/// @title ForgeryProofs
/// @notice Anyone proves that a relay key signed what its holders must never sign; RelayStaking then slashes the
///         key's whole lineage (CourtActions.slashLineage):
///         - a message claiming this chain's SourceGateway as source that it never sent (proveForgery), also as a
///           leaf of a signed batch root (proveForgedBatch);
///         - two rotations of one target gateway naming different new relays for one nonce
///           (proveConflictingRotations): holders that sign both can hand the gateway to either.
/// @dev Only this chain's SourceGateway can be asked whether a message was sent directly; forgeries claiming another
///      source chain go through RemoteForgeryProofs (contracts/staking/README.md, "Routes").
abstract contract ForgeryProofs is CourtBase {
    /// @notice Proves a relay key signed a message claiming this chain's SourceGateway as source that the gateway
    ///         never sent; slashes forgerySlashBps of every member of the key's lineage.
    /// @param message The forged message; srcChainId must be this chain and srcGateway the SourceGateway.
    /// @param targetGateway The gateway address in the signed EIP-712 domain.
    /// @param signature The relay's 65-byte signature over `MessageLib.digest(message, targetGateway)`.
    function proveForgery(MessageLib.Message calldata message, address targetGateway, bytes calldata signature)
        external
    {
        bytes32 messageId = _unsentFromThisSource(message);
        bytes32 digest = MessageLib.digestCalldata(message, targetGateway);
        STAKING.slashLineage(_recover(digest, signature), digest, messageId, msg.sender);
    }

    /// @notice Like proveForgery for a signed batch: the relay signed a Merkle root (EIP-712 `Batch`) whose tree
    ///         holds a message this chain's SourceGateway never sent. Each root (per target gateway) is proven once.
    /// @dev Takes a single-leaf proof even when the batch was delivered partly (TargetGateway.receiveBatch takes a
    ///      multiproof): every leaf of an accepted multiproof has a path to the root, which the prover rebuilds off
    ///      chain (relayer/staking/watcher.ts replayMultiProof).
    /// @param message The forged message inside the batch.
    /// @param targetGateway The gateway address in the signed EIP-712 domain.
    /// @param root The signed Merkle root (OpenZeppelin StandardMerkleTree of message ids, `MessageLib.leaf`).
    /// @param proof Merkle proof of the message's leaf under `root`.
    /// @param signature The relay's signature over `MessageLib.batchDigest(root, dstChainId, targetGateway)`.
    function proveForgedBatch(
        MessageLib.Message calldata message,
        address targetGateway,
        bytes32 root,
        bytes32[] calldata proof,
        bytes calldata signature
    ) external {
        bytes32 messageId = _unsentFromThisSource(message);
        if (!MerkleProof.verifyCalldata(proof, root, MessageLib.leaf(messageId))) revert NotInBatch(messageId);
        bytes32 digest = MessageLib.batchDigest(root, message.dstChainId, targetGateway);
        STAKING.slashLineage(_recover(digest, signature), digest, messageId, msg.sender);
    }

    /// @notice Proves a relay key signed two RelayRotations for one nonce of one target gateway naming different
    ///         new relays; slashes its lineage like a forgery, once per (gateway, nonce, key).
    /// @param chainId The target gateway's chain.
    /// @param targetGateway The target gateway.
    /// @param nonce The rotation nonce both signatures name.
    /// @param first One signed rotation.
    /// @param second Another, naming a different new relay.
    function proveConflictingRotations(
        uint256 chainId,
        address targetGateway,
        uint256 nonce,
        SignedRotation calldata first,
        SignedRotation calldata second
    ) external {
        if (first.newRelay == second.newRelay) revert NotConflicting();
        address relay = _recover(_rotationDigest(chainId, targetGateway, nonce, first), first.signature);
        if (_recover(_rotationDigest(chainId, targetGateway, nonce, second), second.signature) != relay) {
            revert NotConflicting();
        }
        bytes32 claim = keccak256(abi.encode(chainId, targetGateway, nonce, relay));
        (uint256 slashed, uint256 reward) = STAKING.slashLineage(relay, claim, bytes32(0), msg.sender);
        emit ConflictingRotationsProven(relay, chainId, targetGateway, nonce, slashed, reward);
    }

    /// @dev Checks that `message` names this chain's SourceGateway as its source and was never sent there.
    function _unsentFromThisSource(MessageLib.Message calldata message) private view returns (bytes32 messageId) {
        ISourceGateway source = STAKING.sourceGateway();
        if (address(source) == address(0)) revert SourceGatewayNotSet();
        if (message.srcChainId != block.chainid || message.srcGateway != address(source)) revert NotFromThisSource();
        messageId = MessageLib.messageIdCalldata(message);
        if (source.isSent(messageId)) revert MessageWasSent(messageId);
    }

    function _rotationDigest(uint256 chainId, address targetGateway, uint256 nonce, SignedRotation calldata rotation)
        private
        pure
        returns (bytes32)
    {
        return MessageLib.relayRotationDigest(rotation.newRelay, nonce, rotation.deadline, chainId, targetGateway);
    }
}
