// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageLib} from "../gateway/MessageLib.sol";

/// @title ISourceGateway
/// @notice Outbound side of mpc-relay: dapps send messages here; the MPC network attests what it emits.
interface ISourceGateway {
    /// @notice Fee schedule and limits for one destination chain; maxGasLimit == 0 means unsupported.
    /// @param baseFee Flat fee per message, in wei.
    /// @param gasPrice Wei charged per unit of destination gas limit.
    /// @param byteFee Wei charged per payload byte.
    /// @param maxGasLimit Highest gas limit a message to this chain may ask for.
    struct DestinationConfig {
        uint96 baseFee;
        uint64 gasPrice;
        uint64 byteFee;
        uint32 maxGasLimit;
    }

    /// @notice Emitted once per message with the full message the MPC network will attest.
    event MessageSent(
        bytes32 indexed messageId,
        uint64 indexed dstChainId,
        address indexed sender,
        MessageLib.Message message,
        uint256 fee
    );
    /// @notice A sender paid for `extraGas` more destination gas for message `messageId`; the relayer retries with it.
    // solhint-disable-next-line gas-indexed-events
    event GasAdded(bytes32 indexed messageId, uint64 extraGas, uint256 fee);
    /// @notice Excess payment returned.
    // solhint-disable-next-line gas-indexed-events
    event FeeRefunded(address indexed refundAddress, uint256 amount);
    /// @notice The owner set (or, with maxGasLimit == 0, removed) a destination chain.
    event DestinationConfigured(uint64 indexed dstChainId, DestinationConfig config);
    /// @notice The owner changed the payload size bound.
    // solhint-disable-next-line gas-indexed-events
    event MaxPayloadBytesSet(uint32 maxPayloadBytes);
    /// @notice The owner changed where collected fees go.
    event FeeRecipientSet(address indexed feeRecipient);
    /// @notice Collected fees were sent to the fee recipient.
    // solhint-disable-next-line gas-indexed-events
    event FeesWithdrawn(address indexed feeRecipient, uint256 amount);

    /// @notice The destination chain has no configuration.
    error UnsupportedDestination(uint64 dstChainId);
    /// @notice The destination is this chain itself.
    error DestinationIsSourceChain();
    /// @notice Destination chain id 0, which the sent records use for "never sent".
    error ZeroDestinationChain();
    /// @notice A receiver of address(0).
    error ZeroReceiver();
    /// @notice The payload is longer than maxPayloadBytes.
    error PayloadTooLarge(uint256 length, uint256 maxLength);
    /// @notice The gas limit is zero or above the destination's maxGasLimit (or a maxGasLimit above MAX_GAS_LIMIT).
    error InvalidGasLimit(uint64 gasLimit, uint64 maxGasLimit);
    /// @notice msg.value is below the fee.
    error InsufficientFee(uint256 required, uint256 provided);
    /// @notice No message with this id was sent from this gateway.
    error UnknownMessage(bytes32 messageId);
    /// @notice Sending ETH to `to` failed.
    error TransferFailed(address to, uint256 amount);
    /// @notice An address argument that must be set was zero.
    error ZeroAddress();
    /// @notice There are no fees to withdraw.
    error NothingToWithdraw();
    /// @notice A gas top-up of zero.
    error ZeroExtraGas();

    /// @notice Send `payload` to `receiver` on `dstChainId`; excess msg.value is refunded to msg.sender.
    /// @return messageId The id under which the message is attested and delivered.
    function sendMessage(uint64 dstChainId, address receiver, bytes calldata payload, uint64 gasLimit)
        external
        payable
        returns (bytes32 messageId);

    /// @notice Like sendMessage, with excess msg.value refunded to `refundAddress`.
    function sendMessage(
        uint64 dstChainId,
        address receiver,
        bytes calldata payload,
        uint64 gasLimit,
        address refundAddress
    ) external payable returns (bytes32 messageId);

    /// @notice Pay for `extraGas` more destination gas for an already sent message; excess refunded to msg.sender.
    function addGas(bytes32 messageId, uint64 extraGas) external payable;

    /// @notice Fee in wei for a message to `dstChainId` with a payload of `payloadLength` bytes and `gasLimit`.
    function quoteFee(uint64 dstChainId, uint256 payloadLength, uint64 gasLimit) external view returns (uint256);

    /// @notice Fee in wei for adding `extraGas` to message `messageId`.
    function quoteAddGas(bytes32 messageId, uint64 extraGas) external view returns (uint256);

    /// @notice True iff this gateway emitted a message with this id (used by fraud proofs against forged attestations).
    function isSent(bytes32 messageId) external view returns (bool);

    /// @notice Destination chain id of a sent message, 0 if it was never sent.
    function sentTo(bytes32 messageId) external view returns (uint64);

    /// @notice Nonce the next message to `dstChainId` will get.
    function nextNonce(uint64 dstChainId) external view returns (uint64);

    /// @notice Send all collected fees to the fee recipient.
    function withdrawFees() external;
}
