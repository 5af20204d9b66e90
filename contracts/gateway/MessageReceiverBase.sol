// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMessageReceiver} from "../interfaces/IMessageReceiver.sol";

/// @title MessageReceiverBase
/// @notice Base for dapps receiving mpc-relay messages: only the configured TargetGateway may deliver.
abstract contract MessageReceiverBase is IMessageReceiver {
    /// @notice The only address allowed to call onMessage.
    address public immutable TARGET_GATEWAY;

    /// @notice onMessage was called by someone other than the target gateway.
    error NotGateway(address caller);
    /// @notice The gateway address given at construction was zero.
    error ZeroGateway();

    /// @param targetGateway_ TargetGateway of this chain.
    constructor(address targetGateway_) {
        if (targetGateway_ == address(0)) revert ZeroGateway();
        TARGET_GATEWAY = targetGateway_;
    }

    /// @inheritdoc IMessageReceiver
    function onMessage(uint64 srcChainId, address sender, bytes calldata payload) external {
        if (msg.sender != TARGET_GATEWAY) revert NotGateway(msg.sender);
        _onMessage(srcChainId, sender, payload);
    }

    /// @dev Application logic; runs only for messages delivered by the gateway.
    function _onMessage(uint64 srcChainId, address sender, bytes calldata payload) internal virtual;
}
