// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IMessageReceiver} from "../../contracts/interfaces/IMessageReceiver.sol";
import {MessageLib} from "../../contracts/gateway/MessageLib.sol";

/// @title MultisigGateway (benchmark baseline, not a product contract)
/// @notice The classic bridge verifier: k-of-n ECDSA signatures checked against an on-chain signer whitelist.
///         Hashing, replay bitmap and receiver call are the same as TargetGateway's, so a gas comparison
///         isolates the cost of verification. No pause, no failure store: it favours the baseline.
contract MultisigGateway {
    uint256 private constant CALL_RESERVE = 5_000;

    mapping(address signer => bool) public isSigner;
    uint256 public immutable THRESHOLD;
    bytes32 private immutable DOMAIN_SEPARATOR;
    mapping(bytes32 channelWord => uint256 bits) private _received;

    error WrongDestinationChain(uint64 dstChainId);
    error WrongSignatureCount(uint256 count);
    error SignersNotAscending();
    error NotASigner(address signer);
    error AlreadyReceived(bytes32 messageId);
    error InsufficientGas();
    error ReceiverFailed();

    /// @param signers Whitelisted signer addresses.
    /// @param threshold Signatures needed per message.
    constructor(address[] memory signers, uint256 threshold) {
        for (uint256 i = 0; i < signers.length; ++i) {
            isSigner[signers[i]] = true;
        }
        THRESHOLD = threshold;
        DOMAIN_SEPARATOR = MessageLib.domainSeparator(block.chainid, address(this));
    }

    /// @notice Deliver a message signed by THRESHOLD whitelisted signers, ordered by ascending address.
    function receiveMessage(MessageLib.Message calldata message, bytes calldata signatures) external {
        if (message.dstChainId != block.chainid) revert WrongDestinationChain(message.dstChainId);
        bytes32 id = MessageLib.messageIdCalldata(message);
        bytes32 digest = MessageHashUtils.toTypedDataHash(DOMAIN_SEPARATOR, id);
        if (signatures.length != THRESHOLD * 65) revert WrongSignatureCount(signatures.length / 65);
        address last = address(0);
        for (uint256 i = 0; i < THRESHOLD; ++i) {
            address signer = ECDSA.recoverCalldata(digest, signatures[i * 65:(i + 1) * 65]);
            if (signer <= last) revert SignersNotAscending();
            if (!isSigner[signer]) revert NotASigner(signer);
            last = signer;
        }
        bytes32 word = keccak256(abi.encode(message.srcChainId, message.srcGateway, message.nonce >> 8));
        uint256 bit = 1 << (message.nonce & 0xff);
        uint256 bits = _received[word];
        if (bits & bit != 0) revert AlreadyReceived(id);
        _received[word] = bits | bit;
        if (gasleft() < (uint256(message.gasLimit) * 64) / 63 + CALL_RESERVE) revert InsufficientGas();
        if (message.receiver.code.length == 0) revert ReceiverFailed();
        IMessageReceiver(message.receiver).onMessage{gas: message.gasLimit}(
            message.srcChainId, message.sender, message.payload
        );
    }
}
