// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ISourceGateway} from "../interfaces/ISourceGateway.sol";
import {GuardianRole} from "./GuardianRole.sol";
import {MessageLib} from "./MessageLib.sol";

/// @title SourceGateway
/// @notice Accepts outbound messages, charges their fee and emits them for the MPC network to attest.
/// @dev Fee of a message = baseFee + gasLimit * gasPrice + payload.length * byteFee, configured per destination.
///      Nonces count per destination chain, so each (source gateway, destination) channel is gap-free and the
///      target's replay bitmap stays dense.
///
///      Gas top-ups: the attested message (and so its id) carries the gas limit chosen at send time, and the
///      target gateway forwards exactly that much on first delivery. If that was too little the receiver fails
///      and the target stores the message as failed; anyone may then call TargetGateway.retryMessage with as
///      much gas as needed. addGas lets the sender pay the relayer for that retry: it emits GasAdded, which the
///      relayer reads to retry with gasLimit + all extraGas paid so far. No new attestation is ever needed.
///      A destination's maxGasLimit is capped at MAX_GAS_LIMIT, which every supported chain's blocks can forward.
///      In production the owner is a timelock; the guardian (GuardianRole) may pause at once, only the owner resumes.
contract SourceGateway is ISourceGateway, GuardianRole, Pausable {
    /// @notice Largest maxGasLimit a destination may allow: a receiver call this large, with the delivery's own
    ///         cost, fits in the blocks of every chain the relay serves (30M gas and more).
    uint32 public constant MAX_GAS_LIMIT = 15_000_000;

    mapping(uint64 dstChainId => DestinationConfig) private _destinations;
    mapping(uint64 dstChainId => uint64) private _nextNonce;
    /// @dev Destination chain of every sent message (non-zero), so isSent costs one slot and addGas can price.
    mapping(bytes32 messageId => uint64) private _sentTo;

    /// @notice Longest payload accepted, in bytes.
    uint32 public maxPayloadBytes;
    /// @notice Where withdrawFees sends collected fees.
    address public feeRecipient;

    /// @param initialOwner Owner (a timelock in production).
    /// @param initialFeeRecipient Receiver of collected fees.
    /// @param initialMaxPayloadBytes Longest payload accepted.
    constructor(address initialOwner, address initialFeeRecipient, uint32 initialMaxPayloadBytes)
        Ownable(initialOwner)
    {
        if (initialFeeRecipient == address(0)) revert ZeroAddress();
        feeRecipient = initialFeeRecipient;
        maxPayloadBytes = initialMaxPayloadBytes;
        emit FeeRecipientSet(initialFeeRecipient);
        emit MaxPayloadBytesSet(initialMaxPayloadBytes);
    }

    /// @inheritdoc ISourceGateway
    function sendMessage(uint64 dstChainId, address receiver, bytes calldata payload, uint64 gasLimit)
        external
        payable
        returns (bytes32)
    {
        return _send(dstChainId, receiver, payload, gasLimit, msg.sender);
    }

    /// @inheritdoc ISourceGateway
    function sendMessage(
        uint64 dstChainId,
        address receiver,
        bytes calldata payload,
        uint64 gasLimit,
        address refundAddress
    ) external payable returns (bytes32) {
        if (refundAddress == address(0)) revert ZeroAddress();
        return _send(dstChainId, receiver, payload, gasLimit, refundAddress);
    }

    /// @inheritdoc ISourceGateway
    function addGas(bytes32 messageId, uint64 extraGas) external payable whenNotPaused {
        uint256 fee = quoteAddGas(messageId, extraGas);
        if (msg.value < fee) revert InsufficientFee(fee, msg.value);
        emit GasAdded(messageId, extraGas, fee);
        _refund(msg.sender, msg.value - fee);
    }

    /// @inheritdoc ISourceGateway
    function withdrawFees() external {
        uint256 amount = address(this).balance;
        if (amount == 0) revert NothingToWithdraw();
        address recipient = feeRecipient;
        emit FeesWithdrawn(recipient, amount);
        _transfer(recipient, amount);
    }

    /// @notice Configure fees and the gas bound (at most MAX_GAS_LIMIT) for a destination chain other than this
    ///         one and 0; maxGasLimit == 0 removes it.
    /// @param dstChainId Destination chain id.
    /// @param config Fee schedule and gas bound.
    function setDestination(uint64 dstChainId, DestinationConfig calldata config) external onlyOwner {
        // Chain id 0 is how _sentTo says "never sent": a route to it would make its messages read as unsent.
        if (dstChainId == 0) revert ZeroDestinationChain();
        if (dstChainId == block.chainid) revert DestinationIsSourceChain();
        if (config.maxGasLimit > MAX_GAS_LIMIT) revert InvalidGasLimit(config.maxGasLimit, MAX_GAS_LIMIT);
        _destinations[dstChainId] = config;
        emit DestinationConfigured(dstChainId, config);
    }

    /// @notice Set the payload size bound.
    /// @param newMaxPayloadBytes Longest payload accepted, in bytes.
    function setMaxPayloadBytes(uint32 newMaxPayloadBytes) external onlyOwner {
        maxPayloadBytes = newMaxPayloadBytes;
        emit MaxPayloadBytesSet(newMaxPayloadBytes);
    }

    /// @notice Set where collected fees go.
    /// @param newFeeRecipient Receiver of collected fees.
    function setFeeRecipient(address newFeeRecipient) external onlyOwner {
        if (newFeeRecipient == address(0)) revert ZeroAddress();
        feeRecipient = newFeeRecipient;
        emit FeeRecipientSet(newFeeRecipient);
    }

    /// @notice Stop accepting messages and gas top-ups (emergency; guardian or owner).
    function pause() external onlyGuardian {
        _pause();
    }

    /// @notice Accept messages again (governance only).
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice Fee schedule and gas bound of a destination chain.
    /// @param dstChainId Destination chain id.
    function destination(uint64 dstChainId) external view returns (DestinationConfig memory) {
        return _destinations[dstChainId];
    }

    /// @inheritdoc ISourceGateway
    function isSent(bytes32 messageId) external view returns (bool) {
        return _sentTo[messageId] != 0;
    }

    /// @inheritdoc ISourceGateway
    function sentTo(bytes32 messageId) external view returns (uint64) {
        return _sentTo[messageId];
    }

    /// @inheritdoc ISourceGateway
    function nextNonce(uint64 dstChainId) external view returns (uint64) {
        return _nextNonce[dstChainId];
    }

    /// @inheritdoc ISourceGateway
    function quoteFee(uint64 dstChainId, uint256 payloadLength, uint64 gasLimit) public view returns (uint256) {
        DestinationConfig memory config = _destinations[dstChainId];
        if (config.maxGasLimit == 0) revert UnsupportedDestination(dstChainId);
        if (payloadLength > maxPayloadBytes) revert PayloadTooLarge(payloadLength, maxPayloadBytes);
        if (gasLimit == 0 || gasLimit > config.maxGasLimit) revert InvalidGasLimit(gasLimit, config.maxGasLimit);
        return uint256(config.baseFee) + uint256(gasLimit) * config.gasPrice + payloadLength * config.byteFee;
    }

    /// @inheritdoc ISourceGateway
    function quoteAddGas(bytes32 messageId, uint64 extraGas) public view returns (uint256) {
        uint64 dstChainId = _sentTo[messageId];
        if (dstChainId == 0) revert UnknownMessage(messageId);
        if (extraGas == 0) revert ZeroExtraGas();
        DestinationConfig memory config = _destinations[dstChainId];
        if (config.maxGasLimit == 0) revert UnsupportedDestination(dstChainId);
        return uint256(extraGas) * config.gasPrice;
    }

    function _send(
        uint64 dstChainId,
        address receiver,
        bytes calldata payload,
        uint64 gasLimit,
        address refundAddress
    ) private whenNotPaused returns (bytes32 messageId) {
        if (receiver == address(0)) revert ZeroReceiver();
        uint256 fee = quoteFee(dstChainId, payload.length, gasLimit);
        if (msg.value < fee) revert InsufficientFee(fee, msg.value);

        uint64 nonce = _nextNonce[dstChainId];
        _nextNonce[dstChainId] = nonce + 1;
        MessageLib.Message memory message = MessageLib.Message({
            nonce: nonce,
            srcChainId: uint64(block.chainid),
            srcGateway: address(this),
            sender: msg.sender,
            dstChainId: dstChainId,
            receiver: receiver,
            gasLimit: gasLimit,
            payload: payload
        });
        messageId = MessageLib.messageId(message);
        _sentTo[messageId] = dstChainId;
        emit MessageSent(messageId, dstChainId, msg.sender, message, fee);
        _refund(refundAddress, msg.value - fee);
    }

    function _refund(address to, uint256 amount) private {
        if (amount == 0) return;
        emit FeeRefunded(to, amount);
        _transfer(to, amount);
    }

    function _transfer(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
