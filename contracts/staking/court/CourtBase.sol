// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ISourceGateway} from "../../interfaces/ISourceGateway.sol";
import {IRelayStaking} from "../IRelayStaking.sol";

/// @notice What the SlashingCourt reads from RelayStaking and the actions it may take there (CourtActions).
interface IStakingRecords is IRelayStaking {
    /// @notice Parameters in force.
    function params() external view returns (Params memory);
    /// @notice This chain's SourceGateway (zero until governance sets it).
    function sourceGateway() external view returns (ISourceGateway);
    /// @notice Governance.
    function owner() external view returns (address);
    /// @notice Latest elected epoch.
    function latestEpoch() external view returns (uint64);
    /// @notice Latest confirmed epoch.
    function activeEpoch() external view returns (uint64);
    /// @notice A member's snapshot voting weight (zero for non-members).
    function votingWeight(uint64 epoch, address operator) external view returns (uint256);
    /// @notice An epoch's threshold, counts, relay and service blocks.
    function epochInfo(uint64 epoch) external view returns (EpochInfo memory);
    /// @notice A node's staker, removal and latest epoch.
    function nodeStatus(address operator) external view returns (address staker, bool removed, uint64 lastEpoch);
    /// @notice Slashes an absent member (CourtActions).
    function slashAbsent(AbsenceProposal calldata proposal, address submitter) external returns (uint256 amount);
    /// @notice Locks or unlocks an accused member's stake (CourtActions).
    function setRemovalPending(address operator, bool pending) external;
    /// @notice Removes a node (CourtActions).
    function removeNode(address operator, uint64 epoch, bytes32 evidenceHash, address submitter) external;
    /// @notice Slashes a relay key's lineage (CourtActions).
    function slashLineage(address relay, bytes32 claim, bytes32 messageId, address prover)
        external
        returns (uint256 slashed, uint256 reward);
}

/// @title CourtBase
/// @notice What every court module shares: the RelayStaking it decides for, that contract's EIP-712 domain (members
///         and nodes sign under it), and the checks on epochs and members.
abstract contract CourtBase is IRelayStaking {
    // solhint-disable gas-small-strings
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    // solhint-enable gas-small-strings

    /// @notice The RelayStaking this court decides for.
    IStakingRecords public immutable STAKING;

    /// @param staking The RelayStaking creating this court.
    constructor(IStakingRecords staking) {
        STAKING = staking;
    }

    /// @dev Governance is RelayStaking's owner.
    modifier onlyGovernance() {
        if (msg.sender != STAKING.owner()) revert NotGovernance(msg.sender);
        _;
    }

    /// @dev Only the latest elected and the active epoch act (vote, slash, remove): older committees are gone.
    function _requireCurrent(uint64 epoch) internal view {
        uint64 latest = STAKING.latestEpoch();
        if (epoch == 0 || epoch > latest) revert UnknownEpoch(epoch);
        if (epoch != latest && epoch != STAKING.activeEpoch()) revert EpochNotCurrent(epoch);
    }

    /// @dev A member of `epoch` not removed; returns its snapshot weight.
    function _requireActiveMember(uint64 epoch, address account) internal view returns (uint256 weight) {
        weight = STAKING.votingWeight(epoch, account);
        if (weight == 0) revert NotCommitteeMember(epoch, account);
        (, bool removed,) = STAKING.nodeStatus(account);
        if (removed) revert NodeIsRemoved(account);
    }

    /// @dev The EIP-712 digest of `structHash` under RelayStaking's domain (StakingBase: "MpcRelayStaking", "1").
    function _stakingDigest(bytes32 structHash) internal view returns (bytes32) {
        // solhint-disable gas-small-strings
        bytes32 separator = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("MpcRelayStaking"), keccak256("1"), block.chainid, address(STAKING))
        // solhint-enable gas-small-strings
        );
        return keccak256(abi.encodePacked(hex"1901", separator, structHash));
    }

    /// @dev The signer of `digest`, or zero for a malformed or high-s signature (OpenZeppelin ECDSA's rules).
    function _recover(bytes32 digest, bytes calldata signature) internal pure returns (address signer) {
        (signer,,) = ECDSA.tryRecoverCalldata(digest, signature);
    }
}
