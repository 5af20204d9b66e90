// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ISourceGateway} from "../../interfaces/ISourceGateway.sol";
import {StakingBase} from "./StakingBase.sol";

// `<=` / `>=` state the bounds as written.
// solhint-disable gas-strict-inequalities

/// @title StakingParams
/// @notice Economic parameters within fixed bounds, changed only after PARAMS_DELAY; the treasury that receives
///         slashed stake; the SourceGateway forgeries are proven against.
/// @dev The bounds keep governance from turning the parameters against honest operators: an unbonding period
///      near 2^64 that makes every exit and removal revert, a slash that takes everything for one absence, an
///      absence window of a single block. The delay keeps a change from applying to what is already under way:
///      operators see it coming. Release times (unbonding, key retirement, challenge deadlines) are computed
///      and stored when they start, so a later change of a period never moves them.
abstract contract StakingParams is StakingBase {
    /// @notice Seconds between requestParams and the earliest applyParams.
    uint64 public constant PARAMS_DELAY = 3 days;
    uint64 public constant MIN_UNBONDING_PERIOD = 1 days;
    uint64 public constant MAX_UNBONDING_PERIOD = 90 days;
    uint64 public constant MIN_CHALLENGE_PERIOD = 1 hours;
    uint64 public constant MAX_CHALLENGE_PERIOD = 30 days;
    uint64 public constant MIN_ABSENCE_WINDOW = 5;
    uint64 public constant MAX_ABSENCE_LOOKBACK = 100_000;
    uint16 public constant MAX_ABSENCE_SLASH_BPS = 1_000;
    uint16 public constant MAX_ABSENCE_SLASHES_PER_EPOCH = 3;
    uint16 public constant MIN_FORGERY_SLASH_BPS = 1_000;
    uint16 public constant MAX_PROVER_REWARD_BPS = 2_000;

    /// @notice Parameters in force.
    Params public params;
    /// @notice keccak256(abi.encode(params)) of the requested parameters (zero if none are waiting).
    bytes32 public pendingParamsHash;
    /// @notice When the requested parameters may be applied.
    uint64 public pendingParamsAt;
    /// @notice Receives slashed stake (absence, removal, and forgery but for the prover's reward).
    address public treasury;
    /// @notice The SourceGateway of this chain; forgeries are proven against it.
    ISourceGateway public sourceGateway;

    /// @param treasury_ Receiver of slashed stake.
    /// @param params_ Initial parameters, in force at once.
    constructor(address treasury_, Params memory params_) {
        _setTreasury(treasury_);
        _setParams(params_);
    }

    /// @notice Asks for new parameters, which applyParams puts in force after PARAMS_DELAY; replaces a waiting
    ///         request (and restarts the delay). The event carries them for whoever applies them.
    /// @param params_ New parameters, within the bounds above.
    function requestParams(Params calldata params_) external onlyOwner {
        _checkParams(params_);
        uint64 activatesAt = uint64(block.timestamp) + PARAMS_DELAY;
        pendingParamsHash = keccak256(abi.encode(params_));
        pendingParamsAt = activatesAt;
        emit ParamsRequested(params_, activatesAt);
    }

    /// @notice Puts the requested parameters in force once their delay has passed. Callable by anyone.
    /// @param params_ The parameters requested (ParamsRequested).
    function applyParams(Params calldata params_) external {
        bytes32 requested = pendingParamsHash;
        uint64 activatesAt = pendingParamsAt;
        // solhint-disable-next-line not-rely-on-time
        if (requested == 0 || keccak256(abi.encode(params_)) != requested || block.timestamp < activatesAt) {
            revert ParamsNotReady(requested, activatesAt);
        }
        delete pendingParamsHash;
        delete pendingParamsAt;
        _setParams(params_);
    }

    /// @notice Sets the account credited with slashed stake.
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

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function _setParams(Params memory p) private {
        _checkParams(p);
        params = p;
        emit ParamsSet(p);
    }

    function _checkParams(Params memory p) private pure {
        if (p.minStake == 0) revert InvalidParams(Param.MinStake);
        if (p.unbondingPeriod < MIN_UNBONDING_PERIOD || p.unbondingPeriod > MAX_UNBONDING_PERIOD) {
            revert InvalidParams(Param.UnbondingPeriod);
        }
        if (p.challengePeriod < MIN_CHALLENGE_PERIOD || p.challengePeriod > MAX_CHALLENGE_PERIOD) {
            revert InvalidParams(Param.ChallengePeriod);
        }
        if (p.absenceLookback > MAX_ABSENCE_LOOKBACK) revert InvalidParams(Param.AbsenceLookback);
        if (p.minAbsenceWindow < MIN_ABSENCE_WINDOW || p.minAbsenceWindow > p.absenceLookback) {
            revert InvalidParams(Param.MinAbsenceWindow);
        }
        if (p.absenceSlashBps > MAX_ABSENCE_SLASH_BPS) revert InvalidParams(Param.AbsenceSlashBps);
        if (p.maxAbsenceSlashes == 0 || p.maxAbsenceSlashes > MAX_ABSENCE_SLASHES_PER_EPOCH) {
            revert InvalidParams(Param.MaxAbsenceSlashes);
        }
        if (p.removalSlashBps > BPS) revert InvalidParams(Param.RemovalSlashBps);
        if (p.forgerySlashBps < MIN_FORGERY_SLASH_BPS || p.forgerySlashBps > BPS) {
            revert InvalidParams(Param.ForgerySlashBps);
        }
        if (p.proverRewardBps > MAX_PROVER_REWARD_BPS) revert InvalidParams(Param.ProverRewardBps);
    }
}
