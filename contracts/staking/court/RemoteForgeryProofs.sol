// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MessageLib} from "../../gateway/MessageLib.sol";
import {ISourceVerifier} from "../proofs/ISourceVerifier.sol";
import {CourtBase} from "./CourtBase.sol";

/// @title RemoteForgeryProofs
/// @notice Forgeries of messages claiming another source chain than this one: provable where governance registered a
///         verifier for that chain (SourceStateVerifier: a storage proof of the source gateway's records against a
///         block hash an oracle vouches for). A route whose source has no verifier has no economic security here;
///         contracts/staking/README.md ("Routes") says which are which and why.
abstract contract RemoteForgeryProofs is CourtBase {
    /// @notice The verifier of each remote source chain (zero: its forgeries are not provable here).
    mapping(uint64 chainId => ISourceVerifier) public sourceVerifier;

    /// @notice Governance registers (or, with zero, removes) the verifier of a source chain other than this one.
    /// @param chainId The source chain.
    /// @param verifier Its verifier, serving exactly that chain.
    function setSourceVerifier(uint64 chainId, ISourceVerifier verifier) external onlyGovernance {
        if (chainId == block.chainid || (address(verifier) != address(0) && verifier.chainId() != chainId)) {
            revert RouteNotProvable(chainId);
        }
        sourceVerifier[chainId] = verifier;
        emit SourceVerifierSet(chainId, address(verifier));
    }

    /// @notice Proves a relay key signed a message from another source chain that its gateway can never send;
    ///         slashes the key's lineage like proveForgery.
    /// @param message The forged message.
    /// @param targetGateway The gateway address in the signed EIP-712 domain.
    /// @param signature The relay's 65-byte signature over `MessageLib.digest(message, targetGateway)`.
    /// @param stateProof The source chain's state proof, as its verifier reads it.
    function proveRemoteForgery(
        MessageLib.Message calldata message,
        address targetGateway,
        bytes calldata signature,
        bytes calldata stateProof
    ) external {
        bytes32 messageId = _provenUnsent(message, stateProof);
        bytes32 digest = MessageLib.digestCalldata(message, targetGateway);
        STAKING.slashLineage(_recover(digest, signature), digest, messageId, msg.sender);
    }

    /// @notice Like proveRemoteForgery for a message inside a signed batch root (as proveForgedBatch).
    /// @param message The forged message inside the batch.
    /// @param targetGateway The gateway address in the signed EIP-712 domain.
    /// @param root The signed Merkle root.
    /// @param proof Merkle proof of the message's leaf under `root`.
    /// @param signature The relay's signature over `MessageLib.batchDigest(root, dstChainId, targetGateway)`.
    /// @param stateProof The source chain's state proof, as its verifier reads it.
    function proveRemoteForgedBatch(
        MessageLib.Message calldata message,
        address targetGateway,
        bytes32 root,
        bytes32[] calldata proof,
        bytes calldata signature,
        bytes calldata stateProof
    ) external {
        bytes32 messageId = _provenUnsent(message, stateProof);
        if (!MerkleProof.verifyCalldata(proof, root, MessageLib.leaf(messageId))) revert NotInBatch(messageId);
        bytes32 digest = MessageLib.batchDigest(root, message.dstChainId, targetGateway);
        STAKING.slashLineage(_recover(digest, signature), digest, messageId, msg.sender);
    }

    function _provenUnsent(MessageLib.Message calldata message, bytes calldata stateProof)
        private
        view
        returns (bytes32)
    {
        ISourceVerifier verifier = sourceVerifier[message.srcChainId];
        if (address(verifier) == address(0)) revert RouteNotProvable(message.srcChainId);
        return verifier.provenUnsent(message, stateProof);
    }
}
