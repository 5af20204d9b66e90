// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageLib} from "../gateway/MessageLib.sol";

/// @title ITargetGateway
/// @notice Inbound side of mpc-relay: delivers messages attested by the single relay key of the MPC network.
interface ITargetGateway {
    /// @notice Delivery state of a message that was received but did not simply succeed.
    enum FailedState {
        None,
        Failed,
        Abandoned
    }

    /// @notice The receiver ran the message successfully (first delivery or retry).
    /// @dev Only the id: the submitter already has the message, and every topic costs each delivery gas.
    event MessageDelivered(bytes32 indexed messageId);
    /// @notice The receiver reverted (or has no code); the message is kept for retryMessage.
    event MessageFailed(bytes32 indexed messageId, uint64 indexed srcChainId, address indexed receiver, bytes reason);
    /// @notice The receiver gave up on a failed message; it can never run.
    event MessageAbandoned(bytes32 indexed messageId, address indexed receiver);
    /// @notice The relay key changed. The old key is accepted until `previousRelayExpiresAt` (0: revoked at once).
    // solhint-disable-next-line gas-indexed-events
    event RelayChanged(address indexed previousRelay, address indexed newRelay, uint64 previousRelayExpiresAt);

    // Same signatures as OpenZeppelin Pausable's events, so pause monitors work unchanged.
    /// @notice Deliveries, retries and rotations were stopped by `account`.
    // solhint-disable-next-line gas-indexed-events
    event Paused(address account);
    /// @notice Deliveries, retries and rotations resumed by `account`.
    // solhint-disable-next-line gas-indexed-events
    event Unpaused(address account);

    /// @notice The gateway is paused.
    error EnforcedPause();
    /// @notice unpause() while not paused.
    error ExpectedPause();
    /// @notice The message is for another chain.
    error WrongDestinationChain(uint64 dstChainId);
    /// @notice The signature does not recover to the current relay (or the previous one within its window).
    error InvalidSignature(address recovered);
    /// @notice This (source chain, source gateway, nonce) was already received.
    error AlreadyReceived(bytes32 messageId);
    /// @notice The submitter did not provide enough gas to forward the message's gas limit to the receiver.
    error InsufficientGas(uint256 required, uint256 available);
    /// @notice Not raised: the reason MessageFailed carries for a gasLimit no transaction on this chain can forward.
    error GasLimitAboveBlock(uint256 blockGasLimit);
    /// @notice retryMessage or abandonMessage on a message that is not in the failed state.
    error NotFailed(bytes32 messageId);
    /// @notice abandonMessage called by someone other than the message's receiver.
    error NotReceiver(address caller, address receiver);
    /// @notice A retried receiver reverted again; the message stays failed.
    error RetryFailed(bytes32 messageId, bytes reason);
    /// @notice A batch with no messages, or a multiproof whose shape does not match the batch.
    error EmptyBatch();
    /// @notice A rotation signature past its deadline.
    error RotationExpired(uint256 deadline);
    /// @notice A rotation less than MIN_ROTATION_DELAY after the previous one.
    error RotationTooSoon(uint256 earliest);
    /// @notice A new relay that is zero or equal to the current relay.
    error InvalidRelay(address relay);
    /// @notice Constructor arguments out of range.
    error InvalidConfig();

    /// @notice Deliver one message signed by the relay key. Callable by anyone.
    /// @param r The relay signature's r.
    /// @param vs Its s with v - 27 in the top bit (EIP-2098 compact form).
    function receiveMessage(MessageLib.Message calldata message, bytes32 r, bytes32 vs) external;

    /// @notice Deliver messages under one relay signature over a Merkle root (OpenZeppelin multiproof).
    /// @dev `messages` must be in the order of the multiproof's leaves.
    function receiveBatch(
        MessageLib.Message[] calldata messages,
        bytes32[] calldata proof,
        bool[] calldata proofFlags,
        bytes32 r,
        bytes32 vs
    ) external;

    /// @notice Run a failed message again with all the gas the caller supplies, at least its gasLimit (else
    ///         InsufficientGas). Callable by anyone.
    function retryMessage(MessageLib.Message calldata message) external;

    /// @notice Mark a failed message as dead; only its receiver may do so.
    function abandonMessage(MessageLib.Message calldata message) external;

    /// @notice Hand over to `newRelay`, authorised by the current relay key's EIP-712 signature. Not while paused.
    function rotateRelay(address newRelay, uint256 deadline, bytes calldata signature) external;

    /// @notice Governance sets the relay key (initial setup after keyGen, or a replacement); the previous key
    ///         is dropped at once and pending signed rotations die.
    function setRelay(address newRelay) external;

    /// @notice The guardian (or owner) revokes the relay key at once: no key is accepted until governance
    ///         sets one, the previous key is dropped and pending signed rotations die.
    function revokeRelay() external;

    /// @notice True iff the message at (srcChainId, srcGateway, nonce) bound for this chain was received.
    function isReceived(uint64 srcChainId, address srcGateway, uint64 nonce) external view returns (bool);

    /// @notice Failure state of a received message id.
    function failedState(bytes32 messageId) external view returns (FailedState);

    /// @notice Whether deliveries, retries and rotations are stopped.
    function paused() external view returns (bool);

    /// @notice Current relay address.
    function relay() external view returns (address);

    /// @notice Whether `signer` is accepted as relay right now (current, or previous within its retention window).
    function isRelay(address signer) external view returns (bool);
}
