// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageReceiverBase} from "@mpc-relay/contracts/gateway/MessageReceiverBase.sol";
import {ISourceGateway} from "@mpc-relay/contracts/interfaces/ISourceGateway.sol";

/// @notice Counts increments sent from its peers on other chains; an increment above `cap` is refused,
///         so the message fails and can be retried once the owner raises the cap.
contract CrossChainCounter is MessageReceiverBase {
    uint64 public constant GAS_LIMIT = 100_000;

    ISourceGateway public immutable SOURCE_GATEWAY;
    address public immutable OWNER;
    mapping(uint64 chainId => address counter) public peers;
    mapping(uint64 chainId => uint256 total) public received;
    uint256 public cap = 100;

    error NotOwner();
    error UnknownPeer(uint64 srcChainId, address sender);
    error OverCap(uint256 amount, uint256 cap);

    constructor(address sourceGateway, address targetGateway) MessageReceiverBase(targetGateway) {
        SOURCE_GATEWAY = ISourceGateway(sourceGateway);
        OWNER = msg.sender;
    }

    function setPeer(uint64 chainId, address counter) external {
        if (msg.sender != OWNER) revert NotOwner();
        peers[chainId] = counter;
    }

    function setCap(uint256 newCap) external {
        if (msg.sender != OWNER) revert NotOwner();
        cap = newCap;
    }

    function quote(uint64 dstChainId) external view returns (uint256) {
        return SOURCE_GATEWAY.quoteFee(dstChainId, 32, GAS_LIMIT);
    }

    /// @notice Adds `amount` to this chain's total on the counter of `dstChainId`.
    function increment(uint64 dstChainId, uint256 amount) external payable returns (bytes32 messageId) {
        return SOURCE_GATEWAY.sendMessage{value: msg.value}(dstChainId, peers[dstChainId], abi.encode(amount), GAS_LIMIT);
    }

    function _onMessage(uint64 srcChainId, address sender, bytes calldata payload) internal override {
        if (sender != peers[srcChainId]) revert UnknownPeer(srcChainId, sender);
        uint256 amount = abi.decode(payload, (uint256));
        if (amount > cap) revert OverCap(amount, cap);
        received[srcChainId] += amount;
    }
}
