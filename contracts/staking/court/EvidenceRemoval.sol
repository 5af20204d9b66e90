// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MajorityApproval} from "./MajorityApproval.sol";

// `<=` / `>=` state the rules as written.
// solhint-disable gas-strict-inequalities

/// @title EvidenceRemoval
/// @notice Removes a node for good for a protocol fault its own signed messages prove.
/// @dev Nodes sign every protocol message's header (its envelope: session, key, protocol, round, sender,
///      recipient; ending in the SHA-256 of its payload) as EIP-712 `ProtocolMessage(keccak256(header))` under
///      RelayStaking's domain. Two routes, by what a contract can check:
///      - equivocation (removeForEquivocation): two headers with the same envelope and different payload hashes,
///        both signed by the node. Checked completely here, so anyone may submit it and it takes effect at once.
///        It relies on what the nodes guarantee: an honest node never signs two messages for one slot (session
///        ids are fresh for every participant, relayer/node).
///      - a fault only the protocol can judge (a Feldman share that fails its commitments, a commitment not
///        opened: packages/mpc/src/evidence.ts): members holding a MajorityApproval propose it with the evidence, whose
///        authorship is checked here (proposeRemoval). It waits challengePeriod for the accused: undisputed,
///        anyone executes it; disputed, governance re-runs the check off chain and upholds or dismisses it
///        (dismissed evidence can never be proposed again). Meanwhile the accused's stake cannot leave.
///      Removal (CourtActions.removeNode) slashes removalSlashBps to the treasury, so no member earns from it.
abstract contract EvidenceRemoval is MajorityApproval {
    /// @notice Most protocol messages one removal may cite; bounds the signature checks.
    uint256 public constant MAX_EVIDENCE_MESSAGES = 8;

    // EIP-712 type strings are longer than 32 bytes by nature; they are hashed at compile time.
    // solhint-disable gas-small-strings
    /// @notice EIP-712 type members sign to propose removing a misbehaving member.
    bytes32 public constant REMOVAL_TYPEHASH = keccak256("Removal(uint64 epoch,address node,bytes32 evidenceHash)");
    /// @notice EIP-712 type under which operators sign every protocol message header they send.
    bytes32 public constant PROTOCOL_MESSAGE_TYPEHASH = keccak256("ProtocolMessage(bytes32 contentHash)");
    // solhint-enable gas-small-strings

    /// @notice Removals waiting for their challenge period or governance's decision, by accused operator.
    mapping(address operator => PendingRemoval) public pendingRemoval;
    /// @notice Evidence governance dismissed after a dispute.
    mapping(bytes32 evidenceHash => bool) public dismissedEvidence;

    /// @notice Removes `offender` at once on proof that it signed two different messages for one protocol slot:
    ///         two headers with the same envelope and different payload hashes. Callable by anyone.
    /// @param offender The node's operator address.
    /// @param first A signed message header.
    /// @param second Another header with the same envelope and a different payload hash.
    /// @param firstSignature The offender's `ProtocolMessage` signature of `first`.
    /// @param secondSignature The offender's `ProtocolMessage` signature of `second`.
    function removeForEquivocation(
        address offender,
        bytes calldata first,
        bytes calldata second,
        bytes calldata firstSignature,
        bytes calldata secondSignature
    ) external {
        uint256 length = first.length;
        if (
            length <= 32 || second.length != length
                || keccak256(first[:length - 32]) != keccak256(second[:length - 32])
                || bytes32(first[length - 32:]) == bytes32(second[length - 32:])
        ) revert NotEquivocation();
        bytes32 firstHash = keccak256(first);
        bytes32 secondHash = keccak256(second);
        if (_recover(_messageDigest(firstHash), firstSignature) != offender) revert InvalidEvidenceSignature(0);
        if (_recover(_messageDigest(secondHash), secondSignature) != offender) revert InvalidEvidenceSignature(1);
        (,, uint64 lastEpoch) = STAKING.nodeStatus(offender);
        _remove(offender, lastEpoch, keccak256(abi.encodePacked(firstHash, secondHash)));
    }

    /// @notice Members propose removing a member for a fault `evidence` shows (e.g. a Feldman commitment
    ///         broadcast and the share sent privately that fails it). Checks the offender signed every message
    ///         and that the signers meet MajorityApproval; the removal then waits challengePeriod for the accused's
    ///         dispute. Callable by anyone holding the signatures.
    /// @param proposal A current epoch, the offender (an active member) and `evidenceHash(evidence.messages)`.
    /// @param evidence The offender's message headers (1 to MAX_EVIDENCE_MESSAGES, in the order the evidence
    ///        hash commits to), their payloads, and the offender's `ProtocolMessage` signature of each header.
    /// @param signatures Members' `Removal` signatures, ordered by strictly increasing signer address.
    function proposeRemoval(RemovalProposal calldata proposal, Evidence calldata evidence, bytes[] calldata signatures)
        external
    {
        uint64 epoch = proposal.epoch;
        address offender = proposal.node;
        bytes32 evidenceHash_ = proposal.evidenceHash;
        _requireCurrent(epoch);
        _requireActiveMember(epoch, offender);
        if (pendingRemoval[offender].deadline != 0) revert RemovalPending(offender);
        if (dismissedEvidence[evidenceHash_]) revert EvidenceDismissed(evidenceHash_);
        _checkEvidence(offender, evidenceHash_, evidence);
        _requireQuorum(
            epoch, offender, keccak256(abi.encode(REMOVAL_TYPEHASH, epoch, offender, evidenceHash_)), signatures
        );
        uint64 deadline = uint64(block.timestamp) + STAKING.params().challengePeriod;
        pendingRemoval[offender] =
            PendingRemoval({epoch: epoch, deadline: deadline, disputed: false, evidenceHash: evidenceHash_});
        STAKING.setRemovalPending(offender, true);
        emit RemovalProposed(epoch, offender, evidenceHash_, deadline);
    }

    /// @notice The accused (its operator or staker) disputes its pending removal within the challenge period;
    ///         governance then decides.
    /// @param operator The accused node.
    function disputeRemoval(address operator) external {
        PendingRemoval storage pending = _pending(operator);
        (address staker,,) = STAKING.nodeStatus(operator);
        if (msg.sender != operator && msg.sender != staker) revert NotAccused(msg.sender, operator);
        if (pending.disputed) revert RemovalIsDisputed(operator);
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp >= pending.deadline) revert ChallengeOver(pending.deadline);
        pending.disputed = true;
        emit RemovalDisputed(operator, msg.sender);
    }

    /// @notice Executes an undisputed removal once its challenge period is over. Callable by anyone.
    /// @param operator The accused node.
    function executeRemoval(address operator) external {
        PendingRemoval storage pending = _pending(operator);
        if (pending.disputed) revert RemovalIsDisputed(operator);
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp < pending.deadline) revert ChallengeRunning(pending.deadline);
        _remove(operator, pending.epoch, pending.evidenceHash);
    }

    /// @notice Governance decides a disputed removal after checking its evidence (packages/mpc/src/evidence.ts).
    /// @param operator The accused node.
    /// @param upheld True removes the node; false dismisses the evidence for good.
    function resolveRemoval(address operator, bool upheld) external onlyGovernance {
        PendingRemoval storage pending = _pending(operator);
        if (!pending.disputed) revert RemovalNotDisputed(operator);
        if (upheld) {
            _remove(operator, pending.epoch, pending.evidenceHash);
        } else {
            bytes32 dismissed = pending.evidenceHash;
            dismissedEvidence[dismissed] = true;
            delete pendingRemoval[operator];
            STAKING.setRemovalPending(operator, false);
            emit RemovalDismissed(operator, dismissed);
        }
    }

    /// @notice The evidence hash a `Removal` proposal names for these evidence messages: keccak256 of the
    ///         concatenated keccak256 hashes of the messages, in order.
    /// @param evidence 1 to MAX_EVIDENCE_MESSAGES protocol message headers.
    /// @return The evidence hash.
    function evidenceHash(bytes[] calldata evidence) external pure returns (bytes32) {
        (bytes32 hash,) = _hashEvidence(evidence);
        return hash;
    }

    function _pending(address operator) private view returns (PendingRemoval storage pending) {
        pending = pendingRemoval[operator];
        if (pending.deadline == 0) revert NoPendingRemoval(operator);
    }

    function _remove(address offender, uint64 epoch, bytes32 evidenceHash_) private {
        delete pendingRemoval[offender];
        STAKING.removeNode(offender, epoch, evidenceHash_, msg.sender);
    }

    function _messageDigest(bytes32 headerHash) private view returns (bytes32) {
        return _stakingDigest(keccak256(abi.encode(PROTOCOL_MESSAGE_TYPEHASH, headerHash)));
    }

    /// @dev Checks that the evidence messages hash to `expectedHash`, that each payload is the one its header
    ///      commits to, and that `offender`'s operator key signed every header.
    function _checkEvidence(address offender, bytes32 expectedHash, Evidence calldata evidence) private view {
        uint256 count = evidence.messages.length;
        if (evidence.signatures.length != count || evidence.payloads.length != count) revert InvalidEvidence();
        (bytes32 hash, bytes32[] memory contentHashes) = _hashEvidence(evidence.messages);
        if (hash != expectedHash) revert EvidenceMismatch();
        for (uint256 i = 0; i < count; ++i) {
            bytes calldata header = evidence.messages[i];
            if (header.length < 32 || bytes32(header[header.length - 32:]) != sha256(evidence.payloads[i])) {
                revert PayloadMismatch(i);
            }
            if (_recover(_messageDigest(contentHashes[i]), evidence.signatures[i]) != offender) {
                revert InvalidEvidenceSignature(i);
            }
        }
    }

    /// @dev keccak256 of each message and keccak256 of their concatenation; refuses an empty or oversized list.
    function _hashEvidence(bytes[] calldata evidence)
        private
        pure
        returns (bytes32 hash, bytes32[] memory contentHashes)
    {
        uint256 count = evidence.length;
        if (count == 0 || count > MAX_EVIDENCE_MESSAGES) revert InvalidEvidence();
        contentHashes = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            contentHashes[i] = keccak256(evidence[i]);
        }
        hash = keccak256(abi.encodePacked(contentHashes));
    }
}
