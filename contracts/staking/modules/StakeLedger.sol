// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {StakingParams} from "./StakingParams.sol";

/// @title StakeLedger
/// @notice Node registration and the stake each node holds: active, unbonding, slashed into rewards.
/// @dev Roles: the staker funds a node and alone may unbond and withdraw; the operator is the node's hot key,
///      which consents to its registration. Slashed stake never leaves the accounting: it is credited to
///      `rewards` and claimed later, so this contract's token balance always equals the sum of stakes,
///      unbonding stakes and unclaimed rewards (fuzzed in test/solidity/StakingAccounting.t.sol). The stake
///      token must be a plain ERC20 (no fee on transfer, no rebasing).
///      Unbonding stake stays slashable until withdrawn, and withdrawal waits both for the unbonding period and
///      for lockedUntil: a node stays liable while a key it may hold shares of can still sign.
abstract contract StakeLedger is StakingParams {
    using SafeERC20 for IERC20;

    /// @notice Longest node identity (peer id) accepted, in bytes.
    uint256 public constant MAX_IDENTITY_LENGTH = 256;
    /// @notice Longest identity proof (a libp2p signature) accepted, in bytes.
    uint256 public constant MAX_IDENTITY_PROOF_LENGTH = 128;
    /// @notice lockedUntil of a node whose stake stays locked until an event, not a time.
    uint64 public constant LOCKED = type(uint64).max;

    /// @notice EIP-712 type the operator key signs to consent to its registration.
    // solhint-disable gas-small-strings
    bytes32 public constant OPERATOR_REGISTRATION_TYPEHASH =
        keccak256("OperatorRegistration(address staker,bytes32 identityHash)");
    // solhint-enable gas-small-strings

    /// @notice Token that operators stake.
    // solhint-disable-next-line immutable-vars-naming
    IERC20 public immutable stakeToken;
    /// @notice Number of nodes ever registered; node ids run from 1 to nodeCount.
    uint16 public nodeCount;
    /// @notice Slashed stake credited to an account and not yet claimed.
    mapping(address account => uint256 amount) public rewards;
    mapping(address operator => Node) internal _nodes;

    /// @param stakeToken_ ERC20 that operators stake.
    constructor(IERC20 stakeToken_) {
        if (address(stakeToken_) == address(0)) revert ZeroAddress();
        stakeToken = stakeToken_;
    }

    /// @notice Registers a node; the caller becomes its staker. The node gets the next id, its party index in the
    ///         threshold keys of every committee it is elected to (so old and new committees can reshare).
    /// @dev Identities are not reserved first come, first served: a squatter could lock a node out. The node's
    ///      libp2p key signs identityClaim(operator) instead (identityProof); the contract cannot check an
    ///      Ed25519 signature, so governance checks it before electing, and every node's directory refuses a
    ///      member whose proof fails (relayer/staking/directory.ts). Within a committee identities are unique.
    /// @param operator The node's operator key address; it consents by signing
    ///        `OperatorRegistration(staker, keccak256(identity))`, so nobody can register another's operator key.
    /// @param identity The node's libp2p peer id bytes (1 to MAX_IDENTITY_LENGTH bytes).
    /// @param operatorSignature EIP-712 signature of the operator key.
    /// @param identityProof The libp2p key's signature of identityClaim(operator).
    function register(
        address operator,
        bytes calldata identity,
        bytes calldata operatorSignature,
        bytes calldata identityProof
    ) external {
        if (operator == address(0)) revert ZeroAddress();
        if (identity.length == 0 || identity.length > MAX_IDENTITY_LENGTH) revert InvalidIdentity();
        if (identityProof.length == 0 || identityProof.length > MAX_IDENTITY_PROOF_LENGTH) revert InvalidIdentity();
        if (_nodes[operator].staker != address(0)) revert OperatorTaken(operator);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(OPERATOR_REGISTRATION_TYPEHASH, msg.sender, keccak256(identity))));
        if (_recover(digest, operatorSignature) != operator) revert InvalidOperatorSignature();

        if (nodeCount == type(uint16).max) revert NodeIdsExhausted();
        uint16 id = ++nodeCount;
        Node storage node = _nodes[operator];
        node.staker = msg.sender;
        node.id = id;
        node.identity = identity;
        node.identityProof = identityProof;
        emit NodeRegistered(operator, msg.sender, id, identity, identityProof);
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

    /// @notice Moves active stake into unbonding. It stays slashable; it can be withdrawn once the unbonding
    ///         period has passed and lockedUntil allows. A new request restarts the wait for the whole amount.
    ///         Voting weight is the snapshot taken at election, so unbonding changes no vote.
    /// @param operator The node; the caller must be its staker.
    /// @param amount Tokens to unbond, non-zero and at most the active stake.
    function requestUnbond(address operator, uint256 amount) external {
        Node storage node = _stakerNode(operator);
        if (amount == 0) revert ZeroAmount();
        if (amount > node.stake) revert InsufficientStake(node.stake, amount);
        node.stake -= amount;
        _addUnbonding(operator, node, amount);
    }

    /// @notice Pays out the whole unbonding amount to the staker once the unbonding period has passed and the
    ///         node is no longer liable for a live key or a pending removal (lockedUntil).
    /// @param operator The node; the caller must be its staker.
    function withdraw(address operator) external nonReentrant {
        Node storage node = _stakerNode(operator);
        uint256 amount = node.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp < node.unbondingReleaseTime) revert UnbondingNotFinished(node.unbondingReleaseTime);
        uint64 lock = lockedUntil(operator);
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp < lock) revert StakeLocked(lock);
        node.unbonding = 0;
        emit Withdrawn(operator, msg.sender, amount);
        stakeToken.safeTransfer(msg.sender, amount);
    }

    /// @notice Pays out the caller's accrued rewards.
    function claimRewards() external nonReentrant {
        uint256 amount = rewards[msg.sender];
        if (amount == 0) revert NothingToClaim();
        rewards[msg.sender] = 0;
        emit RewardsClaimed(msg.sender, amount);
        stakeToken.safeTransfer(msg.sender, amount);
    }

    /// @notice The registered node of an operator address (all fields zero if unknown).
    /// @param operator The node's operator address.
    /// @return The node record.
    function getNode(address operator) external view returns (Node memory) {
        return _nodes[operator];
    }

    /// @notice The parts of a node's record the court's checks need.
    /// @param operator The node's operator address.
    /// @return staker The node's staker (zero if unknown).
    /// @return removed Whether it was removed.
    /// @return lastEpoch The latest epoch it was elected to.
    function nodeStatus(address operator) external view returns (address staker, bool removed, uint64 lastEpoch) {
        Node storage node = _nodes[operator];
        return (node.staker, node.removed, node.lastEpoch);
    }

    /// @notice Stake of a node that can still be slashed: active plus unbonding.
    /// @param operator The node's operator address.
    /// @return The slashable amount.
    function slashableStake(address operator) public view returns (uint256) {
        Node storage node = _nodes[operator];
        return node.stake + node.unbonding;
    }

    /// @notice The bytes a node's libp2p key signs as its registration's identityProof: a tag, this chain, this
    ///         contract and the operator, so a proof made for one registration is useless for any other.
    /// @param operator The node's operator address.
    /// @return The claim to sign.
    function identityClaim(address operator) external view returns (bytes memory) {
        return abi.encodePacked("mpc-relay/operator-identity/v1", block.chainid, address(this), operator);
    }

    /// @notice EIP-712 digest the operator signs to consent to a registration.
    /// @param staker The account that will register the node.
    /// @param identity The node's peer id bytes.
    /// @return The digest to sign.
    function registrationDigest(address staker, bytes calldata identity) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(OPERATOR_REGISTRATION_TYPEHASH, staker, keccak256(identity))));
    }

    /// @notice Time from which the node's unbonding stake may be withdrawn as far as its liability goes: 0 when
    ///         free, LOCKED while a key it may hold shares of is live, or its removal pending.
    /// @param operator The node's operator address.
    /// @return The release time.
    function lockedUntil(address operator) public view virtual returns (uint64);

    /// @dev The node of `operator`, after checking the caller is its staker.
    function _stakerNode(address operator) internal view returns (Node storage node) {
        node = _nodes[operator];
        if (node.staker == address(0)) revert UnknownOperator(operator);
        if (node.staker != msg.sender) revert NotStaker(msg.sender, operator);
    }

    /// @dev Moves all active stake of a node into unbonding (a removed node), restarting the unbonding period.
    function _unbondAll(address operator) internal {
        Node storage node = _nodes[operator];
        uint256 amount = node.stake;
        if (amount == 0) return;
        node.stake = 0;
        _addUnbonding(operator, node, amount);
    }

    /// @dev Takes `bps` of the node's slashable stake, active stake first, then unbonding stake.
    function _slash(address operator, uint16 bps) internal returns (uint256 amount) {
        Node storage node = _nodes[operator];
        uint256 active = node.stake;
        amount = ((active + node.unbonding) * bps) / BPS;
        if (amount == 0) return 0;
        if (amount > active) {
            node.stake = 0;
            node.unbonding -= amount - active;
        } else {
            node.stake = active - amount;
        }
        emit Slashed(operator, amount);
    }

    function _credit(address account, uint256 amount) internal {
        if (amount == 0) return;
        rewards[account] += amount;
        emit RewardAccrued(account, amount);
    }

    function _addUnbonding(address operator, Node storage node, uint256 amount) private {
        uint64 releaseTime = uint64(block.timestamp) + params.unbondingPeriod;
        node.unbonding += amount;
        node.unbondingReleaseTime = releaseTime;
        emit UnbondRequested(operator, amount, releaseTime);
    }
}
