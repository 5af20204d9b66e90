// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MessageLib} from "../gateway/MessageLib.sol";
import {ISourceGateway} from "../interfaces/ISourceGateway.sol";

// Event amounts, windows and submitters are data, not filter keys; `<=` / `>=` state the rules as written.
// solhint-disable gas-indexed-events, gas-strict-inequalities

/// @title RelayStaking
/// @notice Operator staking, committee election, cluster-key confirmation and slashing for the
///         mpc-relay threshold-ECDSA network.
/// @dev Roles:
///      - staker: the account that funds a node's stake and alone may unbond and withdraw it;
///      - operator: the node's hot ECDSA key. It identifies the node here, signs slashing proposals
///        and protocol messages (evidence), and submits the cluster public key;
///      - owner (governance): elects committees and sets parameters. In production the owner must be
///        a timelock or multisig, never an EOA, since it decides who holds the relay key.
///      Unbonding stake stays slashable until withdrawn, so `unbondingPeriod` must exceed the time needed
///      to notice and prove misbehaviour (absence windows, evidence, forged attestations).
///      Slashed stake never leaves the accounting: it is credited to `rewards` and claimed later, so
///      the token balance of this contract always equals the sum of stakes, unbonding stakes and
///      unclaimed rewards. The stake token must be a plain ERC20 (no fee on transfer, no rebasing).
contract RelayStaking is EIP712, Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Tunable economic parameters (basis points are out of 10 000).
    struct Params {
        uint256 minStake; // active stake a node needs to be elected
        uint64 unbondingPeriod; // seconds between an unbond request and its withdrawal
        uint64 minAbsenceWindow; // shortest block window an absence slash may cover
        uint16 absenceSlashBps; // share of a node's slashable stake taken per absence window
        uint16 removalSlashBps; // share taken when a node is removed for misbehaviour
        uint16 forgerySlashBps; // share of every committee member's stake taken on a proven forgery
        uint16 proverRewardBps; // share of the forgery slash paid to the prover; the rest to the treasury
    }

    /// @notice A registered node, keyed by its operator address.
    struct Node {
        address staker;
        uint16 id; // 1-based registration number: the node's party index in every committee's keys
        bool removed;
        uint64 unbondingReleaseTime;
        uint256 stake;
        uint256 unbonding;
        bytes identity; // libp2p peer id bytes
    }

    /// @notice A committee elected for one epoch; `relay` is set once every member submitted the same key.
    struct Committee {
        address[] members;
        uint16 threshold;
        address relay;
        uint64 startBlock; // election block
        uint64 endBlock; // block a later epoch took over; 0 while serving
    }

    /// @notice Members' request to slash `node` for its absence during blocks [fromBlock, toBlock].
    struct AbsenceProposal {
        uint64 epoch;
        address node;
        uint64 fromBlock;
        uint64 toBlock;
    }

    /// @notice Members' request to remove `node` for good; `evidenceHash` commits to the evidence messages
    ///         (see `evidenceHash(bytes[])`).
    struct RemovalProposal {
        uint64 epoch;
        address node;
        bytes32 evidenceHash;
    }

    /// @notice An offender's signed protocol messages. A node signs a message's header: its canonical
    ///         envelope (session, key, protocol, round, sender, recipient) ending in the SHA-256 of its
    ///         payload, so signing stays cheap for large payloads. The payloads travel beside the headers,
    ///         so the whole evidence is on chain for anyone to re-check.
    struct Evidence {
        bytes[] messages; // headers; the last 32 bytes of each are the SHA-256 of its payload
        bytes[] payloads;
        bytes[] signatures; // the offender's EIP-712 `ProtocolMessage` signature of each header
    }

    /// @notice Denominator of every basis-point parameter.
    uint256 public constant BPS = 10_000;
    /// @notice Largest committee; bounds the loops over members (stake sums, forgery slashing).
    uint256 public constant MAX_COMMITTEE_SIZE = 64;
    /// @notice Longest node identity (peer id) accepted, in bytes.
    uint256 public constant MAX_IDENTITY_LENGTH = 256;
    /// @notice Most protocol messages one removal may cite (e.g. a commitment plus the share or opening
    ///         that contradicts it); bounds the signature checks.
    uint256 public constant MAX_EVIDENCE_MESSAGES = 8;
    uint256 private constant SECP256K1_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;

    // EIP-712 type strings are longer than 32 bytes by nature; they are hashed at compile time.
    // solhint-disable gas-small-strings
    /// @notice EIP-712 type the operator key signs to consent to its registration.
    bytes32 public constant OPERATOR_REGISTRATION_TYPEHASH =
        keccak256("OperatorRegistration(address staker,bytes32 identityHash)");
    /// @notice EIP-712 type members sign to slash an absent member.
    bytes32 public constant ABSENCE_SLASH_TYPEHASH =
        keccak256("AbsenceSlash(uint64 epoch,address node,uint64 fromBlock,uint64 toBlock)");
    /// @notice EIP-712 type members sign to remove a misbehaving member.
    bytes32 public constant REMOVAL_TYPEHASH = keccak256("Removal(uint64 epoch,address node,bytes32 evidenceHash)");
    /// @notice EIP-712 type under which operators sign every protocol message they send (e.g. a VSS share),
    ///         so a faulty message can later be shown here as evidence.
    /// @dev `contentHash` is keccak256 of the message bytes, which themselves carry session id, key id, round,
    ///      sender and receiver.
    bytes32 public constant PROTOCOL_MESSAGE_TYPEHASH = keccak256("ProtocolMessage(bytes32 contentHash)");
    // solhint-enable gas-small-strings

    /// @notice Token that operators stake.
    // solhint-disable-next-line immutable-vars-naming
    IERC20 public immutable stakeToken;

    /// @notice Current economic parameters.
    Params public params;
    /// @notice Receives the part of a forgery slash that is not paid to the prover.
    address public treasury;
    /// @notice The SourceGateway of this chain; forgeries are proven against it.
    ISourceGateway public sourceGateway;

    /// @notice Number of nodes ever registered; node ids run from 1 to nodeCount.
    uint16 public nodeCount;
    /// @notice Latest elected epoch (0 before the first election).
    uint64 public latestEpoch;
    /// @notice Latest epoch whose cluster key is confirmed (0 before the first confirmation).
    uint64 public activeEpoch;

    mapping(address operator => Node) private _nodes;
    /// @notice Whether a node identity (by keccak256) was ever registered; identities are never reused.
    mapping(bytes32 identityHash => bool) public identityTaken;
    mapping(uint64 epoch => Committee) private _committees;
    /// @notice Whether `operator` is a member of the committee of `epoch`.
    mapping(uint64 epoch => mapping(address operator => bool)) public isMember;
    /// @notice Relay address each member submitted for an epoch (zero if none yet).
    mapping(uint64 epoch => mapping(address operator => address relay)) public submittedRelay;
    mapping(uint64 epoch => mapping(address relay => uint256 count)) private _relayVotes;
    /// @notice First block of `operator` not yet covered by an absence slash.
    mapping(address operator => uint64 nextBlock) public absenceSlashedUntil;
    /// @notice Forged relay digests already proven.
    mapping(bytes32 digest => bool) public forgeryClaimed;
    /// @notice Slashed stake credited to an account and not yet claimed.
    mapping(address account => uint256 amount) public rewards;

    /// @notice An address that must be set was zero.
    error ZeroAddress();
    /// @notice An amount of zero.
    error ZeroAmount();
    /// @notice A basis-point parameter above 10 000 or a zero unbonding period.
    error InvalidParams();
    /// @notice A node identity that is empty or longer than MAX_IDENTITY_LENGTH.
    error InvalidIdentity();
    /// @notice The operator address is already registered (or was removed).
    error OperatorTaken(address operator);
    /// @notice Every node id (uint16) is taken.
    error NodeIdsExhausted();
    /// @notice The node identity is already registered (or was removed).
    error IdentityTaken(bytes32 identityHash);
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
    /// @notice The caller has no rewards.
    error NothingToClaim();
    /// @notice A committee that is empty or larger than MAX_COMMITTEE_SIZE.
    error InvalidCommitteeSize(uint256 size);
    /// @notice A threshold outside 1..committee size.
    error InvalidThreshold(uint256 threshold, uint256 size);
    /// @notice The same operator was listed twice.
    error DuplicateMember(address operator);
    /// @notice The operator's active stake is below the minimum stake.
    error BelowMinimumStake(address operator, uint256 stake, uint256 minStake);
    /// @notice No such epoch was elected.
    error UnknownEpoch(uint64 epoch);
    /// @notice The epoch is not the latest one awaiting its cluster key.
    error EpochNotPending(uint64 epoch);
    /// @notice The epoch has no confirmed relay address.
    error EpochNotConfirmed(uint64 epoch);
    /// @notice The account is not a member of the epoch's committee.
    error NotCommitteeMember(uint64 epoch, address account);
    /// @notice The public key is not 64 bytes x || y of a point on secp256k1.
    error InvalidPublicKey();
    /// @notice The member already submitted this very key.
    error KeyAlreadySubmitted();
    /// @notice No epoch has a confirmed relay address yet.
    error NoConfirmedEpoch();
    /// @notice The block window is reversed, not over yet, or shorter than minAbsenceWindow.
    error InvalidWindow(uint64 fromBlock, uint64 toBlock);
    /// @notice The window lies (partly) outside the blocks the epoch's committee served.
    error WindowOutsideEpoch(uint64 epoch, uint64 startBlock, uint64 endBlock);
    /// @notice The window starts before the first block of the node not yet slashed for absence.
    error WindowAlreadySlashed(address operator, uint64 slashedUntil);
    /// @notice The signature at this index is malformed.
    error InvalidSignature(uint256 index);
    /// @notice The signer at this index is not above the previous one (unsorted or duplicated).
    error SignersNotSorted(uint256 index);
    /// @notice The signers hold half of the committee's stake or less.
    error InsufficientSignedStake(uint256 signedStake, uint256 committeeStake);
    /// @notice No evidence messages, more than MAX_EVIDENCE_MESSAGES, or not one payload and one offender
    ///         signature per message.
    error InvalidEvidence();
    /// @notice The evidence messages do not hash to the proposal's evidence hash.
    error EvidenceMismatch();
    /// @notice The offender's operator key did not sign the evidence message at this index.
    error InvalidEvidenceSignature(uint256 index);
    /// @notice The payload at this index is not the one its evidence message's header commits to.
    error PayloadMismatch(uint256 index);
    /// @notice The slash would take nothing.
    error NothingToSlash(address operator);
    /// @notice Governance has not set the SourceGateway yet.
    error SourceGatewayNotSet();
    /// @notice The message does not name this chain and its SourceGateway as its source.
    error NotFromThisSource();
    /// @notice The signature is not by the epoch's relay address over the claimed digest.
    error InvalidRelaySignature();
    /// @notice The SourceGateway did send this message: it is no forgery.
    error MessageWasSent(bytes32 messageId);
    /// @notice The Merkle proof does not place the message under the root.
    error NotInBatch(bytes32 messageId);
    /// @notice This forged digest was already proven.
    error ForgeryAlreadyClaimed(bytes32 digest);

    /// @notice Governance changed the economic parameters.
    event ParamsSet(Params params);
    /// @notice Governance changed the treasury.
    event TreasurySet(address indexed treasury);
    /// @notice Governance set this chain's SourceGateway.
    event SourceGatewaySet(address indexed sourceGateway);
    /// @notice A node was registered.
    event NodeRegistered(address indexed operator, address indexed staker, uint16 id, bytes identity);
    /// @notice Stake was added to a node.
    event Staked(address indexed operator, uint256 amount);
    /// @notice Stake moved into unbonding; the whole unbonding amount is withdrawable from `releaseTime`.
    event UnbondRequested(address indexed operator, uint256 amount, uint64 releaseTime);
    /// @notice Unbonded stake was paid out.
    event Withdrawn(address indexed operator, address indexed staker, uint256 amount);
    /// @notice Slashed stake was credited to an account.
    event RewardAccrued(address indexed account, uint256 amount);
    /// @notice Rewards were paid out.
    event RewardsClaimed(address indexed account, uint256 amount);
    /// @notice Governance elected the committee of a new epoch.
    event CommitteeElected(uint64 indexed epoch, address[] members, uint16 threshold);
    /// @notice A member submitted (or replaced) its view of the cluster public key.
    event ClusterKeySubmitted(uint64 indexed epoch, address indexed member, address relay, bytes publicKey);
    /// @notice Every member submitted the same key: `relay` is the epoch's relay address.
    event RelayConfirmed(uint64 indexed epoch, address indexed relay, bytes publicKey);
    /// @notice A later epoch took over from `epoch` (confirmed its key, or was elected before `epoch` confirmed).
    event EpochEnded(uint64 indexed epoch, uint64 endBlock);
    /// @notice Stake was taken from a node.
    event Slashed(address indexed operator, uint256 amount);
    /// @notice A member was slashed for absence over [fromBlock, toBlock].
    event AbsenceSlashed(
        uint64 indexed epoch, address indexed operator, uint64 fromBlock, uint64 toBlock, address submitter
    );
    /// @notice A member was removed for good.
    event NodeRemoved(uint64 indexed epoch, address indexed operator, bytes32 evidenceHash, address submitter);
    /// @notice A forged attestation by the epoch's relay was proven and the committee slashed.
    event ForgeryProven(
        uint64 indexed epoch, bytes32 indexed messageId, bytes32 digest, address indexed prover, uint256 slashed
    );

    /// @param stakeToken_ ERC20 that operators stake.
    /// @param initialOwner Governance (a timelock or multisig in production).
    /// @param treasury_ Receiver of the non-prover part of forgery slashes.
    /// @param params_ Initial economic parameters.
    constructor(IERC20 stakeToken_, address initialOwner, address treasury_, Params memory params_)
        EIP712("MpcRelayStaking", "1")
        Ownable(initialOwner)
    {
        if (address(stakeToken_) == address(0)) revert ZeroAddress();
        stakeToken = stakeToken_;
        _setTreasury(treasury_);
        _setParams(params_);
    }

    // ------------------------------------------------------------------ governance

    /// @notice Replaces the economic parameters. Takes effect for every later action.
    /// @param params_ New parameters; basis points must not exceed 10 000 and the unbonding period must be non-zero.
    function setParams(Params calldata params_) external onlyOwner {
        _setParams(params_);
    }

    /// @notice Sets the account credited with the non-prover part of forgery slashes.
    /// @param treasury_ New treasury, non-zero.
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @notice Points forgery proofs at this chain's SourceGateway.
    /// @param sourceGateway_ The SourceGateway, non-zero.
    function setSourceGateway(ISourceGateway sourceGateway_) external onlyOwner {
        if (address(sourceGateway_) == address(0)) revert ZeroAddress();
        sourceGateway = sourceGateway_;
        emit SourceGatewaySet(address(sourceGateway_));
    }

    /// @notice Elects the committee of a new epoch. The previous confirmed relay stays current until
    ///         the new committee confirms its cluster key; an unconfirmed epoch can be replaced by
    ///         electing again.
    /// @param members Operator addresses, each registered, not removed, with at least `minStake` active stake.
    /// @param threshold Number of members needed to sign (1 <= threshold <= members.length).
    /// @return epoch The new epoch number.
    function electCommittee(address[] calldata members, uint16 threshold) external onlyOwner returns (uint64 epoch) {
        uint256 size = members.length;
        if (size == 0 || size > MAX_COMMITTEE_SIZE) revert InvalidCommitteeSize(size);
        if (threshold == 0 || threshold > size) revert InvalidThreshold(threshold, size);
        uint64 previous = latestEpoch;
        if (previous != 0 && _committees[previous].relay == address(0)) _endEpoch(previous);
        epoch = previous + 1;
        latestEpoch = epoch;
        uint256 minStake = params.minStake;
        for (uint256 i = 0; i < size; ++i) {
            address member = members[i];
            Node storage node = _nodes[member];
            if (node.staker == address(0)) revert UnknownOperator(member);
            if (node.removed) revert NodeIsRemoved(member);
            if (node.stake < minStake) revert BelowMinimumStake(member, node.stake, minStake);
            if (isMember[epoch][member]) revert DuplicateMember(member);
            isMember[epoch][member] = true;
        }
        Committee storage elected = _committees[epoch];
        elected.members = members;
        elected.threshold = threshold;
        elected.startBlock = uint64(block.number);
        emit CommitteeElected(epoch, members, threshold);
    }

    // ------------------------------------------------------------------ operators

    /// @notice Registers a node. The caller becomes its staker. The node gets the next id, which is its
    ///         party index in the threshold keys of every committee it is elected to, so that old and new
    ///         committees can reshare a key between them.
    /// @param operator The node's operator key address; it must consent by signing
    ///        `OperatorRegistration(staker, keccak256(identity))`, so nobody can squat another's key.
    /// @param identity The node's libp2p peer id bytes (1 to 256 bytes, unique).
    /// @param operatorSignature EIP-712 signature of the operator key.
    function register(address operator, bytes calldata identity, bytes calldata operatorSignature) external {
        if (operator == address(0)) revert ZeroAddress();
        if (identity.length == 0 || identity.length > MAX_IDENTITY_LENGTH) revert InvalidIdentity();
        if (_nodes[operator].staker != address(0)) revert OperatorTaken(operator);
        bytes32 identityHash = keccak256(identity);
        if (identityTaken[identityHash]) revert IdentityTaken(identityHash);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(OPERATOR_REGISTRATION_TYPEHASH, msg.sender, identityHash)));
        if (_recover(digest, operatorSignature) != operator) revert InvalidOperatorSignature();

        if (nodeCount == type(uint16).max) revert NodeIdsExhausted();
        identityTaken[identityHash] = true;
        uint16 id = ++nodeCount;
        Node storage node = _nodes[operator];
        node.staker = msg.sender;
        node.id = id;
        node.identity = identity;
        emit NodeRegistered(operator, msg.sender, id, identity);
    }

    /// @notice Adds stake to a node; the caller must be its staker and have approved the tokens.
    /// @param operator The node.
    /// @param amount Tokens to stake, non-zero.
    function stake(address operator, uint256 amount) external nonReentrant {
        Node storage node = _stakerNode(operator);
        if (node.removed) revert NodeIsRemoved(operator);
        if (amount == 0) revert ZeroAmount();
        node.stake += amount;
        emit Staked(operator, amount);
        stakeToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Moves active stake into unbonding. It stays slashable and can be withdrawn once the
    ///         unbonding period has passed; a new request restarts the wait for the whole unbonding amount.
    /// @param operator The node; the caller must be its staker.
    /// @param amount Tokens to unbond, non-zero and at most the active stake.
    function requestUnbond(address operator, uint256 amount) external {
        Node storage node = _stakerNode(operator);
        if (amount == 0) revert ZeroAmount();
        if (amount > node.stake) revert InsufficientStake(node.stake, amount);
        node.stake -= amount;
        node.unbonding += amount;
        uint64 releaseTime = uint64(block.timestamp) + params.unbondingPeriod;
        node.unbondingReleaseTime = releaseTime;
        emit UnbondRequested(operator, amount, releaseTime);
    }

    /// @notice Pays out the whole unbonding amount to the staker once the unbonding period has passed.
    /// @param operator The node; the caller must be its staker.
    function withdraw(address operator) external nonReentrant {
        Node storage node = _stakerNode(operator);
        uint256 amount = node.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp < node.unbondingReleaseTime) revert UnbondingNotFinished(node.unbondingReleaseTime);
        node.unbonding = 0;
        emit Withdrawn(operator, msg.sender, amount);
        stakeToken.safeTransfer(msg.sender, amount);
    }

    /// @notice Pays out the caller's accrued slashing rewards.
    function claimRewards() external nonReentrant {
        uint256 amount = rewards[msg.sender];
        if (amount == 0) revert NothingToClaim();
        rewards[msg.sender] = 0;
        emit RewardsClaimed(msg.sender, amount);
        stakeToken.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ cluster key

    /// @notice A member of the latest (unconfirmed) epoch submits the cluster public key produced by keyGen.
    ///         The key is confirmed, and becomes the relay address, once every member submitted the same
    ///         key. A member who submitted a different key blocks confirmation until it resubmits (each
    ///         member may replace its submission until confirmation) or governance elects a new epoch.
    /// @param epoch The latest elected epoch.
    /// @param publicKey Uncompressed secp256k1 point as 64 bytes x || y (no 0x04 prefix).
    function submitClusterKey(uint64 epoch, bytes calldata publicKey) external {
        if (epoch == 0 || epoch != latestEpoch) revert EpochNotPending(epoch);
        Committee storage pending = _committees[epoch];
        if (pending.relay != address(0)) revert EpochNotPending(epoch);
        if (!isMember[epoch][msg.sender]) revert NotCommitteeMember(epoch, msg.sender);
        if (publicKey.length != 64) revert InvalidPublicKey();
        uint256 x = uint256(bytes32(publicKey[:32]));
        uint256 y = uint256(bytes32(publicKey[32:]));
        if (!_isOnCurve(x, y)) revert InvalidPublicKey();

        address relay = address(uint160(uint256(keccak256(publicKey))));
        address previous = submittedRelay[epoch][msg.sender];
        if (previous == relay) revert KeyAlreadySubmitted();
        if (previous != address(0)) --_relayVotes[epoch][previous];
        submittedRelay[epoch][msg.sender] = relay;
        uint256 votes = ++_relayVotes[epoch][relay];
        emit ClusterKeySubmitted(epoch, msg.sender, relay, publicKey);

        if (votes == pending.members.length) {
            pending.relay = relay;
            if (activeEpoch != 0) _endEpoch(activeEpoch);
            activeEpoch = epoch;
            emit RelayConfirmed(epoch, relay, publicKey);
        }
    }

    // ------------------------------------------------------------------ slashing

    /// @notice Slashes `absenceSlashBps` of a member's slashable stake for its absence over a past block
    ///         window. Passes when sent by the epoch's confirmed relay address, or when sent by a member
    ///         with EIP-712 `AbsenceSlash` signatures of members holding more than half of the committee's
    ///         slashable stake. The slash is split equally between the signers (between the other
    ///         non-removed members when the relay sends it); the rounding remainder goes to the submitter.
    ///         Every block of a node can be slashed once: a window must start after the last slashed one,
    ///         and lie within the blocks the epoch served (from its election until a later epoch took over).
    /// @param proposal The epoch, the absent member and the window [fromBlock, toBlock].
    /// @param signatures Members' signatures, ordered by strictly increasing signer address;
    ///        empty when the relay address sends.
    function slashAbsence(AbsenceProposal calldata proposal, bytes[] calldata signatures) external nonReentrant {
        uint64 epoch = proposal.epoch;
        address offender = proposal.node;
        _requireKnownEpoch(epoch);
        if (!isMember[epoch][offender]) revert NotCommitteeMember(epoch, offender);
        uint64 fromBlock = proposal.fromBlock;
        uint64 toBlock = proposal.toBlock;
        _checkWindow(epoch, offender, fromBlock, toBlock);

        address[] memory beneficiaries;
        address relay = _committees[epoch].relay;
        if (relay != address(0) && msg.sender == relay) {
            beneficiaries = _otherActiveMembers(epoch, offender);
        } else {
            bytes32 structHash = keccak256(abi.encode(ABSENCE_SLASH_TYPEHASH, epoch, offender, fromBlock, toBlock));
            beneficiaries = _verifyMajority(epoch, structHash, signatures);
        }

        absenceSlashedUntil[offender] = toBlock + 1;
        uint256 amount = _slash(offender, params.absenceSlashBps);
        if (amount == 0) revert NothingToSlash(offender);
        emit AbsenceSlashed(epoch, offender, fromBlock, toBlock, msg.sender);
        _distribute(amount, beneficiaries);
    }

    /// @notice Removes a member for good on verifiable evidence of misbehaviour: `evidence` holds the
    ///         protocol messages that together show the fault (e.g. a Feldman commitment broadcast and the
    ///         share sent privately that fails it), each signed by the offender's operator key (EIP-712
    ///         `ProtocolMessage`), and members holding more than half of the committee's slashable stake
    ///         signed the `Removal` proposal naming them. The contract checks authorship; the majority
    ///         attests that the content is faulty. Slashes `removalSlashBps` (split as in `slashAbsence`);
    ///         the rest of the node's stake is moved to unbonding. The operator address and identity can
    ///         never be registered again.
    /// @param proposal The epoch, the offender and `evidenceHash(evidence.messages)`.
    /// @param evidence The offender's message headers (1 to MAX_EVIDENCE_MESSAGES, in the order the
    ///        proposal's evidence hash commits to), their payloads, and the offender's EIP-712
    ///        `ProtocolMessage` signature over each header's keccak256.
    /// @param signatures Members' signatures of the proposal, ordered by strictly increasing signer address.
    function removeNode(RemovalProposal calldata proposal, Evidence calldata evidence, bytes[] calldata signatures)
        external
        nonReentrant
    {
        uint64 epoch = proposal.epoch;
        address offender = proposal.node;
        _requireKnownEpoch(epoch);
        if (!isMember[epoch][offender]) revert NotCommitteeMember(epoch, offender);
        if (_nodes[offender].removed) revert NodeIsRemoved(offender);
        _checkEvidence(offender, proposal.evidenceHash, evidence);
        bytes32 structHash = keccak256(abi.encode(REMOVAL_TYPEHASH, epoch, offender, proposal.evidenceHash));
        address[] memory signers = _verifyMajority(epoch, structHash, signatures);

        _nodes[offender].removed = true;
        uint256 amount = _slash(offender, params.removalSlashBps);
        _unbondAll(offender);
        emit NodeRemoved(epoch, offender, proposal.evidenceHash, msg.sender);
        _distribute(amount, signers);
    }

    /// @notice Proves that a confirmed relay address signed a message claiming this chain's SourceGateway
    ///         as its source which that gateway never sent. Slashes `forgerySlashBps` of the stake of every
    ///         member of `epoch`'s committee, credits `proverRewardBps` of it to the caller and the rest to
    ///         the treasury. Each forged digest (message and target gateway) can be proven once.
    /// @dev If several epochs share one relay key (resharing keeps the key), the prover picks which
    ///      of them is slashed; the digest can still be claimed only once.
    /// @param epoch A confirmed epoch whose relay address signed the forgery.
    /// @param message The forged message; srcChainId must be this chain and srcGateway the SourceGateway.
    /// @param targetGateway The gateway address in the signed EIP-712 domain.
    /// @param signature The relay's 65-byte signature over `MessageLib.digest(message, targetGateway)`.
    function proveForgery(
        uint64 epoch,
        MessageLib.Message calldata message,
        address targetGateway,
        bytes calldata signature
    ) external nonReentrant {
        bytes32 messageId = _unsentFromThisSource(message);
        _slashForgery(epoch, MessageLib.digestCalldata(message, targetGateway), messageId, signature);
    }

    /// @notice Like `proveForgery` for a signed batch: the relay signed a Merkle root (EIP-712 `Batch`) whose
    ///         tree holds a message this chain's SourceGateway never sent. Each forged root (per target
    ///         gateway) can be proven once, however many unsent messages it holds.
    /// @dev Takes a single-leaf proof even when the batch was delivered partly (TargetGateway.receiveBatch takes
    ///      a multiproof): every leaf of an accepted multiproof has a path to the root, which the prover rebuilds
    ///      off chain (relayer/staking/watcher.ts replayMultiProof), keeping this check one-path and log2-sized.
    /// @param epoch A confirmed epoch whose relay address signed the root.
    /// @param message The forged message inside the batch.
    /// @param targetGateway The gateway address in the signed EIP-712 domain.
    /// @param root The signed Merkle root (OpenZeppelin StandardMerkleTree of message ids, `MessageLib.leaf`).
    /// @param proof Merkle proof of the message's leaf under `root`.
    /// @param signature The relay's 65-byte signature over `MessageLib.batchDigest(root, dstChainId, targetGateway)`.
    function proveForgedBatch(
        uint64 epoch,
        MessageLib.Message calldata message,
        address targetGateway,
        bytes32 root,
        bytes32[] calldata proof,
        bytes calldata signature
    ) external nonReentrant {
        bytes32 messageId = _unsentFromThisSource(message);
        if (!MerkleProof.verifyCalldata(proof, root, MessageLib.leaf(messageId))) revert NotInBatch(messageId);
        _slashForgery(epoch, MessageLib.batchDigest(root, message.dstChainId, targetGateway), messageId, signature);
    }

    // ------------------------------------------------------------------ views

    /// @notice The registered node of an operator address (all fields zero if unknown).
    /// @param operator The node's operator address.
    /// @return The node record.
    function getNode(address operator) external view returns (Node memory) {
        return _nodes[operator];
    }

    /// @notice Stake of a node that can still be slashed: active plus unbonding.
    /// @param operator The node's operator address.
    /// @return The slashable amount.
    function slashableStake(address operator) public view returns (uint256) {
        Node storage node = _nodes[operator];
        return node.stake + node.unbonding;
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

    /// @notice Sum of the slashable stake of an epoch's members that were not removed; a proposal needs
    ///         signers holding more than half of it.
    /// @param epoch The epoch.
    /// @return total The committee's slashable stake.
    function committeeStake(uint64 epoch) public view returns (uint256 total) {
        address[] storage members = _committees[epoch].members;
        uint256 size = members.length;
        for (uint256 i = 0; i < size; ++i) {
            if (!_nodes[members[i]].removed) total += slashableStake(members[i]);
        }
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

    /// @notice The evidence hash a `Removal` proposal names for these evidence messages: keccak256 of the
    ///         concatenated keccak256 hashes of the messages, in order.
    /// @param evidence 1 to MAX_EVIDENCE_MESSAGES protocol messages.
    /// @return The evidence hash.
    function evidenceHash(bytes[] calldata evidence) external pure returns (bytes32) {
        (bytes32 hash,) = _hashEvidence(evidence);
        return hash;
    }

    /// @notice EIP-712 digest the operator signs to consent to a registration.
    /// @param staker The account that will register the node.
    /// @param identity The node's peer id bytes.
    /// @return The digest to sign.
    function registrationDigest(address staker, bytes calldata identity) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(OPERATOR_REGISTRATION_TYPEHASH, staker, keccak256(identity))));
    }

    // ------------------------------------------------------------------ internals

    function _setParams(Params memory params_) private {
        if (
            params_.unbondingPeriod == 0 || params_.absenceSlashBps > BPS || params_.removalSlashBps > BPS
                || params_.forgerySlashBps > BPS || params_.proverRewardBps > BPS
        ) revert InvalidParams();
        params = params_;
        emit ParamsSet(params_);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    /// @dev The node of `operator`, after checking the caller is its staker.
    function _stakerNode(address operator) private view returns (Node storage node) {
        node = _nodes[operator];
        if (node.staker == address(0)) revert UnknownOperator(operator);
        if (node.staker != msg.sender) revert NotStaker(msg.sender, operator);
    }

    function _requireKnownEpoch(uint64 epoch) private view {
        if (epoch == 0 || epoch > latestEpoch) revert UnknownEpoch(epoch);
    }

    /// @dev Checks the caller is a member and that the sorted, unique member signatures over the proposal
    ///      hold more than half of the committee's slashable stake. Returns the signers.
    function _verifyMajority(uint64 epoch, bytes32 structHash, bytes[] calldata signatures)
        private
        view
        returns (address[] memory signers)
    {
        _requireActiveMember(epoch, msg.sender);
        bytes32 digest = _hashTypedDataV4(structHash);
        uint256 count = signatures.length;
        signers = new address[](count);
        address previous = address(0);
        uint256 signedStake;
        for (uint256 i = 0; i < count; ++i) {
            address signer = _recover(digest, signatures[i]);
            if (signer == address(0)) revert InvalidSignature(i);
            if (signer <= previous) revert SignersNotSorted(i);
            _requireActiveMember(epoch, signer);
            signedStake += slashableStake(signer);
            signers[i] = signer;
            previous = signer;
        }
        uint256 total = committeeStake(epoch);
        if (signedStake * 2 <= total) revert InsufficientSignedStake(signedStake, total);
    }

    /// @dev Removed nodes keep their committee seat on record but no longer propose, sign or count.
    function _requireActiveMember(uint64 epoch, address account) private view {
        if (!isMember[epoch][account]) revert NotCommitteeMember(epoch, account);
        if (_nodes[account].removed) revert NodeIsRemoved(account);
    }

    /// @dev Members of `epoch` other than `offender` that were not removed.
    function _otherActiveMembers(uint64 epoch, address offender) private view returns (address[] memory others) {
        address[] storage members = _committees[epoch].members;
        uint256 size = members.length;
        uint256 count;
        for (uint256 i = 0; i < size; ++i) {
            if (_isBeneficiary(members[i], offender)) ++count;
        }
        others = new address[](count);
        count = 0;
        for (uint256 i = 0; i < size; ++i) {
            if (_isBeneficiary(members[i], offender)) {
                others[count] = members[i];
                ++count;
            }
        }
    }

    function _isBeneficiary(address member, address offender) private view returns (bool) {
        return member != offender && !_nodes[member].removed;
    }

    /// @dev A window must be over, at least minAbsenceWindow long, inside the epoch's service (from its
    ///      election until a later epoch took over) and after every block already slashed for absence.
    function _checkWindow(uint64 epoch, address offender, uint64 fromBlock, uint64 toBlock) private view {
        if (fromBlock > toBlock || toBlock >= block.number || toBlock - fromBlock + 1 < params.minAbsenceWindow) {
            revert InvalidWindow(fromBlock, toBlock);
        }
        Committee storage served = _committees[epoch];
        uint64 endBlock = served.endBlock;
        if (fromBlock < served.startBlock || (endBlock != 0 && toBlock >= endBlock)) {
            revert WindowOutsideEpoch(epoch, served.startBlock, endBlock);
        }
        uint64 slashedUntil = absenceSlashedUntil[offender];
        if (fromBlock < slashedUntil) revert WindowAlreadySlashed(offender, slashedUntil);
    }

    function _endEpoch(uint64 epoch) private {
        _committees[epoch].endBlock = uint64(block.number);
        emit EpochEnded(epoch, uint64(block.number));
    }

    /// @dev Checks that `message` names this chain's SourceGateway as its source and was never sent there.
    function _unsentFromThisSource(MessageLib.Message calldata message) private view returns (bytes32 messageId) {
        ISourceGateway source = sourceGateway;
        if (address(source) == address(0)) revert SourceGatewayNotSet();
        if (message.srcChainId != block.chainid || message.srcGateway != address(source)) revert NotFromThisSource();
        messageId = MessageLib.messageIdCalldata(message);
        if (source.isSent(messageId)) revert MessageWasSent(messageId);
    }

    /// @dev Checks `epoch`'s relay signed `digest` and that it was not proven before, then slashes the
    ///      committee and pays the prover and the treasury.
    function _slashForgery(uint64 epoch, bytes32 digest, bytes32 messageId, bytes calldata signature) private {
        Committee storage culprits = _committees[epoch];
        address relay = culprits.relay;
        if (relay == address(0)) revert EpochNotConfirmed(epoch);
        if (forgeryClaimed[digest]) revert ForgeryAlreadyClaimed(digest);
        if (_recover(digest, signature) != relay) revert InvalidRelaySignature();

        forgeryClaimed[digest] = true;
        uint16 slashBps = params.forgerySlashBps;
        uint256 slashed;
        uint256 size = culprits.members.length;
        for (uint256 i = 0; i < size; ++i) {
            slashed += _slash(culprits.members[i], slashBps);
        }
        uint256 reward = (slashed * params.proverRewardBps) / BPS;
        emit ForgeryProven(epoch, messageId, digest, msg.sender, slashed);
        _credit(msg.sender, reward);
        _credit(treasury, slashed - reward);
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
            bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(PROTOCOL_MESSAGE_TYPEHASH, contentHashes[i])));
            if (_recover(digest, evidence.signatures[i]) != offender) revert InvalidEvidenceSignature(i);
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

    /// @dev Moves all active stake of a node into unbonding, restarting the unbonding period.
    function _unbondAll(address operator) private {
        Node storage node = _nodes[operator];
        uint256 amount = node.stake;
        if (amount == 0) return;
        uint64 releaseTime = uint64(block.timestamp) + params.unbondingPeriod;
        node.stake = 0;
        node.unbonding += amount;
        node.unbondingReleaseTime = releaseTime;
        emit UnbondRequested(operator, amount, releaseTime);
    }

    /// @dev Takes `bps` of the node's slashable stake, active stake first, then unbonding stake.
    function _slash(address operator, uint16 bps) private returns (uint256 amount) {
        Node storage node = _nodes[operator];
        uint256 active = node.stake;
        amount = ((active + node.unbonding) * bps) / BPS;
        if (amount == 0) return 0;
        if (amount <= active) {
            node.stake = active - amount;
        } else {
            node.stake = 0;
            node.unbonding -= amount - active;
        }
        emit Slashed(operator, amount);
    }

    /// @dev Splits `amount` equally between the stakers of `operators`; the remainder (all of it when
    ///      there is nobody to share with) goes to the caller's staker, or the caller itself if it is no node.
    function _distribute(uint256 amount, address[] memory operators) private {
        if (amount == 0) return;
        uint256 count = operators.length;
        uint256 share = count == 0 ? 0 : amount / count;
        if (share != 0) {
            for (uint256 i = 0; i < count; ++i) {
                _credit(_nodes[operators[i]].staker, share);
            }
        }
        address submitterStaker = _nodes[msg.sender].staker;
        _credit(submitterStaker == address(0) ? msg.sender : submitterStaker, amount - share * count);
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        rewards[account] += amount;
        emit RewardAccrued(account, amount);
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        (signer,,) = ECDSA.tryRecoverCalldata(digest, signature);
    }

    function _isOnCurve(uint256 x, uint256 y) private pure returns (bool) {
        if (x >= SECP256K1_P || y >= SECP256K1_P) return false;
        uint256 lhs = mulmod(y, y, SECP256K1_P);
        uint256 rhs = addmod(mulmod(mulmod(x, x, SECP256K1_P), x, SECP256K1_P), 7, SECP256K1_P);
        return lhs == rhs;
    }
}
