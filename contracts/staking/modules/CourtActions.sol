// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Committees} from "./Committees.sol";

/// @title CourtActions
/// @notice What the SlashingCourt (contracts/staking/SlashingCourt.sol), and nobody else, may do to stake and
///         membership once it has decided: slash an absent member, lock an accused member's stake while its
///         removal is challenged, remove a node, slash a relay key's lineage. The amounts come from the parameters
///         here, every slash goes to the treasury but for a forgery prover's bounded reward, and the events of
///         every stake change are logged by this contract.
/// @dev Lineage slashing: every member of every epoch confirmed with the key loses forgerySlashBps of its
///      slashable stake, once per proof. The prover names no epoch, so forgers cannot prove their own forgery
///      against an earlier committee of the same key. Not all of the slash goes to the prover, or a forging
///      committee could win its own stake back: the reward is at most proverRewardBps of it and at most the
///      smallest single member's loss. A forgery needs at least MIN_THRESHOLD (2) key holders, each losing at
///      least that much, so proving one's own forgery always costs more than it pays. A prover that is (the
///      operator or staker of) a slashed member gets nothing.
abstract contract CourtActions is Committees {
    /// @dev What one lineage slash has taken so far.
    struct Tally {
        address prover;
        uint16 bps;
        bool proverSlashed; // the prover is (the operator or staker of) a slashed member
        uint256 slashed;
        uint256 leastLoss; // the smallest single member's loss
        uint256[] done; // bitmap of the node ids slashed
    }

    /// @notice Claims (forged digests, rotation conflicts) already proven.
    mapping(bytes32 claim => bool) public forgeryClaimed;
    /// @notice Nodes whose removal is being challenged: their stake cannot leave meanwhile.
    mapping(address operator => bool) public removalPending;

    modifier onlyCourt() {
        if (msg.sender != court()) revert NotCourt(msg.sender);
        _;
    }

    /// @notice Slashes absenceSlashBps of an absent member's stake to the treasury, for the window the court
    ///         checked and the majority signed.
    /// @param proposal The decided absence.
    /// @param submitter Who submitted the members' signatures.
    /// @return amount The stake taken.
    function slashAbsent(AbsenceProposal calldata proposal, address submitter)
        external
        onlyCourt
        returns (uint256 amount)
    {
        amount = _slash(proposal.node, params.absenceSlashBps);
        if (amount == 0) revert NothingToSlash(proposal.node);
        emit AbsenceSlashed(proposal.epoch, proposal.node, proposal.fromBlock, proposal.toBlock, submitter);
        _credit(treasury, amount);
    }

    /// @notice Locks or unlocks a node's stake while its removal is challenged.
    /// @param operator The accused node.
    /// @param pending Whether a removal is pending.
    function setRemovalPending(address operator, bool pending) external onlyCourt {
        removalPending[operator] = pending;
    }

    /// @notice Removes a node for good: slashes removalSlashBps to the treasury, moves the rest into unbonding
    ///         (locked while its key lineage lives) and takes it out of the current committees' counts.
    /// @param operator The node.
    /// @param epoch The epoch the fault is recorded under.
    /// @param evidenceHash What the evidence hashes to.
    /// @param submitter Who brought the evidence.
    function removeNode(address operator, uint64 epoch, bytes32 evidenceHash, address submitter) external onlyCourt {
        Node storage node = _nodes[operator];
        if (node.staker == address(0)) revert UnknownOperator(operator);
        if (node.removed) revert NodeIsRemoved(operator);
        node.removed = true;
        removalPending[operator] = false;
        uint256 amount = _slash(operator, params.removalSlashBps);
        _unbondAll(operator);
        _dropFromCurrentEpochs(operator);
        emit NodeRemoved(epoch, operator, evidenceHash, submitter);
        _credit(treasury, amount);
    }

    /// @notice Slashes `relay`'s lineage for `claim` and credits `prover`'s reward and the treasury.
    /// @param relay The key that signed what it must not.
    /// @param claim What was proven (the forged digest, or a rotation conflict's key); proven once.
    /// @param messageId The forged message's id (zero for a rotation conflict).
    /// @param prover Who proved it.
    /// @return slashed Total stake taken.
    /// @return reward The prover's share.
    function slashLineage(address relay, bytes32 claim, bytes32 messageId, address prover)
        external
        onlyCourt
        returns (uint256 slashed, uint256 reward)
    {
        uint64[] storage epochs = _lineage[relay];
        uint256 epochCount = epochs.length;
        if (relay == address(0) || epochCount == 0) revert NotARelay(relay);
        if (forgeryClaimed[claim]) revert ForgeryAlreadyClaimed(claim);
        forgeryClaimed[claim] = true;
        Tally memory tally = Tally({
            prover: prover,
            bps: params.forgerySlashBps,
            proverSlashed: false,
            slashed: 0,
            leastLoss: type(uint256).max,
            done: new uint256[]((uint256(nodeCount) >> 8) + 1)
        });
        for (uint256 e = 0; e < epochCount; ++e) {
            address[] storage members = _committees[epochs[e]].members;
            uint256 size = members.length;
            for (uint256 i = 0; i < size; ++i) {
                _slashOnce(tally, members[i]);
            }
        }
        slashed = tally.slashed;
        reward = (slashed * params.proverRewardBps) / BPS;
        if (reward > tally.leastLoss) reward = tally.leastLoss;
        if (tally.proverSlashed) reward = 0;
        emit ForgeryProven(relay, messageId, claim, prover, slashed, reward);
        _credit(prover, reward);
        _credit(treasury, slashed - reward);
    }

    /// @notice The SlashingCourt this contract created; it alone calls the functions above.
    /// @return The court's address.
    function court() public view virtual returns (address);

    /// @inheritdoc Committees
    /// @dev A pending removal locks the accused's stake until it is executed or dismissed.
    function lockedUntil(address operator) public view virtual override returns (uint64) {
        if (removalPending[operator]) return LOCKED;
        return super.lockedUntil(operator);
    }

    /// @dev Slashes `member` unless already done in this proof (a node in several epochs of the lineage is
    ///      ticked off by its id in a memory bitmap), and keeps the tally.
    function _slashOnce(Tally memory tally, address member) private {
        Node storage node = _nodes[member];
        uint256 id = node.id;
        uint256 bit = 1 << (id & 0xff);
        if (tally.done[id >> 8] & bit != 0) return;
        tally.done[id >> 8] |= bit;
        uint256 amount = _slash(member, tally.bps);
        tally.slashed += amount;
        if (amount < tally.leastLoss) tally.leastLoss = amount;
        if (tally.prover == member || tally.prover == node.staker) tally.proverSlashed = true;
    }
}
