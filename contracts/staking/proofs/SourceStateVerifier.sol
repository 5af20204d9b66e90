// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageLib} from "../../gateway/MessageLib.sol";
import {IBlockHashOracle, ISourceVerifier} from "./ISourceVerifier.sol";
import {MerklePatriciaProof} from "./MerklePatriciaProof.sol";
import {RLPReader} from "./RLPReader.sol";

/// @title SourceStateVerifier
/// @notice Proves from a source chain's state that its SourceGateway can never send a message: at a block whose hash
///         the oracle vouches for, the gateway's sent record (`_sentTo[id]`) is empty and its nonce counter for the
///         message's destination (`_nextNonce[dst]`) is already past the message's nonce. Both are needed: the empty
///         record alone would "prove" a message against a block from before it was sent. Since every send takes the
///         next nonce and records its id for good, a nonce already used by another message can never carry this
///         one. So the proof is sound for any final block, old or new, as far as the oracle is.
/// @dev The storage slots of the two mappings depend on the SourceGateway version deployed on the source chain and
///      are given at construction (test/staking/remote-source.test.ts checks them against this repository's
///      SourceGateway). Proof: abi.encode(StateProof) with eth_getProof's nodes (relayer/staking/source-proof.ts).
contract SourceStateVerifier is ISourceVerifier {
    using RLPReader for RLPReader.Item;

    /// @notice eth_getProof output for the gateway's account and the two storage slots, and the block's header.
    struct StateProof {
        bytes header; // RLP of the block header
        bytes[] accountProof;
        bytes[] sentToProof; // for _sentTo[messageId]
        bytes[] nextNonceProof; // for _nextNonce[message.dstChainId]
    }

    /// @notice Header fields read here (Ethereum's order).
    uint256 private constant HEADER_STATE_ROOT = 3;
    uint256 private constant HEADER_NUMBER = 8;
    uint256 private constant ACCOUNT_STORAGE_ROOT = 2;

    uint64 private immutable CHAIN_ID;
    /// @notice The SourceGateway on the source chain.
    address public immutable GATEWAY;
    /// @notice Where the source chain's block hashes come from.
    IBlockHashOracle public immutable ORACLE;
    /// @notice Storage slot of the gateway's `_sentTo` mapping.
    uint256 public immutable SENT_TO_SLOT;
    /// @notice Storage slot of the gateway's `_nextNonce` mapping.
    uint256 public immutable NEXT_NONCE_SLOT;

    /// @param chainId_ The source chain.
    /// @param gateway The SourceGateway there.
    /// @param oracle Its block hashes.
    /// @param sentToSlot Storage slot of `_sentTo` in that gateway's version.
    /// @param nextNonceSlot Storage slot of `_nextNonce` in that gateway's version.
    constructor(uint64 chainId_, address gateway, IBlockHashOracle oracle, uint256 sentToSlot, uint256 nextNonceSlot) {
        CHAIN_ID = chainId_;
        GATEWAY = gateway;
        ORACLE = oracle;
        SENT_TO_SLOT = sentToSlot;
        NEXT_NONCE_SLOT = nextNonceSlot;
    }

    /// @inheritdoc ISourceVerifier
    function chainId() external view returns (uint64) {
        return CHAIN_ID;
    }

    /// @inheritdoc ISourceVerifier
    function provenUnsent(MessageLib.Message calldata message, bytes calldata proof)
        external
        view
        returns (bytes32 messageId)
    {
        if (message.srcChainId != CHAIN_ID || message.srcGateway != GATEWAY) {
            revert NotThisSource(message.srcChainId, message.srcGateway);
        }
        StateProof memory state = abi.decode(proof, (StateProof));
        bytes32 stateRoot = _trustedStateRoot(state.header);
        bytes32 accountKey = keccak256(abi.encodePacked(GATEWAY));
        bytes memory account = MerklePatriciaProof.get(stateRoot, accountKey, state.accountProof);
        if (account.length == 0) revert NoGatewayAccount();
        bytes32 storageRoot = RLPReader.toItem(account).readList()[ACCOUNT_STORAGE_ROOT].readBytes32();
        messageId = MessageLib.messageIdCalldata(message);
        if (_storageValue(storageRoot, keccak256(abi.encode(messageId, SENT_TO_SLOT)), state.sentToProof) != 0) {
            revert SentAtBlock(messageId);
        }
        bytes32 nonceSlot = keccak256(abi.encode(uint256(message.dstChainId), NEXT_NONCE_SLOT));
        uint256 next = _storageValue(storageRoot, nonceSlot, state.nextNonceProof);
        if (next < message.nonce + 1) revert NonceNotYetUsed(message.nonce, next);
    }

    /// @dev The state root of a block the oracle vouches for.
    function _trustedStateRoot(bytes memory header) private view returns (bytes32) {
        RLPReader.Item[] memory fields = RLPReader.toItem(header).readList();
        uint256 number = fields[HEADER_NUMBER].readUint();
        bytes32 trusted = ORACLE.blockHash(number);
        if (trusted == bytes32(0) || trusted != keccak256(header)) revert UntrustedBlock(number);
        return fields[HEADER_STATE_ROOT].readBytes32();
    }

    /// @dev The value at storage `slot` (zero when the proof shows it absent).
    function _storageValue(bytes32 storageRoot, bytes32 slot, bytes[] memory proof) private pure returns (uint256) {
        bytes memory value = MerklePatriciaProof.get(storageRoot, keccak256(abi.encode(slot)), proof);
        return value.length == 0 ? 0 : RLPReader.toItem(value).readUint();
    }
}
