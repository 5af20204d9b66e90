// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ISourceGateway} from "../interfaces/ISourceGateway.sol";
import {MessageReceiverBase} from "../gateway/MessageReceiverBase.sol";

/// @title PingPong
/// @notice Example dapp deployed on every chain: a ping sent to a peer is answered with a pong.
/// @dev The pong fee is paid from this contract's balance. An unfunded contract cannot answer: the ping
///      message then fails at the target gateway and can be retried once the contract is funded.
contract PingPong is MessageReceiverBase, Ownable {
    /// @notice Destination gas for a ping (enough to send the pong back).
    uint64 public constant PING_GAS_LIMIT = 300_000;
    /// @notice Destination gas for a pong.
    uint64 public constant PONG_GAS_LIMIT = 100_000;

    uint8 private constant KIND_PING = 1;
    uint8 private constant KIND_PONG = 2;

    /// @notice Gateway that sends this contract's messages.
    ISourceGateway public immutable SOURCE_GATEWAY;
    /// @notice The PingPong contract trusted on each other chain.
    mapping(uint64 chainId => address) public peers;
    /// @notice Pings sent from here so far (the next ping's id).
    uint256 public pingsSent;
    /// @notice Pings received from peers.
    uint256 public pingsReceived;
    /// @notice Pongs received from peers.
    uint256 public pongsReceived;

    /// @notice A peer was set for a chain.
    // solhint-disable-next-line gas-indexed-events
    event PeerSet(uint64 indexed chainId, address peer);
    /// @notice A ping left for `dstChainId`.
    event PingSent(uint64 indexed dstChainId, uint256 indexed pingId, bytes32 messageId);
    /// @notice A ping arrived and a pong was sent back.
    event PingReceived(uint64 indexed srcChainId, uint256 indexed pingId, bytes32 pongMessageId);
    /// @notice A pong arrived for one of our pings.
    event PongReceived(uint64 indexed srcChainId, uint256 indexed pingId);

    /// @notice No peer is configured for the chain.
    error UnknownPeer(uint64 chainId);
    /// @notice A message from an address that is not the chain's peer.
    error UntrustedSender(uint64 chainId, address sender);
    /// @notice A payload that is neither ping nor pong.
    error UnknownMessageKind(uint8 kind);
    /// @notice This contract's balance cannot pay the pong fee.
    error InsufficientBalanceForPong(uint256 required, uint256 balance);

    /// @param sourceGateway_ SourceGateway of this chain.
    /// @param targetGateway_ TargetGateway of this chain.
    /// @param initialOwner Account allowed to set peers.
    constructor(address sourceGateway_, address targetGateway_, address initialOwner)
        MessageReceiverBase(targetGateway_)
        Ownable(initialOwner)
    {
        if (sourceGateway_ == address(0)) revert ZeroGateway();
        SOURCE_GATEWAY = ISourceGateway(sourceGateway_);
    }

    /// @notice Funds pong fees.
    receive() external payable {}

    /// @notice Trust `peer` as the PingPong contract on `chainId` (zero removes it).
    /// @param chainId Chain of the peer.
    /// @param peer Address of the peer's PingPong contract.
    function setPeer(uint64 chainId, address peer) external onlyOwner {
        peers[chainId] = peer;
        emit PeerSet(chainId, peer);
    }

    /// @notice Send a ping to the peer on `dstChainId`; msg.value pays the fee, the excess is refunded.
    /// @param dstChainId Chain of the peer to ping.
    /// @return messageId Id of the ping message.
    function ping(uint64 dstChainId) external payable returns (bytes32 messageId) {
        address peer = _peer(dstChainId);
        uint256 pingId = pingsSent;
        pingsSent = pingId + 1;
        messageId = SOURCE_GATEWAY.sendMessage{value: msg.value}(
            dstChainId, peer, abi.encode(KIND_PING, pingId), PING_GAS_LIMIT, msg.sender
        );
        emit PingSent(dstChainId, pingId, messageId);
    }

    /// @notice Fee of a ping to `dstChainId`.
    /// @param dstChainId Chain of the peer to ping.
    function quotePing(uint64 dstChainId) external view returns (uint256) {
        return SOURCE_GATEWAY.quoteFee(dstChainId, 64, PING_GAS_LIMIT);
    }

    function _onMessage(uint64 srcChainId, address sender, bytes calldata payload) internal override {
        if (sender != peers[srcChainId] || sender == address(0)) revert UntrustedSender(srcChainId, sender);
        (uint8 kind, uint256 pingId) = abi.decode(payload, (uint8, uint256));
        if (kind == KIND_PING) {
            ++pingsReceived;
            bytes memory pong = abi.encode(KIND_PONG, pingId);
            uint256 fee = SOURCE_GATEWAY.quoteFee(srcChainId, pong.length, PONG_GAS_LIMIT);
            if (address(this).balance < fee) revert InsufficientBalanceForPong(fee, address(this).balance);
            bytes32 pongId = SOURCE_GATEWAY.sendMessage{value: fee}(srcChainId, sender, pong, PONG_GAS_LIMIT);
            emit PingReceived(srcChainId, pingId, pongId);
        } else if (kind == KIND_PONG) {
            ++pongsReceived;
            emit PongReceived(srcChainId, pingId);
        } else {
            revert UnknownMessageKind(kind);
        }
    }

    function _peer(uint64 chainId) private view returns (address peer) {
        peer = peers[chainId];
        if (peer == address(0)) revert UnknownPeer(chainId);
    }
}
