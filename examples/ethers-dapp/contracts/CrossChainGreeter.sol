// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageReceiverBase} from "@mpc-relay/contracts/gateway/MessageReceiverBase.sol";
import {ISourceGateway} from "@mpc-relay/contracts/interfaces/ISourceGateway.sol";

/// @notice Sets a greeting on another chain; an empty greeting is refused, so that message fails and can be
///         abandoned or retried.
contract CrossChainGreeter is MessageReceiverBase {
    uint64 public constant GAS_LIMIT = 150_000;

    ISourceGateway public immutable SOURCE_GATEWAY;
    string public greeting;
    uint64 public greetedFrom;
    bool public acceptsEmpty;

    event Greeted(uint64 indexed srcChainId, address indexed sender, string greeting);

    constructor(address sourceGateway, address targetGateway) MessageReceiverBase(targetGateway) {
        SOURCE_GATEWAY = ISourceGateway(sourceGateway);
    }

    function setAcceptsEmpty(bool accepts) external {
        acceptsEmpty = accepts;
    }

    function quote(uint64 dstChainId, string calldata text) external view returns (uint256) {
        return SOURCE_GATEWAY.quoteFee(dstChainId, abi.encode(text).length, GAS_LIMIT);
    }

    /// @notice Sends `text` to the greeter at `receiver` on `dstChainId`.
    function greet(uint64 dstChainId, address receiver, string calldata text) external payable returns (bytes32) {
        return SOURCE_GATEWAY.sendMessage{value: msg.value}(dstChainId, receiver, abi.encode(text), GAS_LIMIT);
    }

    function _onMessage(uint64 srcChainId, address sender, bytes calldata payload) internal override {
        string memory text = abi.decode(payload, (string));
        require(bytes(text).length > 0 || acceptsEmpty, "empty greeting");
        greeting = text;
        greetedFrom = srcChainId;
        emit Greeted(srcChainId, sender, text);
    }
}
