// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageLib} from "../../contracts/gateway/MessageLib.sol";
import {TargetGateway} from "../../contracts/gateway/TargetGateway.sol";
import {ITargetGateway} from "../../contracts/interfaces/ITargetGateway.sol";
import {ProbeReceiver} from "../../contracts/examples/testing/ProbeReceiver.sol";
import {GatewayTestBase} from "./GatewayCheats.sol";

/// @notice Fuzz tests of delivery, replay protection, signature checks and batch proofs.
contract TargetGatewayTest is GatewayTestBase {
    uint256 private constant RELAY_KEY = 0xA11CE;
    uint256 private constant MAX_BATCH = 8;
    /// @dev The largest s OpenZeppelin's ECDSA accepts.
    uint256 private constant HALF_ORDER = SECP256K1_N / 2;

    TargetGateway private gateway;
    ProbeReceiver private probe;

    function setUp() external {
        VM.warp(1_700_000_000);
        gateway = new TargetGateway(address(this), VM.addr(RELAY_KEY), 3600, 600);
        probe = new ProbeReceiver(address(gateway));
    }

    function _message(uint64 nonce, uint64 srcChainId, address srcGateway, bytes memory payload)
        private
        view
        returns (MessageLib.Message memory)
    {
        return MessageLib.Message({
            nonce: nonce,
            srcChainId: srcChainId,
            srcGateway: srcGateway,
            sender: address(0xB0B),
            dstChainId: uint64(block.chainid),
            receiver: address(probe),
            gasLimit: 200_000,
            payload: payload
        });
    }

    function _signed(MessageLib.Message memory message, uint256 key) private view returns (bytes32 r, bytes32 vs) {
        return _signCompact(key, MessageLib.digest(message, address(gateway)));
    }

    function _slice(bytes memory data, uint256 from, uint256 to) private pure returns (bytes memory part) {
        part = new bytes(to - from);
        for (uint256 i = from; i < to; ++i) {
            part[i - from] = data[i];
        }
    }

    /// @dev The address the relay key's signature over `digest` recovers to when checked against `message`.
    function _recovered(MessageLib.Message memory message, bytes32 digest) private view returns (address) {
        (uint8 v, bytes32 r, bytes32 s) = VM.sign(RELAY_KEY, digest);
        return ecrecover(MessageLib.digest(message, address(gateway)), v, r, s);
    }

    /// @notice Any message is delivered once; a replay reverts and neighbouring nonces stay unreceived.
    function testFuzz_deliversOnceThenRejectsReplay(
        uint64 nonce,
        uint64 srcChainId,
        address srcGateway,
        bytes calldata payload
    ) external {
        MessageLib.Message memory message = _message(nonce, srcChainId, srcGateway, payload);
        (bytes32 r, bytes32 vs) = _signed(message, RELAY_KEY);
        gateway.receiveMessage(message, r, vs);
        require(probe.received() == 1, "not delivered");
        require(keccak256(probe.lastPayload()) == keccak256(payload), "payload altered");
        require(gateway.isReceived(srcChainId, srcGateway, nonce), "not marked");
        require(!gateway.isReceived(srcChainId, srcGateway, nonce ^ 1), "neighbour marked");
        require(!gateway.isReceived(srcChainId ^ 1, srcGateway, nonce), "other chain marked");
        VM.expectRevert(abi.encodeWithSelector(ITargetGateway.AlreadyReceived.selector, MessageLib.messageId(message)));
        gateway.receiveMessage(message, r, vs);
    }

    /// @notice No key other than the relay's is accepted.
    function testFuzz_rejectsOtherKeys(uint256 key, uint64 nonce) external {
        key = _bound(key, 1, SECP256K1_N - 1);
        VM.assume(key != RELAY_KEY);
        MessageLib.Message memory message = _message(nonce, 1, address(0xCAFE), hex"01");
        VM.expectRevert(abi.encodeWithSelector(ITargetGateway.InvalidSignature.selector, VM.addr(key)));
        (bytes32 r, bytes32 vs) = _signed(message, key);
        gateway.receiveMessage(message, r, vs);
    }

    /// @notice An s above half the group order is rejected on OpenZeppelin's terms, whatever r and v. In the
    ///         compact form the high-s twin of a signature is almost never expressible (n - s >= 2^255), but the
    ///         s values in (n/2, 2^255) are, and must fail like any malleable signature.
    function testFuzz_rejectsHighS(uint64 nonce, uint256 highS, bool parity) external {
        MessageLib.Message memory message = _message(nonce, 1, address(0xCAFE), hex"01");
        (bytes32 r,) = _signed(message, RELAY_KEY);
        highS = _bound(highS, HALF_ORDER + 1, type(uint256).max >> 1);
        bytes32 vs = bytes32(highS | (parity ? 1 << 255 : 0));
        VM.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureS.selector, bytes32(highS)));
        gateway.receiveMessage(message, r, vs);
    }

    /// @notice A message addressed to another chain is refused even with a valid signature for that chain.
    function testFuzz_rejectsOtherChains(uint64 dstChainId) external {
        VM.assume(dstChainId != block.chainid);
        MessageLib.Message memory message = _message(0, 1, address(0xCAFE), hex"");
        message.dstChainId = dstChainId;
        (bytes32 r, bytes32 vs) = _signed(message, RELAY_KEY);
        VM.expectRevert(abi.encodeWithSelector(ITargetGateway.WrongDestinationChain.selector, dstChainId));
        gateway.receiveMessage(message, r, vs);
    }

    /// @notice After a fork to another chain id the gateway verifies under that chain's domain, not the one it
    ///         cached at deployment, and refuses messages for the chain it was deployed on.
    function test_forkedChainUsesItsOwnDomain() external {
        uint256 deployedOn = block.chainid;
        MessageLib.Message memory original = _message(7, 1, address(0xCAFE), hex"01");
        (bytes32 r, bytes32 vs) = _signed(original, RELAY_KEY);
        VM.chainId(deployedOn + 1);
        VM.expectRevert(abi.encodeWithSelector(ITargetGateway.WrongDestinationChain.selector, uint64(deployedOn)));
        gateway.receiveMessage(original, r, vs);

        MessageLib.Message memory forked = _message(7, 1, address(0xCAFE), hex"01");
        bytes32 staleDigest = MessageLib.digest(original, address(gateway)); // the deployment chain's domain
        VM.expectRevert(abi.encodeWithSelector(ITargetGateway.InvalidSignature.selector, _recovered(forked, staleDigest)));
        (r, vs) = _signCompact(RELAY_KEY, staleDigest);
        gateway.receiveMessage(forked, r, vs);

        (r, vs) = _signed(forked, RELAY_KEY);
        gateway.receiveMessage(forked, r, vs);
        require(probe.received() == 1, "not delivered on the fork");
    }

    /// @notice A payload offset or length pointing outside the calldata is refused: the payload is read where
    ///         the encoding says, never from where the standard encoding would have put it.
    function testFuzz_rejectsPayloadOutsideCalldata(uint256 offset, uint256 length) external {
        MessageLib.Message memory message = _message(1, 1, address(0xCAFE), hex"0102");
        (bytes32 r, bytes32 vs) = _signed(message, RELAY_KEY);
        bytes memory data = abi.encodeCall(gateway.receiveMessage, (message, r, vs));
        // Calldata: selector, the message's head offset, r, vs, the message's 8 head words from 0x64 (payload
        // offset last, relative to 0x64), the payload's length word at 0x64 + 0x100.
        uint256 payloadOffsetAt = 0x64 + 0xe0;
        uint256 payloadLengthAt = 0x64 + 0x100;
        offset = _bound(offset, data.length - 0x64, type(uint256).max - 1);
        length = _bound(length, data.length, type(uint256).max - 1);
        for (uint256 variant = 0; variant < 2; ++variant) {
            bytes memory bad = bytes.concat(data);
            uint256 at = variant == 0 ? payloadOffsetAt : payloadLengthAt;
            uint256 value = variant == 0 ? offset : length;
            assembly ("memory-safe") {
                mstore(add(add(bad, 0x20), at), value)
            }
            (bool ok,) = address(gateway).call(bad);
            require(!ok, "payload outside calldata accepted");
        }
        require(!gateway.isReceived(1, address(0xCAFE), 1), "marked received");
    }

    /// @notice A legal but non-standard ABI encoding (a gap between the head and the message) is delivered
    ///         exactly like the standard one, by the plain path.
    function testFuzz_deliversNonStandardEncoding(uint64 nonce, bytes calldata payload) external {
        MessageLib.Message memory message = _message(nonce, 1, address(0xCAFE), payload);
        (bytes32 r, bytes32 vs) = _signed(message, RELAY_KEY);
        bytes memory standard = abi.encodeCall(gateway.receiveMessage, (message, r, vs));
        uint256 messageOffset = abi.decode(_slice(standard, 4, 0x24), (uint256));
        bytes memory gapped = bytes.concat(
            bytes4(gateway.receiveMessage.selector),
            abi.encode(messageOffset + 0x20, r, vs, bytes32(0)),
            _slice(standard, 0x64, standard.length)
        );
        (bool ok,) = address(gateway).call(gapped);
        require(ok, "non-standard encoding refused");
        require(probe.received() == 1, "not delivered");
        require(keccak256(probe.lastPayload()) == keccak256(payload), "payload altered");
        require(gateway.isReceived(1, address(0xCAFE), nonce), "not marked");
        (ok,) = address(gateway).call(standard);
        require(!ok, "replayed through the other encoding");
    }

    /// @notice A batch of any size delivers every message once under one root signature; altering any message
    ///         of the batch breaks the signature; submitting the batch again delivers nothing.
    function testFuzz_batchDeliversAllOnce(uint256 size, uint64 firstNonce, uint256 tamperIndex) external {
        size = _bound(size, 1, MAX_BATCH);
        firstNonce = uint64(_bound(firstNonce, 0, type(uint64).max - MAX_BATCH));
        MessageLib.Message[] memory messages = new MessageLib.Message[](size);
        bytes32[] memory leaves = new bytes32[](size);
        for (uint256 i = 0; i < size; ++i) {
            messages[i] = _message(firstNonce + uint64(i), 1, address(0xCAFE), abi.encode(i));
            leaves[i] = MessageLib.leaf(MessageLib.messageId(messages[i]));
        }
        // With every leaf supplied, the multiproof needs no sibling hashes: size - 1 flags, all true.
        bytes32[] memory proof = new bytes32[](0);
        bool[] memory flags = new bool[](size - 1);
        for (uint256 i = 0; i < flags.length; ++i) {
            flags[i] = true;
        }
        bytes32 root = MerkleProof.processMultiProof(proof, flags, leaves);
        (bytes32 r, bytes32 vs) = _signCompact(RELAY_KEY, MessageLib.batchDigest(root, uint64(block.chainid), address(gateway)));

        MessageLib.Message[] memory tampered = new MessageLib.Message[](size);
        for (uint256 i = 0; i < size; ++i) {
            tampered[i] = messages[i];
        }
        uint256 victim = tamperIndex % size;
        tampered[victim] = _message(messages[victim].nonce, 1, address(0xCAFE), hex"ff");
        try gateway.receiveBatch(tampered, proof, flags, r, vs) {
            revert("tampered batch accepted");
        } catch (bytes memory reason) {
            require(bytes4(reason) == ITargetGateway.InvalidSignature.selector, "wrong error for tampered batch");
        }

        gateway.receiveBatch(messages, proof, flags, r, vs);
        require(probe.received() == size, "not all delivered");
        gateway.receiveBatch(messages, proof, flags, r, vs);
        require(probe.received() == size, "replayed");
        for (uint256 i = 0; i < size; ++i) {
            require(gateway.isReceived(1, address(0xCAFE), messages[i].nonce), "not marked");
        }
    }

    /// @notice A rotation signature is single-use and bound to its gateway's current nonce.
    function testFuzz_rotationNonceBurnsSignatures(uint256 newKey) external {
        newKey = _bound(newKey, 1, SECP256K1_N - 1);
        VM.assume(newKey != RELAY_KEY);
        address newRelay = VM.addr(newKey);
        uint256 deadline = block.timestamp + 1 days;
        bytes32 digest =
            MessageLib.relayRotationDigest(newRelay, gateway.rotationNonce(), deadline, block.chainid, address(gateway));
        bytes memory signature = _sign(RELAY_KEY, digest);
        // The owner re-setting the same relay still advances the nonce.
        gateway.setRelay(VM.addr(RELAY_KEY));
        try gateway.rotateRelay(newRelay, deadline, signature) {
            revert("stale rotation accepted");
        } catch (bytes memory reason) {
            require(bytes4(reason) == ITargetGateway.InvalidSignature.selector, "wrong error for stale rotation");
        }
    }

    /// @notice A retry either reverts whole, leaving the message failed, or gives the receiver at least the
    ///         message's gasLimit, whatever gas the retrier offers (finding 9: no squeezed retries).
    function testFuzz_retryForwardsAtLeastGasLimit(uint64 gasLimit, uint256 offered) external {
        gasLimit = uint64(_bound(gasLimit, 30_000, 2_000_000));
        offered = _bound(offered, 30_000, 3_000_000);
        MessageLib.Message memory message = _message(3, 1, address(0xCAFE), hex"0102");
        message.gasLimit = gasLimit;
        probe.setMode(ProbeReceiver.Mode.Revert);
        (bytes32 r, bytes32 vs) = _signed(message, RELAY_KEY);
        gateway.receiveMessage(message, r, vs);
        bytes32 id = MessageLib.messageId(message);
        require(gateway.failedState(id) == ITargetGateway.FailedState.Failed, "not failed");
        probe.setMode(ProbeReceiver.Mode.Accept);

        (bool ok,) = address(gateway).call{gas: offered}(abi.encodeCall(gateway.retryMessage, (message)));
        if (ok) {
            // The probe reads gasleft() a few hundred gas into its call.
            require(probe.lastGasAtEntry() + 2_000 >= gasLimit, "receiver got less than its gasLimit");
            require(gateway.failedState(id) == ITargetGateway.FailedState.None, "delivered but still failed");
        } else {
            require(probe.received() == 0, "a reverted retry ran the receiver");
            require(gateway.failedState(id) == ITargetGateway.FailedState.Failed, "a reverted retry lost the message");
        }
    }

    /// @notice First delivery, single or batched, either reverts whole (nothing received), or runs the receiver
    ///         with at least its gasLimit, or records a gasLimit no block can carry as failed without a call.
    function testFuzz_firstDeliveryForwardsGasLimitOrRecordsUndeliverable(
        uint64 gasLimit,
        uint256 offered,
        bool batched,
        bool huge
    ) external {
        // A limit the receiver (counting only) never runs out of, so a failure can only be "not called"; half
        // the runs beyond what a block can carry.
        gasLimit = uint64(huge ? _bound(gasLimit, block.gaslimit, type(uint64).max) : _bound(gasLimit, 100_000, 3_000_000));
        offered = _bound(offered, 60_000, 3_000_000);
        probe.setMode(ProbeReceiver.Mode.CountOnly);
        MessageLib.Message memory message = _message(4, 1, address(0xCAFE), hex"0102");
        message.gasLimit = gasLimit;
        bytes memory call;
        if (batched) {
            MessageLib.Message[] memory messages = new MessageLib.Message[](1);
            messages[0] = message;
            bytes32 root = MessageLib.leaf(MessageLib.messageId(message));
            (bytes32 r, bytes32 vs) =
                _signCompact(RELAY_KEY, MessageLib.batchDigest(root, uint64(block.chainid), address(gateway)));
            call = abi.encodeCall(gateway.receiveBatch, (messages, new bytes32[](0), new bool[](0), r, vs));
        } else {
            (bytes32 r, bytes32 vs) = _signed(message, RELAY_KEY);
            call = abi.encodeCall(gateway.receiveMessage, (message, r, vs));
        }
        (bool ok,) = address(gateway).call{gas: offered}(call);
        bytes32 id = MessageLib.messageId(message);
        bool undeliverable = (uint256(gasLimit) * 64) / 63 + 1_000 + 200_000 > block.gaslimit;
        if (!ok) {
            require(!gateway.isReceived(1, address(0xCAFE), 4), "a reverted delivery consumed the nonce");
        } else if (probe.received() == 1) {
            require(probe.lastGasAtEntry() + 2_000 >= gasLimit, "receiver got less than its gasLimit");
        } else {
            require(undeliverable, "a deliverable message was recorded failed without its gas");
            require(gateway.failedState(id) == ITargetGateway.FailedState.Failed, "undeliverable not recorded");
        }
    }

    /// @notice While paused, no signed rotation lands, whoever submits it; after unpausing the same one does.
    function testFuzz_noRotationWhilePaused(uint256 newKey) external {
        newKey = _bound(newKey, 1, SECP256K1_N - 1);
        VM.assume(newKey != RELAY_KEY);
        address newRelay = VM.addr(newKey);
        uint256 deadline = block.timestamp + 1 days;
        bytes memory signature = _sign(
            RELAY_KEY, MessageLib.relayRotationDigest(newRelay, 0, deadline, block.chainid, address(gateway))
        );
        gateway.pause();
        VM.expectRevert(abi.encodeWithSelector(ITargetGateway.EnforcedPause.selector));
        gateway.rotateRelay(newRelay, deadline, signature);
        require(gateway.relay() == VM.addr(RELAY_KEY), "rotated while paused");
        gateway.unpause();
        gateway.rotateRelay(newRelay, deadline, signature);
        require(gateway.relay() == newRelay, "not rotated");
    }
}
