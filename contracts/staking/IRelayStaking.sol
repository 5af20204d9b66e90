// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// Event amounts, windows and submitters are data, not filter keys.
// solhint-disable gas-indexed-events

/// @title IRelayStaking
/// @notice Types, events and errors of RelayStaking, its SlashingCourt and their modules (contracts/staking/modules,
///         contracts/staking/court), in one place as OpenZeppelin keeps them beside its contracts, so tools and the
///         node side decode both contracts' logs and reverts with one set of definitions.
interface IRelayStaking {
    /// @notice Economic parameters (basis points out of 10 000), each within the bounds StakingParams states.
    struct Params {
        uint256 minStake; // active stake a node needs to be elected
        uint64 unbondingPeriod; // seconds between an unbond request (or a key's retirement) and withdrawal
        uint64 challengePeriod; // seconds a majority's removal proposal waits for the accused's answer
        uint64 minAbsenceWindow; // shortest block window an absence slash may cover
        uint64 absenceLookback; // a window must start at most this many blocks before its submission
        uint16 absenceSlashBps; // share of a member's slashable stake taken per absence window
        uint16 maxAbsenceSlashes; // absence slashes of one member per epoch
        uint16 removalSlashBps; // share taken when a node is removed for a fault
        uint16 forgerySlashBps; // share of every member's stake taken, per forgery, across the key's lineage
        uint16 proverRewardBps; // share of a forgery slash paid to its prover, at most the least member's loss
    }

    /// @notice The parameters, to name the one out of bounds.
    enum Param {
        MinStake,
        UnbondingPeriod,
        ChallengePeriod,
        MinAbsenceWindow,
        AbsenceLookback,
        AbsenceSlashBps,
        MaxAbsenceSlashes,
        RemovalSlashBps,
        ForgerySlashBps,
        ProverRewardBps
    }

    /// @notice A registered node, keyed by its operator address.
    struct Node {
        address staker;
        uint16 id; // 1-based registration number: the node's party index in every committee's keys
        bool removed;
        uint64 lastEpoch; // latest epoch it was elected to: its stake is locked while that key lives
        uint64 unbondingReleaseTime;
        uint256 stake;
        uint256 unbonding;
        bytes identity; // libp2p peer id bytes
        bytes identityProof; // the libp2p key's signature of identityClaim(operator), checked off chain
    }

    /// @notice An epoch's committee as its votes need it (the member list is in RelayStaking.committee).
    struct EpochInfo {
        uint16 threshold;
        uint16 activeCount; // members not removed: the cluster-key submissions confirmation needs
        address relay; // confirmed relay, zero while unconfirmed
        uint64 startBlock; // election block
        uint64 endBlock; // block a later epoch took over; 0 while serving
        uint256 activeWeight; // snapshot voting weight of the members not removed
    }

    /// @notice Members' request to slash `node` for its absence during blocks [fromBlock, toBlock].
    struct AbsenceProposal {
        uint64 epoch;
        address node;
        uint64 fromBlock;
        uint64 toBlock;
    }

    /// @notice Members' request to remove `node`; `evidenceHash` commits to the evidence messages.
    struct RemovalProposal {
        uint64 epoch;
        address node;
        bytes32 evidenceHash;
    }

    /// @notice An offender's signed protocol messages. A node signs a message's header: its canonical envelope
    ///         (session, key, protocol, round, sender, recipient) ending in the SHA-256 of its payload.
    struct Evidence {
        bytes[] messages; // headers; the last 32 bytes of each are the SHA-256 of its payload
        bytes[] payloads;
        bytes[] signatures; // the offender's EIP-712 `ProtocolMessage` signature of each header
    }

    /// @notice A removal a majority proposed for a fault the contract cannot check, waiting for its challenge.
    struct PendingRemoval {
        uint64 epoch;
        uint64 deadline; // executable from then on unless the accused disputed it
        bool disputed; // the accused answered: governance decides
        bytes32 evidenceHash;
    }

    /// @notice A relay-key signature of a RelayRotation on a target gateway (MessageLib.relayRotationDigest).
    struct SignedRotation {
        address newRelay;
        uint256 deadline;
        bytes signature;
    }

