// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISourceGateway} from "../../interfaces/ISourceGateway.sol";

/// @title MultiSender
/// @notice Test sender: several messages in one transaction, as a dapp batching its sends would
///         (for look-ups by source transaction hash).
contract MultiSender {
    /// @notice Gateway the messages go through.
    ISourceGateway public immutable SOURCE_GATEWAY;

    /// @param sourceGateway_ Gateway to send through.
    constructor(address sourceGateway_) {
        SOURCE_GATEWAY = ISourceGateway(sourceGateway_);
    }

    /// @notice Send one message per payload to `receiver`, each paying an equal share of msg.value.
    /// @param dstChainId Destination chain.
    /// @param receiver Receiver on the destination chain.
    /// @param payloads One payload per message.
    /// @param gasLimit Destination gas limit of each message.
    function sendAll(uint64 dstChainId, address receiver, bytes[] calldata payloads, uint64 gasLimit) external payable {
        uint256 fee = msg.value / payloads.length;
        for (uint256 i = 0; i < payloads.length; ++i) {
            SOURCE_GATEWAY.sendMessage{value: fee}(dstChainId, receiver, payloads[i], gasLimit);
        }
    }
}
