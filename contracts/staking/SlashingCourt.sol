// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AbsenceSlashing} from "./court/AbsenceSlashing.sol";
import {CourtBase, IStakingRecords} from "./court/CourtBase.sol";
import {EvidenceRemoval} from "./court/EvidenceRemoval.sol";
import {ForgeryProofs} from "./court/ForgeryProofs.sol";
import {RemoteForgeryProofs} from "./court/RemoteForgeryProofs.sol";

/// @title SlashingCourt
/// @notice Every decision against an operator, taken for the RelayStaking that creates this court, composed of
///         one module per kind (contracts/staking/court): MajorityApproval (the members' voting rule),
///         AbsenceSlashing, EvidenceRemoval, ForgeryProofs and RemoteForgeryProofs. The court holds no stake and no
///         funds; it checks proofs and members' signatures and has RelayStaking act (CourtActions), which trusts no
///         one else for it.
/// @dev Separate from RelayStaking only because the whole does not fit in one contract's 24 KiB (EIP-170): the
///      line between them is the line between records and decisions. Members and nodes sign under RelayStaking's
///      EIP-712 domain, so the signatures do not depend on this contract's address.
contract SlashingCourt is AbsenceSlashing, EvidenceRemoval, ForgeryProofs, RemoteForgeryProofs {
    /// @param staking The RelayStaking creating this court.
    constructor(IStakingRecords staking) CourtBase(staking) {}
}