    /// @notice Governance asked for new parameters, effective from `activatesAt` (applyParams).
    event ParamsRequested(Params params, uint64 activatesAt);
    /// @notice New parameters took effect.
    event ParamsSet(Params params);
    /// @notice Governance changed the treasury.
    event TreasurySet(address indexed treasury);
    /// @notice Governance set this chain's SourceGateway.
    event SourceGatewaySet(address indexed sourceGateway);
    /// @notice A node was registered.
    event NodeRegistered(
        address indexed operator, address indexed staker, uint16 id, bytes identity, bytes identityProof
    );
    /// @notice Stake was added to a node.
    event Staked(address indexed operator, uint256 amount);
    /// @notice Stake moved into unbonding; the whole unbonding amount is withdrawable from `releaseTime` and once
    ///         the node's key lineage allows (lockedUntil).
    event UnbondRequested(address indexed operator, uint256 amount, uint64 releaseTime);
    /// @notice Unbonded stake was paid out.
    event Withdrawn(address indexed operator, address indexed staker, uint256 amount);
    /// @notice Slashed stake was credited to an account.
    event RewardAccrued(address indexed account, uint256 amount);
    /// @notice Rewards were paid out.
    event RewardsClaimed(address indexed account, uint256 amount);
    /// @notice Governance elected the committee of a new epoch; `weights` are the members' snapshot votes.
    event CommitteeElected(uint64 indexed epoch, address[] members, uint16 threshold, uint256[] weights);
    /// @notice A member submitted (or replaced) its view of the cluster public key.
    event ClusterKeySubmitted(uint64 indexed epoch, address indexed member, address relay, bytes publicKey);
    /// @notice Every remaining member submitted the same key: `relay` is the epoch's relay address.
    event RelayConfirmed(uint64 indexed epoch, address indexed relay, bytes publicKey);
    /// @notice A newly confirmed key replaced `relay`: its holders' stake unlocks from `releaseTime`.
    event RelayRetired(address indexed relay, uint64 releaseTime);
    /// @notice A later epoch took over from `epoch` (confirmed its key, or was elected before `epoch` confirmed).
    event EpochEnded(uint64 indexed epoch, uint64 endBlock);
    /// @notice Stake was taken from a node.
    event Slashed(address indexed operator, uint256 amount);
    /// @notice A member was slashed for absence over [fromBlock, toBlock].
    event AbsenceSlashed(
        uint64 indexed epoch, address indexed operator, uint64 fromBlock, uint64 toBlock, address submitter
    );
    /// @notice A majority proposed removing `operator` for a fault only members can check; it waits until
    ///         `deadline` for the accused's answer.
    event RemovalProposed(uint64 indexed epoch, address indexed operator, bytes32 evidenceHash, uint64 deadline);
    /// @notice The accused disputed its pending removal: governance decides (resolveRemoval).
    event RemovalDisputed(address indexed operator, address by);
    /// @notice Governance found a disputed removal unfounded; its evidence can never be proposed again.
    event RemovalDismissed(address indexed operator, bytes32 evidenceHash);
    /// @notice A member was removed for good.
    event NodeRemoved(uint64 indexed epoch, address indexed operator, bytes32 evidenceHash, address submitter);
    /// @notice Something `relay` must never sign was proven (a forged message, when `messageId` is set, else a
    ///         rotation conflict whose claim is `digest`); every epoch confirmed with the key was slashed.
    event ForgeryProven(
        address indexed relay, bytes32 indexed messageId, bytes32 digest, address indexed prover, uint256 slashed,
        uint256 reward
    );
    /// @notice Governance registered (zero: removed) the verifier of a remote source chain's forgeries.
    event SourceVerifierSet(uint64 indexed chainId, address verifier);
    /// @notice `relay` signed two rotations naming different new relays for one nonce of one gateway.
    event ConflictingRotationsProven(
        address indexed relay, uint256 chainId, address indexed targetGateway, uint256 nonce, uint256 slashed,
        uint256 reward
    );

