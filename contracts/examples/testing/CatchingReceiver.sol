// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageReceiverBase} from "../../gateway/MessageReceiverBase.sol";

/// @title CatchingReceiver
/// @notice Test receiver in the "catch and continue" style: it runs its real work in an inner call and marks
///         the message handled whether or not that work succeeded. Such a receiver is safe only if it always
///         gets its full gas limit: with less, the inner work fails, is caught, and the message is consumed
///         with nothing done. The retry attack test squeezes exactly this.
contract CatchingReceiver is MessageReceiverBase {
    /// @notice Storage words the inner work writes (about 22,000 gas each).
    uint256 public constant WORK_SLOTS = 8;

    /// @notice Messages handled (succeeded or not).
    uint256 public handled;
    /// @notice Messages whose inner work completed.
    uint256 public completed;
    /// @notice While closed, deliveries revert (the app is paused), so the gateway keeps them as failed.
    bool public closed;
    mapping(uint256 slot => uint256) private _work;

    /// @notice The inner call did not come from this contract.
    error OnlySelf();
    /// @notice A delivery while closed.
    error Closed();

    /// @param targetGateway_ Gateway allowed to deliver.
    constructor(address targetGateway_) MessageReceiverBase(targetGateway_) {}

    /// @notice Opens or closes the receiver.
    /// @param closed_ Whether deliveries revert.
    function setClosed(bool closed_) external {
        closed = closed_;
    }

    /// @notice The inner work: writes WORK_SLOTS fresh words. Only callable by this contract.
    /// @param round Distinguishes the words of one message from another's.
    function work(uint256 round) external {
        if (msg.sender != address(this)) revert OnlySelf();
        for (uint256 i = 0; i < WORK_SLOTS; ++i) {
            _work[round * WORK_SLOTS + i] = i + 1;
        }
        ++completed;
    }

    function _onMessage(uint64, address, bytes calldata) internal override {
        if (closed) revert Closed();
        uint256 round = handled;
        ++handled;
        // Forwards 63/64 of what is left; a failure is swallowed, as such receivers do.
        try this.work(round) {} catch {} // solhint-disable-line no-empty-blocks
    }
}
