// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageLib} from "../../gateway/MessageLib.sol";
import {MessageReceiverBase} from "../../gateway/MessageReceiverBase.sol";
import {ITargetGateway} from "../../interfaces/ITargetGateway.sol";

/// @title ProbeReceiver
/// @notice Test receiver: records each delivery (or only counts it) and can be told to revert (with a custom error,
///         or with the payload as its Error(string) text) or burn all its gas.
contract ProbeReceiver is MessageReceiverBase {
    /// @notice Behaviour of the next deliveries.
    enum Mode {
        Accept,
        Revert,
        BurnGas,
        CountOnly,
        RevertWithText
    }

    /// @notice Current behaviour.
    Mode public mode;
    /// @notice Number of successful deliveries.
    uint256 public received;
    /// @notice Source chain, sender, payload and gas at entry of the last successful delivery.
    uint64 public lastSrcChainId;
    address public lastSender;
    bytes public lastPayload;
    uint256 public lastGasAtEntry;

    /// @notice A delivery was accepted.
    // solhint-disable-next-line gas-indexed-events
    event Received(uint64 srcChainId, address sender, bytes payload, uint256 gasAtEntry);

    /// @notice Raised in Revert mode.
    error ProbeRejected(bytes payload);

    /// @param targetGateway_ Gateway allowed to deliver.
    constructor(address targetGateway_) MessageReceiverBase(targetGateway_) {}

    /// @notice Choose how later deliveries behave.
    /// @param newMode Behaviour.
    function setMode(Mode newMode) external {
        mode = newMode;
    }

    /// @notice Give up on a failed message (only the message's receiver may).
    /// @param message The failed message.
    function abandon(MessageLib.Message calldata message) external {
        ITargetGateway(TARGET_GATEWAY).abandonMessage(message);
    }

    function _onMessage(uint64 srcChainId, address sender, bytes calldata payload) internal override {
        uint256 gasAtEntry = gasleft();
        if (mode == Mode.Revert) revert ProbeRejected(payload);
        // solhint-disable-next-line gas-custom-errors, reason-string
        if (mode == Mode.RevertWithText) revert(string(payload));
        if (mode == Mode.BurnGas) {
            // INVALID consumes all gas the call was given.
            assembly {
                invalid()
            }
        }
        ++received;
        lastGasAtEntry = gasAtEntry;
        if (mode == Mode.CountOnly) return;
        lastSrcChainId = srcChainId;
        lastSender = sender;
        lastPayload = payload;
        emit Received(srcChainId, sender, payload, gasAtEntry);
    }
}