    /// @notice An address that must be set was zero.
    error ZeroAddress();
    /// @notice An amount of zero.
    error ZeroAmount();
    /// @notice A parameter outside its bound.
    error InvalidParams(Param which);
    /// @notice These are not the parameters requested, or their activation time has not come.
    error ParamsNotReady(bytes32 requested, uint64 activatesAt);
    /// @notice A node identity or identity proof that is empty or too long.
    error InvalidIdentity();
    /// @notice The operator address is already registered (or was removed).
    error OperatorTaken(address operator);
    /// @notice Every node id (uint16) is taken.
    error NodeIdsExhausted();
    /// @notice The operator key did not sign this registration.
    error InvalidOperatorSignature();
    /// @notice No node is registered under this operator address.
    error UnknownOperator(address operator);
    /// @notice Only the node's staker may do this.
    error NotStaker(address caller, address operator);
    /// @notice The node was removed for misbehaviour.
    error NodeIsRemoved(address operator);
    /// @notice More than the node's active stake was asked for.
    error InsufficientStake(uint256 available, uint256 requested);
    /// @notice The node has no unbonding stake.
    error NothingToWithdraw();
    /// @notice The unbonding period has not passed yet.
    error UnbondingNotFinished(uint64 releaseTime);
    /// @notice The node may hold shares of a relay key that is still live (or retired too recently), or its
    ///         removal is pending; type(uint64).max: until that key is retired.
    error StakeLocked(uint64 releaseTime);
    /// @notice The caller has no rewards.
    error NothingToClaim();
    /// @notice A committee that is empty or larger than MAX_COMMITTEE_SIZE.
    error InvalidCommitteeSize(uint256 size);
    /// @notice A threshold outside MIN_THRESHOLD..committee size.
    error InvalidThreshold(uint256 threshold, uint256 size);
    /// @notice The same operator, or the same identity, was listed twice.
    error DuplicateMember(address operator);
    /// @notice The operator's active stake is below the minimum stake.
    error BelowMinimumStake(address operator, uint256 stake, uint256 minStake);
    /// @notice No such epoch was elected.
    error UnknownEpoch(uint64 epoch);
    /// @notice The epoch is neither the latest elected nor the active one: its committee no longer acts.
    error EpochNotCurrent(uint64 epoch);
    /// @notice The epoch is not the latest one awaiting its cluster key.
    error EpochNotPending(uint64 epoch);
    /// @notice The account is not a member of the epoch's committee.
    error NotCommitteeMember(uint64 epoch, address account);
    /// @notice The public key is not 64 bytes x || y of a point on secp256k1.
    error InvalidPublicKey();
    /// @notice The member already submitted this very key.
    error KeyAlreadySubmitted();
    /// @notice The key was retired by a later one; a retired key is never trusted again.
    error KeyRetired(address relay);
    /// @notice The key already serves MAX_EPOCHS_PER_KEY epochs: hand over to a fresh key instead.
    error KeyLineageFull(address relay);
    /// @notice No epoch has a confirmed relay address yet.
    error NoConfirmedEpoch();
    /// @notice The block window is reversed, not over yet, or shorter than minAbsenceWindow.
    error InvalidWindow(uint64 fromBlock, uint64 toBlock);
    /// @notice The window starts more than absenceLookback blocks ago.
    error WindowTooOld(uint64 fromBlock, uint64 oldestAllowed);
    /// @notice The window lies (partly) outside the blocks the epoch's committee served.
    error WindowOutsideEpoch(uint64 epoch, uint64 startBlock, uint64 endBlock);
    /// @notice The window starts before the first block of the node not yet slashed for absence.
    error WindowAlreadySlashed(address operator, uint64 slashedUntil);
    /// @notice The member was slashed maxAbsenceSlashes times in this epoch already.
    error AbsenceCapReached(uint64 epoch, address operator);
    /// @notice The signature at this index is malformed.
    error InvalidSignature(uint256 index);
    /// @notice The signer at this index is not above the previous one (unsorted or duplicated).
    error SignersNotSorted(uint256 index);
    /// @notice Fewer signers than the epoch's threshold: fewer than t members never decide alone.
    error TooFewSigners(uint256 signers, uint256 threshold);
    /// @notice The accused member signed the proposal against itself: its weight is not counted, nor its signature.
    error AccusedCannotSign(address accused);
    /// @notice The signers hold half or less of the snapshot weight of the members other than the accused.
    error InsufficientSignedWeight(uint256 signedWeight, uint256 othersWeight);
    /// @notice No evidence messages, more than MAX_EVIDENCE_MESSAGES, or not one payload and one offender
    ///         signature per message.
    error InvalidEvidence();
    /// @notice The evidence messages do not hash to the proposal's evidence hash.
    error EvidenceMismatch();
    /// @notice The offender's operator key did not sign the evidence message at this index.
    error InvalidEvidenceSignature(uint256 index);
    /// @notice The payload at this index is not the one its evidence message's header commits to.
    error PayloadMismatch(uint256 index);
    /// @notice The two headers are not two different messages for one slot (same envelope, other payload).
    error NotEquivocation();
    /// @notice The node already has a removal pending.
    error RemovalPending(address operator);
    /// @notice The node has no pending removal.
    error NoPendingRemoval(address operator);
    /// @notice The pending removal's challenge period is still running.
    error ChallengeRunning(uint64 deadline);
    /// @notice The pending removal's challenge period is over: too late to dispute.
    error ChallengeOver(uint64 deadline);
    /// @notice The pending removal was disputed: only governance resolves it.
    error RemovalIsDisputed(address operator);
    /// @notice The pending removal was not disputed: it executes after its challenge period.
    error RemovalNotDisputed(address operator);
    /// @notice Governance dismissed this evidence before.
    error EvidenceDismissed(bytes32 evidenceHash);
    /// @notice Only the node's operator or staker may answer its pending removal.
    error NotAccused(address caller, address operator);
    /// @notice The slash would take nothing.
    error NothingToSlash(address operator);
    /// @notice Governance has not set the SourceGateway yet.
    error SourceGatewayNotSet();
    /// @notice The message does not name this chain and its SourceGateway as its source.
    error NotFromThisSource();
    /// @notice No verifier is registered for this source chain (or it is this chain, or the verifier serves another).
    error RouteNotProvable(uint64 chainId);
    /// @notice The signer is no relay address any epoch confirmed.
    error NotARelay(address signer);
    /// @notice The SourceGateway did send this message: it is no forgery.
    error MessageWasSent(bytes32 messageId);
    /// @notice The Merkle proof does not place the message under the root.
    error NotInBatch(bytes32 messageId);
    /// @notice This forgery was already proven.
    error ForgeryAlreadyClaimed(bytes32 digest);
    /// @notice Only the SlashingCourt may take stake or remove a node.
    error NotCourt(address caller);
    /// @notice Only governance (RelayStaking's owner) may do this.
    error NotGovernance(address caller);
    /// @notice The two rotations name the same new relay, or were signed by different keys.
    error NotConflicting();
}
