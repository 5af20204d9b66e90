// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IMessageReceiver
/// @notice Implemented by every dapp contract that receives cross-chain messages from a TargetGateway.
interface IMessageReceiver {
    /// @notice Called by the TargetGateway with exactly the gas limit the sender paid for.
    /// @dev A revert does not lose the message: the gateway stores it as failed for a later retry.
    ///      Implementations must check that msg.sender is their TargetGateway (see MessageReceiverBase)
    ///      and should check `sender` is a peer they trust on `srcChainId`.
    /// @param srcChainId Chain id the message came from.
    /// @param sender Account that called sendMessage on the source chain.
    /// @param payload Application data.
    function onMessage(uint64 srcChainId, address sender, bytes calldata payload) external;
}
