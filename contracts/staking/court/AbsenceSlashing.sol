// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MajorityApproval} from "./MajorityApproval.sol";

// `<=` / `>=` state the rules as written.
// solhint-disable gas-strict-inequalities

/// @title AbsenceSlashing
/// @notice Members slash a member they saw absent over a recent block window, with MajorityApproval's rule.
/// @dev Absence cannot be checked on chain, so everything a wrong majority could do with it is bounded: the window
///      must be recent (absenceLookback), long enough (minAbsenceWindow), inside the blocks the epoch served, after
///      the member's last slashed block (no block twice); at most maxAbsenceSlashes per member and epoch, of at
///      most MAX_ABSENCE_SLASH_BPS each; never a removed member; and the slash goes to the treasury, so voting
///      for one earns nothing.
abstract contract AbsenceSlashing is MajorityApproval {
    /// @notice EIP-712 type members sign to slash an absent member.
    // solhint-disable gas-small-strings
    bytes32 public constant ABSENCE_SLASH_TYPEHASH =
        keccak256("AbsenceSlash(uint64 epoch,address node,uint64 fromBlock,uint64 toBlock)");
    // solhint-enable gas-small-strings

    /// @notice First block of `operator` not yet covered by an absence slash.
    mapping(address operator => uint64 nextBlock) public absenceSlashedUntil;
    /// @notice Absence slashes of a member in an epoch.
    mapping(uint64 epoch => mapping(address operator => uint16 count)) public absenceSlashCount;

    /// @notice Slashes `absenceSlashBps` of a member's slashable stake, credited to the treasury, for its absence
    ///         over a past block window, on members' EIP-712 `AbsenceSlash` signatures (MajorityApproval).
    ///         Callable by anyone holding them (the proposing member, or the cluster's relay address).
    /// @param proposal A current epoch, the absent member (not removed) and the window [fromBlock, toBlock].
    /// @param signatures Members' signatures, ordered by strictly increasing signer address.
    function slashAbsence(AbsenceProposal calldata proposal, bytes[] calldata signatures) external {
        uint64 epoch = proposal.epoch;
        address offender = proposal.node;
        _requireCurrent(epoch);
        _requireActiveMember(epoch, offender);
        Params memory p = STAKING.params();
        _checkWindow(epoch, offender, proposal.fromBlock, proposal.toBlock, p);
        uint16 count = absenceSlashCount[epoch][offender];
        if (count >= p.maxAbsenceSlashes) revert AbsenceCapReached(epoch, offender);
        bytes32 structHash = keccak256(
            abi.encode(ABSENCE_SLASH_TYPEHASH, epoch, offender, proposal.fromBlock, proposal.toBlock)
        );
        _requireQuorum(epoch, offender, structHash, signatures);

        absenceSlashedUntil[offender] = proposal.toBlock + 1;
        absenceSlashCount[epoch][offender] = count + 1;
        STAKING.slashAbsent(proposal, msg.sender);
    }

    /// @dev A window must be over, at least minAbsenceWindow long, start at most absenceLookback blocks ago, lie
    ///      inside the epoch's service (from its election until a later epoch took over) and after every block
    ///      already slashed for absence.
    function _checkWindow(uint64 epoch, address offender, uint64 fromBlock, uint64 toBlock, Params memory p)
        private
        view
    {
        if (fromBlock > toBlock || toBlock >= block.number || toBlock - fromBlock + 1 < p.minAbsenceWindow) {
            revert InvalidWindow(fromBlock, toBlock);
        }
        uint64 oldest = block.number > p.absenceLookback ? uint64(block.number) - p.absenceLookback : 0;
        if (fromBlock < oldest) revert WindowTooOld(fromBlock, oldest);
        EpochInfo memory served = STAKING.epochInfo(epoch);
        if (fromBlock < served.startBlock || (served.endBlock != 0 && toBlock >= served.endBlock)) {
            revert WindowOutsideEpoch(epoch, served.startBlock, served.endBlock);
        }
        uint64 slashedUntil = absenceSlashedUntil[offender];
        if (fromBlock < slashedUntil) revert WindowAlreadySlashed(offender, slashedUntil);
    }
}
