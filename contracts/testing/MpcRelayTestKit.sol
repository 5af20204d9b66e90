// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageLib} from "../gateway/MessageLib.sol";
import {SourceGateway} from "../gateway/SourceGateway.sol";
import {TargetGateway} from "../gateway/TargetGateway.sol";
import {ISourceGateway} from "../interfaces/ISourceGateway.sol";
import {ITargetGateway} from "../interfaces/ITargetGateway.sol";

/// @notice The Foundry-compatible cheatcodes (served by Hardhat's EDR in Solidity tests) the test kit uses.
interface IMpcRelayTestVm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address);
    function chainId(uint256 newChainId) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
}

/// @title MpcRelayTestKit
/// @notice Base for a dapp's Hardhat Solidity tests: gateways for several chain ids in the test's one EVM,
///         a test relay key, and delivery when the test says so. Each "chain" is the EVM with its chain id
///         switched (`onChain`), so a sender and its receiver see the chain ids they would in production.
///
///             function setUp() public { uint64[] memory ids = new uint64[](2); ids[0] = 1; ids[1] = 2;
///                                       deployGateways(ids); onChain(1); sender = new MySender(source(1)); ... }
///             function test_roundTrip() public { onChain(1); sender.send(2, ...); deliverAll(); ... }
/// @dev Test code only: the relay key is a plain private key here, never in production.
abstract contract MpcRelayTestKit {
    IMpcRelayTestVm internal constant KIT_VM = IMpcRelayTestVm(address(uint160(uint256(keccak256("hevm cheat code")))));
    /// @notice The test relay's private key (the MPC network's threshold key stands there in production).
    uint256 internal constant KIT_RELAY_KEY = uint256(keccak256("mpc-relay test kit relay key"));

    /// @notice Every chain id the kit deployed gateways for, in deployment order.
    uint64[] internal kitChainIds;
    mapping(uint64 chainId => SourceGateway) private _sources;
    mapping(uint64 chainId => TargetGateway) private _targets;
    /// @dev Messages seen in recorded logs and not delivered yet, oldest first.
    MessageLib.Message[] private _pending;
    uint256 private _nextPending;

    /// @notice A delivery left the message stored as failed: the receiver reverted with `reason`.
    error KitDeliveryFailed(bytes32 messageId, bytes reason);
    /// @notice No gateways were deployed for `chainId`.
    error KitUnknownChain(uint64 chainId);

    /// @notice Deploys a SourceGateway and a TargetGateway per chain id (this contract owns them, the kit's
    ///         key is the relay), opens every route between them, and starts recording logs.
    /// @param chainIds Distinct chain ids, at least two.
    function deployGateways(uint64[] memory chainIds) internal {
        ISourceGateway.DestinationConfig memory fees =
            ISourceGateway.DestinationConfig({baseFee: 1e12, gasPrice: 1e6, byteFee: 1e9, maxGasLimit: 5_000_000});
        for (uint256 i = 0; i < chainIds.length; ++i) {
            onChainUnchecked(chainIds[i]);
            _sources[chainIds[i]] = new SourceGateway(address(this), address(this), 16_384);
            _targets[chainIds[i]] = new TargetGateway(address(this), KIT_VM.addr(KIT_RELAY_KEY), 3600, 600);
            kitChainIds.push(chainIds[i]);
        }
        for (uint256 i = 0; i < chainIds.length; ++i) {
            onChainUnchecked(chainIds[i]);
            for (uint256 j = 0; j < chainIds.length; ++j) {
                if (i != j) _sources[chainIds[i]].setDestination(chainIds[j], fees);
            }
        }
        KIT_VM.recordLogs();
    }

    /// @notice Makes the EVM chain `chainId`: what runs next sends from, or is delivered on, that chain.
    function onChain(uint64 chainId) internal {
        if (address(_sources[chainId]) == address(0)) revert KitUnknownChain(chainId);
        onChainUnchecked(chainId);
    }

    /// @notice The gateway dapps on `chainId` send through.
    function source(uint64 chainId) internal view returns (SourceGateway) {
        if (address(_sources[chainId]) == address(0)) revert KitUnknownChain(chainId);
        return _sources[chainId];
    }

    /// @notice The gateway that delivers to receivers on `chainId`.
    function target(uint64 chainId) internal view returns (TargetGateway) {
        if (address(_targets[chainId]) == address(0)) revert KitUnknownChain(chainId);
        return _targets[chainId];
    }

    /// @notice Delivers every message sent so far, and what receivers send meanwhile, until none is left.
    ///         Reverts with KitDeliveryFailed at the first message its receiver refused (use
    ///         `deliverAllowingFailures` to go on). Returns how many were delivered.
    function deliverAll() internal returns (uint256 delivered) {
        (delivered,) = _deliverAll(true);
    }

    /// @notice Like deliverAll, but a refused message stays stored as failed (retryable) and delivery goes on.
    function deliverAllowingFailures() internal returns (uint256 delivered, uint256 failed) {
        return _deliverAll(false);
    }

    function _deliverAll(bool strict) private returns (uint256 delivered, uint256 failed) {
        uint64 chainBefore = uint64(block.chainid);
        for (_collect(); _nextPending < _pending.length; _collect()) {
            MessageLib.Message memory message = _pending[_nextPending];
            ++_nextPending;
            (bool ok, bytes memory reason) = _deliver(message);
            if (ok) {
                ++delivered;
            } else if (strict) {
                revert KitDeliveryFailed(MessageLib.messageId(message), reason);
            } else {
                ++failed;
            }
        }
        onChainUnchecked(chainBefore);
    }

    /// @dev Signs `message` with the kit's key for its target gateway and delivers it there.
    function _deliver(MessageLib.Message memory message) private returns (bool ok, bytes memory reason) {
        TargetGateway gateway = target(message.dstChainId);
        onChainUnchecked(message.dstChainId);
        (uint8 v, bytes32 r, bytes32 s) = KIT_VM.sign(KIT_RELAY_KEY, MessageLib.digest(message, address(gateway)));
        gateway.receiveMessage(message, r, bytes32(uint256(s) | (uint256(v - 27) << 255)));
        bytes32 id = MessageLib.messageId(message);
        if (gateway.failedState(id) == ITargetGateway.FailedState.None) return (true, "");
        return (false, _failureReason(id));
    }

    /// @dev Moves MessageSent events of the kit's source gateways from the recorded logs into the queue.
    function _collect() private {
        IMpcRelayTestVm.Log[] memory logs = KIT_VM.getRecordedLogs();
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics.length == 0 || logs[i].topics[0] != ISourceGateway.MessageSent.selector) continue;
            (MessageLib.Message memory message,) = abi.decode(logs[i].data, (MessageLib.Message, uint256));
            if (address(_sources[message.srcChainId]) != logs[i].emitter) continue;
            _pending.push(message);
        }
    }

    /// @dev The receiver's revert data from the MessageFailed event the delivery just emitted.
    function _failureReason(bytes32 id) private returns (bytes memory) {
        IMpcRelayTestVm.Log[] memory logs = KIT_VM.getRecordedLogs();
        bytes memory reason;
        for (uint256 i = 0; i < logs.length; ++i) {
            bytes32 topic = logs[i].topics.length > 0 ? logs[i].topics[0] : bytes32(0);
            if (topic == ITargetGateway.MessageFailed.selector && logs[i].topics[1] == id) {
                reason = abi.decode(logs[i].data, (bytes));
            } else if (topic == ISourceGateway.MessageSent.selector) {
                (MessageLib.Message memory message,) = abi.decode(logs[i].data, (MessageLib.Message, uint256));
                if (address(_sources[message.srcChainId]) == logs[i].emitter) _pending.push(message);
            }
        }
        return reason;
    }

    function onChainUnchecked(uint64 chainId) private {
        KIT_VM.chainId(chainId);
    }
}
