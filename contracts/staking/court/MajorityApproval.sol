// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CourtBase} from "./CourtBase.sol";

// `<=` / `>=` state the rules as written.
// solhint-disable gas-strict-inequalities

/// @title MajorityApproval
/// @notice The rule every members' decision against one of them passes (absence slash, removal proposal):
///         signatures, sorted by signer and unique, of at least `threshold` members of a current epoch, none
///         removed and none the accused, holding more than half of the snapshot weight of the members other than
///         the accused.
/// @dev Why each part: the threshold count means the t-1 members an adversary may hold never decide alone,
///      whatever stake they bring; snapshot weights, capped at election (Committees), mean stake topped up after
///      election buys no votes and a whale's say is bounded; leaving the accused's weight out means a large victim
///      does not make the others' majority harder to reach; removed members neither sign nor count. Who submits
///      does not matter: nobody profits from a slash (the treasury gets it), so the signatures alone carry the
///      decision, whether the cluster's relay address, a member or anyone else sends them.
abstract contract MajorityApproval is CourtBase {
    /// @dev Reverts unless `signatures` over the EIP-712 struct `structHash` meet the rule for `accused` in `epoch`.
    ///      The caller has checked that `epoch` is current and `accused` an active (not removed) member of it.
    function _requireQuorum(uint64 epoch, address accused, bytes32 structHash, bytes[] calldata signatures)
        internal
        view
    {
        EpochInfo memory info = STAKING.epochInfo(epoch);
        uint256 count = signatures.length;
        if (count < info.threshold) revert TooFewSigners(count, info.threshold);
        bytes32 digest = _stakingDigest(structHash);
        address previous = address(0);
        uint256 signedWeight;
        for (uint256 i = 0; i < count; ++i) {
            address signer = _recover(digest, signatures[i]);
            if (signer == address(0)) revert InvalidSignature(i);
            if (signer <= previous) revert SignersNotSorted(i);
            if (signer == accused) revert AccusedCannotSign(accused);
            signedWeight += _requireActiveMember(epoch, signer);
            previous = signer;
        }
        uint256 othersWeight = info.activeWeight - STAKING.votingWeight(epoch, accused);
        if (signedWeight * 2 <= othersWeight) revert InsufficientSignedWeight(signedWeight, othersWeight);
    }
}
