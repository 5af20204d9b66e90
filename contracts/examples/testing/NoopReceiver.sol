// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMessageReceiver} from "../../interfaces/IMessageReceiver.sol";

/// @title NoopReceiver
/// @notice Test and benchmark receiver that does nothing, so a delivery's gas is all gateway overhead.
contract NoopReceiver is IMessageReceiver {
    /// @inheritdoc IMessageReceiver
    // solhint-disable-next-line no-empty-blocks
    function onMessage(uint64, address, bytes calldata) external {}
}
