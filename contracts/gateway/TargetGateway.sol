// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IMessageReceiver} from "../interfaces/IMessageReceiver.sol";
import {ITargetGateway} from "../interfaces/ITargetGateway.sol";
import {GuardianRole} from "./GuardianRole.sol";
import {MessageLib} from "./MessageLib.sol";

/// @title TargetGateway
/// @notice Delivers messages attested by ONE relay address: the secp256k1 key the MPC network holds by
///         threshold ECDSA. There is no relayer whitelist and no signer list: anyone may submit, and the cost
///         of verification does not depend on the committee size.
/// @dev Exactly-once delivery: every (srcChainId, srcGateway, nonce) is marked received in a bitmap before
///      the receiver runs; a reverting receiver leaves the message in the Failed state, from which it can be
///      retried (anyone, at least its gasLimit) until it succeeds, or abandoned by its receiver. A submitter
///      cannot starve the receiver, neither on first delivery nor on retry: the call needs gas for the full
///      gasLimit to be forwarded, else the whole call reverts and nothing is consumed. A gasLimit that even a
///      whole block could not forward (see _undeliverable) is recorded as failed at once, so the message is not
///      stranded: its receiver can abandon it, or it is retried should the chain's block gas limit grow.
///
///      Relay rotation: the current relay signs RelayRotation(newRelay, nonce, deadline); rotations are at
///      least MIN_ROTATION_DELAY apart and the previous relay stays valid for RETENTION_WINDOW
///      (<= MIN_ROTATION_DELAY, so at most one previous key is live) to let in-flight attestations land.
///      No signed rotation goes through while paused. Roles (GuardianRole): the owner (governance, a timelock)
///      sets the relay (initial setup after keyGen, replacement) and unpauses; the guardian pauses, or revokes
///      the relay, at once. The relay's holders must never sign two rotations naming different new relays for
///      one nonce: RelayStaking slashes that (proveConflictingRotations).
///
///      Pause: same events and errors as OpenZeppelin's Pausable, but the flag shares the relay's storage slot,
///      because every delivery reads both and a separate cold slot would cost each message 2,100 gas.
///      Longer than most files on purpose: the assembly hot path and the plain path it falls back to must be read
///      side by side, and splitting them into a library would cost every delivery its call overhead.
contract TargetGateway is ITargetGateway, GuardianRole {
    /// @dev Gas kept back between the gas check and the CALL opcode (a few stack operations and the CALL's
    ///      warm-account cost), so the callee always gets its full gasLimit.
    uint256 private constant CALL_RESERVE = 1_000;
    /// @dev Gas a delivery transaction spends besides the receiver's call (intrinsic cost, calldata, checks): a
    ///      gasLimit whose required gas plus this exceeds the block gas limit cannot be delivered by anyone.
    uint256 private constant UNDELIVERABLE_MARGIN = 200_000;
    /// @dev How a delivery that did not succeed ended (_recordFailure).
    uint256 private constant NOT_CALLED = 0;
    uint256 private constant REVERTED = 1;
    uint256 private constant UNDELIVERABLE = 2;
    /// @dev Longest revert reason copied into MessageFailed, so a receiver cannot bloat the event.
    uint256 private constant MAX_REASON_BYTES = 256;
    /// @dev Largest s of a non-malleable signature: half the secp256k1 group order, as in OpenZeppelin's ECDSA.
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    /// @dev Where the standard ABI encoding of receiveMessage(message, r, vs) puts the message (after the
    ///      selector, its head offset, r and vs) and its payload's length word (after the message's 8 head words).
    uint256 private constant MESSAGE_AT = 0x64;
    uint256 private constant PAYLOAD_AT = 0x164;
    /// @dev The low 255 bits of an EIP-2098 `vs` word: s (the top bit is v - 27).
    uint256 private constant S_MASK = 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff;
    /// @dev Position of RelaySlot.paused in its storage word (after the 20-byte relay and 8-byte timestamp).
    uint256 private constant PAUSED_BIT = 224;
    /// @dev The relay: the low 160 bits of the RelaySlot word.
    uint256 private constant ADDRESS_MASK = 0x00ffffffffffffffffffffffffffffffffffffffff;

    /// @notice Minimum time between two signed relay rotations.
    uint64 public immutable MIN_ROTATION_DELAY;
    /// @notice How long the previous relay key stays valid after a signed rotation.
    uint64 public immutable RETENTION_WINDOW;

    uint256 private immutable CACHED_CHAIN_ID;
    bytes32 private immutable CACHED_DOMAIN_SEPARATOR;

    /// @dev One slot, read once per delivery (receiveMessage reads it as a raw word: ADDRESS_MASK, PAUSED_BIT).
    struct RelaySlot {
        address relay;
        uint64 lastRotationAt;
        bool paused;
    }

    RelaySlot private _current;
    // One slot: read only when the signer is not the current relay.
    address private _previousRelay;
    uint64 private _previousRelayExpiresAt;

    /// @notice Nonce the next RelayRotation signature must carry.
    uint256 public rotationNonce;

    // Replay bitmaps live at raw slots, see _bitmapSlot.
    mapping(bytes32 messageId => FailedState) private _failed;

    /// @param initialOwner Owner (a timelock in production).
    /// @param initialRelay Relay address, or zero to set it after keyGen with setRelay.
    /// @param minRotationDelay_ Minimum seconds between signed rotations.
    /// @param retentionWindow_ Seconds the previous relay stays valid after a signed rotation.
    constructor(address initialOwner, address initialRelay, uint64 minRotationDelay_, uint64 retentionWindow_)
        Ownable(initialOwner)
    {
        if (retentionWindow_ > minRotationDelay_) revert InvalidConfig();
        MIN_ROTATION_DELAY = minRotationDelay_;
        RETENTION_WINDOW = retentionWindow_;
        CACHED_CHAIN_ID = block.chainid;
        CACHED_DOMAIN_SEPARATOR = MessageLib.domainSeparator(block.chainid, address(this));
        if (initialRelay != address(0)) {
            _current.relay = initialRelay;
            emit RelayChanged(address(0), initialRelay, 0);
        }
    }

    /// @inheritdoc ITargetGateway
    /// @dev The hot path. It handles the usual case only: the standard ABI encoding (the message right after
    ///      the two head offsets, at MESSAGE_AT, its payload right after its head), not paused, this chain, a
    ///      low-s signature by the current relay, a nonce not yet received. All of these are
    ///      computed first and tested in one branch; anything else is handed to _receivePlain, the same
    ///      delivery written plainly (Solidity decoding, OpenZeppelin ECDSA), which reverts with the precise
    ///      error or delivers (e.g. a message signed by the previous relay within its retention window).
    ///      The message is not decoded: its seven static words are hashed exactly as they lie in calldata and
    ///      used raw only after the relay's signature over that hash checked out; a word with dirty high bits,
    ///      like any other change, gives a hash the relay never signed (it signs canonical encodings only).
    ///      Memory from the free pointer on (used, never allocated: nothing after needs it): the receiver's
    ///      onMessage calldata, whose payload copy is also what gets hashed, then scratch space for the
    ///      other preimages and the ecrecover input.
    ///      One long function on purpose: every private call on this path costs about 50 gas in stack shuffling.
    // solhint-disable-next-line function-max-lines
    function receiveMessage(MessageLib.Message calldata message, bytes32 r, bytes32 vs) external {
        uint256 payloadLength;
        {
            bool standard;
            assembly ("memory-safe") {
                // Standard layout, and the payload inside calldata (its length bounded first so the sum cannot wrap).
                payloadLength := calldataload(PAYLOAD_AT)
                standard := and(
                    and(eq(message, MESSAGE_AT), eq(calldataload(add(MESSAGE_AT, 0xe0)), sub(PAYLOAD_AT, MESSAGE_AT))),
                    and(
                        lt(payloadLength, 0x100000000),
                        iszero(gt(add(add(PAYLOAD_AT, 0x20), payloadLength), calldatasize()))
                    )
                )
            }
            if (!standard) return _receivePlain(message, r, vs);
        }

        uint256 callData;
        uint256 callSize;
        bytes32 id;
        {
            bytes32 typeHash = MessageLib.MESSAGE_TYPEHASH;
            bytes4 onMessage = IMessageReceiver.onMessage.selector;
            assembly ("memory-safe") {
                // abi.encodeCall(IMessageReceiver.onMessage, (srcChainId, sender, payload)).
                callData := mload(0x40)
                mstore(callData, onMessage)
                mstore(add(callData, 0x04), calldataload(add(MESSAGE_AT, 0x20))) // srcChainId
                mstore(add(callData, 0x24), calldataload(add(MESSAGE_AT, 0x60))) // sender
                mstore(add(callData, 0x44), 0x60)
                mstore(add(callData, 0x64), payloadLength)
                let payloadCopy := add(callData, 0x84)
                mstore(add(payloadCopy, and(payloadLength, not(0x1f))), 0) // zero the last word's padding
                calldatacopy(payloadCopy, add(PAYLOAD_AT, 0x20), payloadLength)
                callSize := add(0x84, and(add(payloadLength, 0x1f), not(0x1f)))

                // messageId = keccak256(abi.encode(MESSAGE_TYPEHASH, <the seven static words>, keccak256(payload))).
                let scratch := add(callData, callSize)
                mstore(scratch, typeHash)
                calldatacopy(add(scratch, 0x20), MESSAGE_AT, 0xe0)
                mstore(add(scratch, 0x100), keccak256(payloadCopy, payloadLength))
                id := keccak256(scratch, 0x120)
            }
        }

        bool usual;
        {
            // After a fork to another chain id the cached separator is stale: such a chain is unusual.
            bytes32 separator = CACHED_DOMAIN_SEPARATOR;
            uint256 cachedChainId = CACHED_CHAIN_ID;
            assembly ("memory-safe") {
                // ecrecover(keccak256("\x19\x01" || domainSeparator || messageId), v, r, s) with v = 27 + the top
                // bit of vs and s = its other 255 bits (EIP-2098). The precompile returns nothing (signer stays
                // zero) for an r or s out of range.
                let scratch := add(callData, callSize)
                let s := and(vs, S_MASK)
                mstore(scratch, 0x1901)
                mstore(add(scratch, 0x20), separator)
                mstore(add(scratch, 0x40), id)
                mstore(scratch, keccak256(add(scratch, 0x1e), 0x42))
                mstore(add(scratch, 0x20), add(27, shr(255, vs)))
                mstore(add(scratch, 0x40), r)
                mstore(add(scratch, 0x60), s)
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, scratch, 0x80, 0x00, 0x20))
                let signer := mload(0x00)

                // The usual case: not paused and signed by the current relay (one cold read: RelaySlot packs
                // the flag with the relay), s in the lower half of the order (no malleable twin; OpenZeppelin
                // ECDSA's rules), this chain. The signer must not be zero: that is both a failed recovery and
                // the relay before setRelay.
                let relaySlot := sload(_current.slot)
                usual := and(
                    and(
                        and(iszero(shr(PAUSED_BIT, relaySlot)), eq(signer, and(relaySlot, ADDRESS_MASK))),
                        iszero(iszero(signer))
                    ),
                    and(
                        iszero(gt(s, HALF_ORDER)),
                        and(eq(calldataload(add(MESSAGE_AT, 0x80)), chainid()), eq(chainid(), cachedChainId))
                    )
                )
            }
        }
        {
            uint256 bitmapSlot;
            uint256 bitmap;
            assembly ("memory-safe") {
                // Replay bitmap: the nonce's bit in the word at keccak256(abi.encode(srcChainId, srcGateway,
                // nonce >> 8)) (see _bitmapSlot). Read here, written once every check passed. Usual: not yet set.
                let scratch := add(callData, callSize)
                let nonce := calldataload(MESSAGE_AT)
                calldatacopy(scratch, add(MESSAGE_AT, 0x20), 0x40) // srcChainId, srcGateway
                mstore(add(scratch, 0x40), shr(8, nonce))
                bitmapSlot := keccak256(scratch, 0x60)
                let bit := shl(and(nonce, 0xff), 1)
                bitmap := sload(bitmapSlot)
                usual := and(usual, iszero(and(bitmap, bit)))
                bitmap := or(bitmap, bit)
            }
            if (!usual) return _receivePlain(message, r, vs);

            bytes4 insufficientGas = InsufficientGas.selector;
            bytes32 delivered = MessageDelivered.selector;
            uint256 outcome = NOT_CALLED;
            assembly ("memory-safe") {
                sstore(bitmapSlot, bitmap)
                // First delivery: the receiver gets exactly gasLimit (see _deliver; gasLimit < 2^64 once signed).
                let receiver := calldataload(add(MESSAGE_AT, 0xa0))
                if extcodesize(receiver) {
                    let gasLimit := calldataload(add(MESSAGE_AT, 0xc0))
                    let required := add(div(mul(gasLimit, 64), 63), CALL_RESERVE)
                    switch lt(gas(), required)
                    case 0 {
                        // Delivered: emit MessageDelivered(id) and end the call here, without unwinding
                        // Solidity's stack.
                        if call(gasLimit, receiver, 0, callData, callSize, 0, 0) {
                            log2(0, 0, delivered, id)
                            return(0, 0)
                        }
                        outcome := REVERTED
                    }
                    default {
                        // Too little gas: the whole call reverts, unless no transaction could carry it
                        // (_undeliverable); then the receiver is not called and the message is kept as failed.
                        if iszero(gt(add(required, UNDELIVERABLE_MARGIN), gaslimit())) {
                            mstore(0x00, insufficientGas)
                            mstore(0x04, required)
                            mstore(0x24, gas())
                            revert(0x00, 0x44)
                        }
                        outcome := UNDELIVERABLE
                    }
                }
            }
            _recordFailure(id, message.srcChainId, message.receiver, outcome);
        }
    }

    /// @inheritdoc ITargetGateway
    /// @dev Messages already received (e.g. delivered singly by someone else) are skipped, so one front-run
    ///      message cannot block the rest of the batch.
    function receiveBatch(
        MessageLib.Message[] calldata messages,
        bytes32[] calldata proof,
        bool[] calldata proofFlags,
        bytes32 r,
        bytes32 vs
    ) external {
        address currentRelay = _activeRelay();
        uint256 count = messages.length;
        if (count == 0) revert EmptyBatch();
        bytes32[] memory ids = new bytes32[](count);
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            if (messages[i].dstChainId != block.chainid) revert WrongDestinationChain(messages[i].dstChainId);
            ids[i] = MessageLib.messageIdCalldata(messages[i]);
            leaves[i] = MessageLib.leaf(ids[i]);
        }
        bytes32 root = MerkleProof.processMultiProofCalldata(proof, proofFlags, leaves);
        bytes32 batchHash = keccak256(abi.encode(MessageLib.BATCH_TYPEHASH, root));
        _checkRelaySignature(MessageHashUtils.toTypedDataHash(domainSeparator(), batchHash), r, vs, currentRelay);
        for (uint256 i = 0; i < count; ++i) {
            if (_markReceived(messages[i])) _deliver(messages[i], ids[i]);
        }
    }

    /// @inheritdoc ITargetGateway
    /// @dev The receiver gets all gas the caller supplies, and at least the message's gasLimit: the same check as
    ///      first delivery, right before the CALL, so a squeezed retry cannot run a "catch and continue" receiver
    ///      with its inner action starved. If the receiver reverts again the whole call reverts and the message
    ///      stays Failed, so a failed retry costs the retrier only.
    function retryMessage(MessageLib.Message calldata message) external {
        if (_current.paused) revert EnforcedPause();
        bytes32 id = MessageLib.messageIdCalldata(message);
        if (_failed[id] != FailedState.Failed) revert NotFailed(id);
        delete _failed[id];
        address receiver = message.receiver;
        if (receiver.code.length == 0) revert RetryFailed(id, "");
        bytes memory data = _encodeOnMessage(message);
        uint256 required = _requiredGas(message.gasLimit);
        if (gasleft() < required) revert InsufficientGas(required, gasleft());
        if (!_call(receiver, gasleft(), data)) revert RetryFailed(id, _revertReason());
        emit MessageDelivered(id);
    }

    /// @inheritdoc ITargetGateway
    function abandonMessage(MessageLib.Message calldata message) external {
        bytes32 id = MessageLib.messageIdCalldata(message);
        if (_failed[id] != FailedState.Failed) revert NotFailed(id);
        if (msg.sender != message.receiver) revert NotReceiver(msg.sender, message.receiver);
        _failed[id] = FailedState.Abandoned;
        emit MessageAbandoned(id, message.receiver);
    }

    /// @inheritdoc ITargetGateway
    function rotateRelay(address newRelay, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert RotationExpired(deadline);
        RelaySlot memory slot = _current;
        if (slot.paused) revert EnforcedPause();
        address current = slot.relay;
        if (newRelay == address(0) || newRelay == current) revert InvalidRelay(newRelay);
        uint256 earliest = uint256(slot.lastRotationAt) + MIN_ROTATION_DELAY;
        if (block.timestamp < earliest) revert RotationTooSoon(earliest);
        uint256 nonce = rotationNonce;
        bytes32 digest = MessageLib.relayRotationDigest(newRelay, nonce, deadline, block.chainid, address(this));
        address signer = ECDSA.recoverCalldata(digest, signature);
        if (signer != current) revert InvalidSignature(signer);

        rotationNonce = nonce + 1;
        uint64 expiresAt = uint64(block.timestamp) + RETENTION_WINDOW;
        _previousRelay = current;
        _previousRelayExpiresAt = expiresAt;
        _current = RelaySlot({relay: newRelay, lastRotationAt: uint64(block.timestamp), paused: false});
        emit RelayChanged(current, newRelay, expiresAt);
    }

    /// @inheritdoc ITargetGateway
    function setRelay(address newRelay) external onlyOwner {
        if (newRelay == address(0)) revert InvalidRelay(newRelay);
        address current = _current.relay;
        ++rotationNonce;
        delete _previousRelay;
        delete _previousRelayExpiresAt;
        _current.relay = newRelay;
        emit RelayChanged(current, newRelay, 0);
    }

    /// @inheritdoc ITargetGateway
    function revokeRelay() external onlyGuardian {
        address current = _current.relay;
        ++rotationNonce;
        delete _previousRelay;
        delete _previousRelayExpiresAt;
        _current.relay = address(0);
        emit RelayChanged(current, address(0), 0);
    }

    /// @notice Stop deliveries, retries and signed rotations (emergency; guardian or owner). Abandoning stays possible.
    function pause() external onlyGuardian {
        if (_current.paused) revert EnforcedPause();
        _current.paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Resume deliveries, retries and rotations (governance only).
    function unpause() external onlyOwner {
        if (!_current.paused) revert ExpectedPause();
        _current.paused = false;
        emit Unpaused(msg.sender);
    }

    /// @inheritdoc ITargetGateway
    function paused() external view returns (bool) {
        return _current.paused;
    }

    /// @inheritdoc ITargetGateway
    function relay() external view returns (address) {
        return _current.relay;
    }

    /// @notice The previous relay and the time from which it is no longer accepted (both zero if none).
    function previousRelay() external view returns (address relayAddress, uint64 expiresAt) {
        return (_previousRelay, _previousRelayExpiresAt);
    }

    /// @notice Time of the last signed rotation (0 if none).
    function lastRotationAt() external view returns (uint64) {
        return _current.lastRotationAt;
    }

    /// @inheritdoc ITargetGateway
    function isRelay(address signer) external view returns (bool) {
        return _isRelay(signer, _current.relay);
    }

    /// @inheritdoc ITargetGateway
    function isReceived(uint64 srcChainId, address srcGateway, uint64 nonce) public view returns (bool) {
        return _loadBitmap(_bitmapSlot(srcChainId, srcGateway, nonce)) & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc ITargetGateway
    function failedState(bytes32 messageId) external view returns (FailedState) {
        return _failed[messageId];
    }

    /// @notice EIP-712 domain separator of this gateway on the current chain.
    function domainSeparator() public view returns (bytes32) {
        if (block.chainid == CACHED_CHAIN_ID) return CACHED_DOMAIN_SEPARATOR;
        return MessageLib.domainSeparator(block.chainid, address(this));
    }

    /// @dev The current relay, reverting while paused (deliveries and retries stop; rotation does not).
    function _activeRelay() private view returns (address) {
        RelaySlot memory slot = _current;
        if (slot.paused) revert EnforcedPause();
        return slot.relay;
    }

    function _isRelay(address signer, address currentRelay) private view returns (bool) {
        if (signer == address(0)) return false;
        return signer == currentRelay || _isPreviousRelay(signer);
    }

    /// @dev receiveMessage written plainly, for what its hot path does not handle: the checks in the order
    ///      and with the errors of receiveBatch, the domain separator of the current chain id.
    function _receivePlain(MessageLib.Message calldata message, bytes32 r, bytes32 vs) private {
        address currentRelay = _activeRelay();
        if (message.dstChainId != block.chainid) revert WrongDestinationChain(message.dstChainId);
        bytes32 id = MessageLib.messageIdCalldata(message);
        _checkRelaySignature(MessageHashUtils.toTypedDataHash(domainSeparator(), id), r, vs, currentRelay);
        if (!_markReceived(message)) revert AlreadyReceived(id);
        _deliver(message, id);
    }

    /// @dev The previous relay within its retention window. Its slot is cold: read only when the signer is not
    ///      the current relay.
    function _isPreviousRelay(address signer) private view returns (bool) {
        return signer == _previousRelay && block.timestamp < _previousRelayExpiresAt;
    }

    /// @dev An EIP-2098 compact signature (r, vs): recover rejects high-s (malleable) signatures and never
    ///      returns address(0).
    function _checkRelaySignature(bytes32 digest, bytes32 r, bytes32 vs, address currentRelay) private view {
        address signer = ECDSA.recover(digest, r, vs);
        if (!_isRelay(signer, currentRelay)) revert InvalidSignature(signer);
    }

    /// @dev Sets the received bit of the message's nonce; false if it was already set.
    function _markReceived(MessageLib.Message calldata message) private returns (bool) {
        uint64 nonce = message.nonce;
        uint256 slot = _bitmapSlot(message.srcChainId, message.srcGateway, nonce);
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _loadBitmap(slot);
        if (bits & bit != 0) return false;
        assembly ("memory-safe") {
            sstore(slot, or(bits, bit))
        }
        return true;
    }

    /// @dev First delivery: the receiver gets exactly message.gasLimit. The gas check sits right before the
    ///      CALL (after the receiver's account is loaded and the calldata is built, whose cost grows with the
    ///      payload), so no submitter can hand the receiver less and have its failure recorded.
    ///      A receiver without code fails, so a message to a not-yet-deployed contract can be retried later.
    function _deliver(MessageLib.Message calldata message, bytes32 id) private {
        address receiver = message.receiver;
        uint256 outcome = NOT_CALLED;
        if (receiver.code.length != 0) {
            bytes memory data = _encodeOnMessage(message);
            uint256 gasLimit = message.gasLimit;
            uint256 required = _requiredGas(gasLimit);
            if (gasleft() < required) {
                if (!_undeliverable(required)) revert InsufficientGas(required, gasleft());
                outcome = UNDELIVERABLE;
            } else if (_call(receiver, gasLimit, data)) {
                emit MessageDelivered(id);
                return;
            } else {
                outcome = REVERTED;
            }
        }
        _recordFailure(id, message.srcChainId, receiver, outcome);
    }

    /// @dev Gas needed at the CALL for the callee to get `gasLimit` (EIP-150 keeps back 1/64).
    function _requiredGas(uint256 gasLimit) private pure returns (uint256) {
        return (gasLimit * 64) / 63 + CALL_RESERVE;
    }

    /// @dev True when no transaction could reach the CALL with `required` gas: it would not fit in a block with
    ///      the delivery's own cost (UNDELIVERABLE_MARGIN). receiveMessage's hot path inlines the same test.
    function _undeliverable(uint256 required) private view returns (bool) {
        return required + UNDELIVERABLE_MARGIN > block.gaslimit;
    }

    /// @dev Keep the message for retryMessage: the receiver reverted, has no code, or its gasLimit is undeliverable
    ///      (the reason is then GasLimitAboveBlock, so the relayer and the receiver see why).
    function _recordFailure(bytes32 id, uint64 srcChainId, address receiver, uint256 outcome) private {
        _failed[id] = FailedState.Failed;
        bytes memory reason;
        if (outcome == REVERTED) reason = _revertReason();
        else if (outcome == UNDELIVERABLE) reason = abi.encodeWithSelector(GasLimitAboveBlock.selector, block.gaslimit);
        emit MessageFailed(id, srcChainId, receiver, reason);
    }

    /// @dev abi.encodeCall(IMessageReceiver.onMessage, (srcChainId, sender, payload)), the payload copied
    ///      straight from calldata.
    function _encodeOnMessage(MessageLib.Message calldata message) private pure returns (bytes memory data) {
        uint64 srcChainId = message.srcChainId;
        address sender = message.sender;
        bytes calldata payload = message.payload;
        bytes4 selector = IMessageReceiver.onMessage.selector;
        assembly ("memory-safe") {
            data := mload(0x40)
            let padded := and(add(payload.length, 0x1f), not(0x1f))
            let size := add(0x84, padded)
            mstore(data, size)
            mstore(add(data, 0x20), selector)
            mstore(add(data, 0x24), srcChainId)
            mstore(add(data, 0x44), sender)
            mstore(add(data, 0x64), 0x60)
            mstore(add(data, 0x84), payload.length)
            mstore(add(add(data, 0x84), padded), 0)
            calldatacopy(add(data, 0xa4), payload.offset, payload.length)
            mstore(0x40, add(add(data, 0x20), size))
        }
    }

    /// @dev CALL without copying return data (no return-data bomb); see _revertReason.
    function _call(address receiver, uint256 gasToForward, bytes memory data) private returns (bool ok) {
        assembly ("memory-safe") {
            ok := call(gasToForward, receiver, 0, add(data, 0x20), mload(data), 0, 0)
        }
    }

    /// @dev The last call's revert data, cut to MAX_REASON_BYTES so a receiver cannot bloat events or errors.
    function _revertReason() private pure returns (bytes memory reason) {
        uint256 size;
        assembly ("memory-safe") {
            size := returndatasize()
        }
        if (size > MAX_REASON_BYTES) size = MAX_REASON_BYTES;
        reason = new bytes(size);
        assembly ("memory-safe") {
            returndatacopy(add(reason, 0x20), 0, size)
        }
    }

    /// @dev Storage slot of the received bits of nonces [nonce & ~0xff, nonce | 0xff] of a channel:
    ///      keccak256(abi.encode(srcChainId, srcGateway, nonce >> 8)) itself, one hash instead of a mapping's
    ///      two. A 96-byte preimage cannot give a slot Solidity derives (from 32- or 64-byte preimages).
    function _bitmapSlot(uint64 srcChainId, address srcGateway, uint64 nonce) private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, srcChainId)
            mstore(add(ptr, 0x20), srcGateway)
            mstore(add(ptr, 0x40), shr(8, nonce))
            slot := keccak256(ptr, 0x60)
        }
    }

    /// @dev The received bits stored at a _bitmapSlot.
    function _loadBitmap(uint256 slot) private view returns (uint256 bits) {
        assembly ("memory-safe") {
            bits := sload(slot)
        }
    }
}
