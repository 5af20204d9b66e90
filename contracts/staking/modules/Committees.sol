// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {StakeLedger} from "./StakeLedger.sol";

// `<=` / `>=` state the rules as written.
// solhint-disable gas-strict-inequalities

/// @title Committees
/// @notice Epochs: governance elects a committee, its members submit the cluster key they generated (or were
///         reshared), and once every remaining member submitted the same key it is confirmed as the relay.
///         Voting weights are snapshotted at election and capped; stake stays locked per key lineage.
/// @dev Key lineage: resharing keeps a key, so several epochs may share one relay address, and every member of
///      every one of them holds (or held) shares that sign for it. A node's stake therefore stays locked until
///      the key of its latest epoch (or, for an epoch that never confirmed, the key live at its election, which
///      a hand-over reshares to it) is retired by a later epoch confirming a different key, plus the unbonding
///      period counted from that retirement. A retired key is never confirmed again, and one key serves at most
///      MAX_EPOCHS_PER_KEY epochs, which bounds the forgery slash over its lineage.
abstract contract Committees is StakeLedger {
    /// @notice A committee elected for one epoch; `relay` is set once every remaining member submitted one key.
    struct Committee {
        address[] members;
        uint16 threshold;
        uint16 activeCount; // members not removed: the submissions confirmation needs
        address relay;
        address relayAtElection; // the key live at election, which a hand-over reshares to this committee
        uint64 startBlock; // election block
        uint64 endBlock; // block a later epoch took over; 0 while serving
        uint256 activeWeight; // snapshot weight of the members not removed
    }

    /// @notice Largest committee; bounds the loops over members.
    uint256 public constant MAX_COMMITTEE_SIZE = 64;
    /// @notice Smallest threshold: one key holder never signs alone.
    uint16 public constant MIN_THRESHOLD = 2;
    /// @notice A member's voting weight is its active stake at election, at most this many times minStake:
    ///         stake beyond it secures the key (it is slashable) but buys no say over others' stake.
    uint256 public constant MAX_WEIGHT_MULTIPLE = 4;
    /// @notice Most epochs one relay key may serve (hand-overs by resharing) before a fresh key is needed.
    uint256 public constant MAX_EPOCHS_PER_KEY = 8;
    uint256 private constant SECP256K1_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;

    /// @notice Latest elected epoch (0 before the first election).
    uint64 public latestEpoch;
    /// @notice Latest epoch whose cluster key is confirmed (0 before the first confirmation).
    uint64 public activeEpoch;
    /// @notice A member's snapshot voting weight in an epoch; zero for non-members.
    mapping(uint64 epoch => mapping(address operator => uint256 weight)) public votingWeight;
    /// @notice Relay address each member submitted for an epoch (zero if none yet).
    mapping(uint64 epoch => mapping(address operator => address relay)) public submittedRelay;
    /// @notice For a retired relay key: when its holders' stake unlocks (0 while the key is live or unknown).
    mapping(address relay => uint64 releaseTime) public relayReleaseTime;
    mapping(uint64 epoch => Committee) internal _committees;
    mapping(address relay => uint64[] epochs) internal _lineage;
    mapping(uint64 epoch => mapping(address relay => uint256 count)) private _relayVotes;
    mapping(address relay => bytes publicKey) private _publicKeys;

    /// @notice Elects the committee of a new epoch and snapshots its voting weights. The previous confirmed
    ///         relay stays current until the new committee confirms its key; an unconfirmed epoch can be
    ///         replaced by electing again.
    /// @param members Operator addresses: registered, not removed, active stake >= minStake, distinct identities.
    /// @param threshold Members needed to sign, MIN_THRESHOLD to members.length.
    /// @return epoch The new epoch number.
    function electCommittee(address[] calldata members, uint16 threshold) external onlyOwner returns (uint64 epoch) {
        uint256 size = members.length;
        if (size == 0 || size > MAX_COMMITTEE_SIZE) revert InvalidCommitteeSize(size);
        if (threshold < MIN_THRESHOLD || threshold > size) revert InvalidThreshold(threshold, size);
        uint64 previous = latestEpoch;
        if (previous != 0 && _committees[previous].relay == address(0)) _endEpoch(previous);
        epoch = previous + 1;
        latestEpoch = epoch;
        uint256 minStake = params.minStake;
        uint256 cap = minStake * MAX_WEIGHT_MULTIPLE;
        uint256[] memory weights = new uint256[](size);
        bytes32[] memory identities = new bytes32[](size);
        uint256 total;
        for (uint256 i = 0; i < size; ++i) {
            address member = members[i];
            Node storage node = _nodes[member];
            if (node.staker == address(0)) revert UnknownOperator(member);
            if (node.removed) revert NodeIsRemoved(member);
            if (node.stake < minStake) revert BelowMinimumStake(member, node.stake, minStake);
            if (votingWeight[epoch][member] != 0) revert DuplicateMember(member);
            identities[i] = keccak256(node.identity);
            for (uint256 j = 0; j < i; ++j) {
                if (identities[j] == identities[i]) revert DuplicateMember(member);
            }
            uint256 weight = node.stake < cap ? node.stake : cap;
            votingWeight[epoch][member] = weight;
            weights[i] = weight;
            total += weight;
            node.lastEpoch = epoch;
        }
        Committee storage elected = _committees[epoch];
        elected.members = members;
        elected.threshold = threshold;
        elected.activeCount = uint16(size);
        elected.activeWeight = total;
        elected.startBlock = uint64(block.number);
        if (activeEpoch != 0) elected.relayAtElection = _committees[activeEpoch].relay;
        emit CommitteeElected(epoch, members, threshold, weights);
    }

    /// @notice A member of the latest (unconfirmed) epoch submits the cluster public key produced by keyGen or
    ///         handed over by resharing. The key is confirmed, and becomes the relay address, once every member
    ///         not removed submitted the same key. A member may replace its submission until confirmation.
    /// @param epoch The latest elected epoch.
    /// @param publicKey Uncompressed secp256k1 point as 64 bytes x || y (no 0x04 prefix).
    function submitClusterKey(uint64 epoch, bytes calldata publicKey) external {
        if (epoch == 0 || epoch != latestEpoch) revert EpochNotPending(epoch);
        Committee storage pending = _committees[epoch];
        if (pending.relay != address(0)) revert EpochNotPending(epoch);
        _requireActiveMember(epoch, msg.sender);
        if (publicKey.length != 64) revert InvalidPublicKey();
        if (!_isOnCurve(uint256(bytes32(publicKey[:32])), uint256(bytes32(publicKey[32:])))) revert InvalidPublicKey();

        address relay = address(uint160(uint256(keccak256(publicKey))));
        if (relayReleaseTime[relay] != 0) revert KeyRetired(relay);
        address previous = submittedRelay[epoch][msg.sender];
        if (previous == relay) revert KeyAlreadySubmitted();
        if (previous != address(0)) --_relayVotes[epoch][previous];
        submittedRelay[epoch][msg.sender] = relay;
        uint256 votes = ++_relayVotes[epoch][relay];
        if (_publicKeys[relay].length == 0) _publicKeys[relay] = publicKey;
        emit ClusterKeySubmitted(epoch, msg.sender, relay, publicKey);
        if (votes == pending.activeCount) _confirm(epoch, relay);
    }

    /// @notice The committee of an epoch.
    /// @param epoch The epoch.
    /// @return members Operator addresses in election order.
    /// @return threshold Signers needed.
    /// @return relay Confirmed relay address, zero while unconfirmed.
    /// @return startBlock Block of the election.
    /// @return endBlock Block a later epoch took over, zero while this one serves.
    function committee(uint64 epoch)
        external
        view
        returns (address[] memory members, uint16 threshold, address relay, uint64 startBlock, uint64 endBlock)
    {
        Committee storage c = _committees[epoch];
        return (c.members, c.threshold, c.relay, c.startBlock, c.endBlock);
    }

    /// @notice An epoch's threshold, remaining members, relay and service blocks, as the court's votes use them.
    /// @param epoch The epoch.
    /// @return The epoch's info (all zero if unknown).
    function epochInfo(uint64 epoch) external view returns (EpochInfo memory) {
        Committee storage c = _committees[epoch];
        return EpochInfo({
            threshold: c.threshold,
            activeCount: c.activeCount,
            relay: c.relay,
            startBlock: c.startBlock,
            endBlock: c.endBlock,
            activeWeight: c.activeWeight
        });
    }

    /// @notice Whether `operator` is a member of the committee of `epoch` (removed or not).
    /// @param epoch The epoch.
    /// @param operator The operator address.
    /// @return True for a member.
    function isMember(uint64 epoch, address operator) external view returns (bool) {
        return votingWeight[epoch][operator] != 0;
    }

    /// @notice The epochs confirmed with `relay`, oldest first: whom a forgery by that key slashes.
    /// @param relay A relay address.
    /// @return The epochs.
    function lineage(address relay) external view returns (uint64[] memory) {
        return _lineage[relay];
    }

    /// @notice Confirmed relay address of an epoch; zero while the epoch is unconfirmed or unknown.
    /// @param epoch The epoch.
    /// @return The relay address that gateways should trust for this epoch.
    function relayAddress(uint64 epoch) external view returns (address) {
        return _committees[epoch].relay;
    }

    /// @notice Relay address of the latest confirmed epoch: the address gateways are pointed at.
    /// @return The current relay address.
    function currentRelay() external view returns (address) {
        uint64 epoch = activeEpoch;
        if (epoch == 0) revert NoConfirmedEpoch();
        return _committees[epoch].relay;
    }

    /// @inheritdoc StakeLedger
    function lockedUntil(address operator) public view virtual override returns (uint64) {
        uint64 epoch = _nodes[operator].lastEpoch;
        if (epoch == 0) return 0;
        Committee storage last = _committees[epoch];
        address key = last.relay;
        if (key == address(0)) {
            if (last.endBlock == 0) return LOCKED; // still pending: it may confirm any moment
            key = last.relayAtElection;
            if (key == address(0)) return 0;
        }
        uint64 release = relayReleaseTime[key];
        return release == 0 ? LOCKED : release;
    }

    /// @dev Removed nodes keep their seat on record but no longer propose, sign, submit keys or count.
    function _requireActiveMember(uint64 epoch, address account) internal view {
        if (votingWeight[epoch][account] == 0) revert NotCommitteeMember(epoch, account);
        if (_nodes[account].removed) revert NodeIsRemoved(account);
    }

    /// @dev A node was removed: it leaves the counts of the current epochs, and a pending epoch whose other
    ///      members all submitted one key confirms without it.
    function _dropFromCurrentEpochs(address operator) internal {
        uint64 latest = latestEpoch;
        _dropFrom(latest, operator);
        if (activeEpoch != latest) _dropFrom(activeEpoch, operator);
    }

    function _dropFrom(uint64 epoch, address operator) private {
        uint256 weight = votingWeight[epoch][operator];
        if (weight == 0) return;
        Committee storage c = _committees[epoch];
        c.activeWeight -= weight;
        --c.activeCount;
        if (c.relay != address(0)) return;
        address submitted = submittedRelay[epoch][operator];
        if (submitted != address(0)) --_relayVotes[epoch][submitted];
        // Confirmation needs every remaining member's vote for one key: any remaining member names it.
        uint256 size = c.members.length;
        for (uint256 i = 0; i < size; ++i) {
            address member = c.members[i];
            if (_nodes[member].removed) continue;
            address relay = submittedRelay[epoch][member];
            // A full lineage leaves the epoch pending (governance elects again) rather than block the removal.
            if (
                relay != address(0) && _relayVotes[epoch][relay] == c.activeCount
                    && _lineage[relay].length < MAX_EPOCHS_PER_KEY
            ) _confirm(epoch, relay);
            return;
        }
    }

    function _confirm(uint64 epoch, address relay) private {
        uint64[] storage epochs = _lineage[relay];
        if (epochs.length == MAX_EPOCHS_PER_KEY) revert KeyLineageFull(relay);
        epochs.push(epoch);
        _committees[epoch].relay = relay;
        uint64 previous = activeEpoch;
        if (previous != 0) {
            _endEpoch(previous);
            address retiring = _committees[previous].relay;
            if (retiring != relay) {
                uint64 releaseTime = uint64(block.timestamp) + params.unbondingPeriod;
                relayReleaseTime[retiring] = releaseTime;
                emit RelayRetired(retiring, releaseTime);
            }
        }
        activeEpoch = epoch;
        emit RelayConfirmed(epoch, relay, _publicKeys[relay]);
    }

    function _endEpoch(uint64 epoch) private {
        _committees[epoch].endBlock = uint64(block.number);
        emit EpochEnded(epoch, uint64(block.number));
    }

    function _isOnCurve(uint256 x, uint256 y) private pure returns (bool) {
        if (x >= SECP256K1_P || y >= SECP256K1_P) return false;
        uint256 lhs = mulmod(y, y, SECP256K1_P);
        uint256 rhs = addmod(mulmod(mulmod(x, x, SECP256K1_P), x, SECP256K1_P), 7, SECP256K1_P);
        return lhs == rhs;
    }
}
