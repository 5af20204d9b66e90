// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IStakingRecords} from "./court/CourtBase.sol";
import {SlashingCourt} from "./SlashingCourt.sol";
import {CourtActions} from "./modules/CourtActions.sol";
import {StakeLedger} from "./modules/StakeLedger.sol";
import {StakingBase} from "./modules/StakingBase.sol";
import {StakingParams} from "./modules/StakingParams.sol";

/// @title RelayStaking
/// @notice Operator staking, committee election and cluster-key confirmation for the mpc-relay threshold-ECDSA
///         network: the record of stake and membership. Composed of one module per job
///         (contracts/staking/modules): StakingParams (bounded, delayed parameters), StakeLedger (registration,
///         stake, rewards), Committees (election with snapshot weights, cluster key, key lineage locks) and
///         CourtActions (what the court's decisions do to stake). Decisions against operators (absence, removal,
///         forgery) are taken by the SlashingCourt this contract creates. Types, events and errors are in
///         IRelayStaking; contracts/staking/README.md explains the rules and why.
/// @dev Two contracts only because the whole does not fit in one contract's 24 KiB (EIP-170); the line between
///      them is the line between records and decisions. Who may do what: governance (the owner, a timelock or
///      multisig) elects committees, requests parameters, sets the treasury and source gateway, and decides
///      disputed removals in the court; a staker funds its node; a node's operator key consents to registration,
///      submits the cluster key and signs proposals and protocol messages; anyone brings members' signed
///      decisions and proofs to the court. No one is paid for slashing an operator but the prover of a forgery,
///      within bounds (CourtActions).
contract RelayStaking is CourtActions {
    address private immutable COURT;

    /// @param stakeToken_ ERC20 that operators stake.
    /// @param initialOwner Governance (a timelock or multisig in production).
    /// @param treasury_ Receiver of slashed stake.
    /// @param params_ Initial parameters, within StakingParams' bounds.
    constructor(IERC20 stakeToken_, address initialOwner, address treasury_, Params memory params_)
        StakingBase(initialOwner)
        StakingParams(treasury_, params_)
        StakeLedger(stakeToken_)
    {
        COURT = address(new SlashingCourt(IStakingRecords(address(this))));
    }

    /// @inheritdoc CourtActions
    function court() public view override returns (address) {
        return COURT;
    }
}
