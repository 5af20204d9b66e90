// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MpcRelayTestKit} from "../../contracts/testing/MpcRelayTestKit.sol";
import {PingPong} from "../../contracts/examples/PingPong.sol";
import {ProbeReceiver} from "../../contracts/examples/testing/ProbeReceiver.sol";
import {ITargetGateway} from "../../contracts/interfaces/ITargetGateway.sol";
import {MessageLib} from "../../contracts/gateway/MessageLib.sol";

interface KitTestVm {
    function deal(address account, uint256 balance) external;
    function expectRevert(bytes calldata revertData) external;
}

/// @notice The Solidity test kit as a dapp's own Solidity test uses it: a ping and its pong across two
///         chain ids, and a refusing receiver's failure with its reason.
contract MpcRelayTestKitTest is MpcRelayTestKit {
    KitTestVm private constant VM = KitTestVm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint64 private constant A = 101;
    uint64 private constant B = 202;

    PingPong private pingA;
    PingPong private pingB;
    ProbeReceiver private probe;

    function setUp() external {
        uint64[] memory ids = new uint64[](2);
        ids[0] = A;
        ids[1] = B;
        deployGateways(ids);
        onChain(A);
        pingA = new PingPong(address(source(A)), address(target(A)), address(this));
        onChain(B);
        pingB = new PingPong(address(source(B)), address(target(B)), address(this));
        probe = new ProbeReceiver(address(target(B)));
        pingB.setPeer(A, address(pingA));
        onChain(A);
        pingA.setPeer(B, address(pingB));
        VM.deal(address(pingB), 1 ether);
    }

    function test_PingAndPongCrossTheirChains() external {
        onChain(A);
        pingA.ping{value: pingA.quotePing(B)}(B);
        if (pingB.pingsReceived() != 0) revert("delivered before deliverAll");
        uint256 delivered = deliverAll();
        if (delivered != 2) revert("expected the ping and the pong");
        if (pingB.pingsReceived() != 1 || pingA.pongsReceived() != 1) revert("ping or pong not received");
        if (block.chainid != A) revert("deliverAll must leave the chain id as it found it");
        if (deliverAll() != 0) revert("nothing is left to deliver");
    }

    /// @dev Sends `payload` from chain A to the probe on chain B and returns the message as the gateway built it.
    function _sendToProbe(bytes memory payload) private returns (MessageLib.Message memory message) {
        onChain(A);
        uint64 nonce = source(A).nextNonce(B);
        source(A).sendMessage{value: source(A).quoteFee(B, payload.length, 200_000)}(B, address(probe), payload, 200_000);
        message = MessageLib.Message({
            nonce: nonce,
            srcChainId: A,
            srcGateway: address(source(A)),
            sender: address(this),
            dstChainId: B,
            receiver: address(probe),
            gasLimit: 200_000,
            payload: payload
        });
    }

    function test_RefusedMessageStaysFailedAndRetryable() external {
        onChain(B);
        probe.setMode(ProbeReceiver.Mode.Revert);
        MessageLib.Message memory message = _sendToProbe(hex"c0ffee");
        (uint256 delivered, uint256 failed) = deliverAllowingFailures();
        if (delivered != 0 || failed != 1) revert("expected one failure");
        onChain(B);
        if (target(B).failedState(MessageLib.messageId(message)) != ITargetGateway.FailedState.Failed) revert("not stored failed");
        probe.setMode(ProbeReceiver.Mode.Accept);
        target(B).retryMessage(message);
        if (probe.received() != 1) revert("the retry must deliver it");
    }

    function deliverAllExternally() external returns (uint256) {
        return deliverAll();
    }

    function test_DeliverAllNamesTheRefusedMessageAndItsReason() external {
        onChain(B);
        probe.setMode(ProbeReceiver.Mode.Revert);
        MessageLib.Message memory message = _sendToProbe(hex"0bad");
        bytes memory reason = abi.encodeWithSelector(ProbeReceiver.ProbeRejected.selector, message.payload);
        VM.expectRevert(abi.encodeWithSelector(KitDeliveryFailed.selector, MessageLib.messageId(message), reason));
        this.deliverAllExternally();
    }

    function test_UnknownChainIsRefused() external {
        VM.expectRevert(abi.encodeWithSelector(KitUnknownChain.selector, uint64(303)));
        this.onChainExternally(303);
    }

    function onChainExternally(uint64 chainId) external {
        onChain(chainId);
    }
}
