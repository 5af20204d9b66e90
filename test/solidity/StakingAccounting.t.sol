// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RelayStaking} from "../../contracts/staking/RelayStaking.sol";
import {SlashingCourt} from "../../contracts/staking/SlashingCourt.sol";
import {IRelayStaking} from "../../contracts/staking/IRelayStaking.sol";
import {TestStakeToken} from "../../contracts/staking/TestStakeToken.sol";
import {SourceGateway} from "../../contracts/gateway/SourceGateway.sol";
import {ISourceGateway} from "../../contracts/interfaces/ISourceGateway.sol";
import {MessageLib} from "../../contracts/gateway/MessageLib.sol";

/// @dev The few Hardhat/Foundry cheatcodes these tests use.
interface ICheatcodes {
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function addr(uint256 privateKey) external returns (address);
    function sign(uint256 privateKey, bytes32 digest) external returns (uint8 v, bytes32 r, bytes32 s);
}

/// @title StakingAccountingTest
/// @notice Fuzzes sequences of stake, unbond, withdraw, slashing (absence, removal, forgery), claims, parameter
///         changes and key hand-overs, and checks after every step that no stake is created or lost: the staking
///         contract holds exactly the sum of all stakes, unbonding stakes and unclaimed rewards, and every minted
///         token is either there or with a participant.
// Test names follow the testFuzz_ convention of Solidity test runners; `<=` states the rules as written.
// solhint-disable func-name-mixedcase, gas-strict-inequalities
contract StakingAccountingTest {
    error AccountingBroken(uint256 held, uint256 owed);
    error TokensLost(uint256 minted, uint256 accounted);
    error SlashCreatedStake(uint256 before, uint256 afterwards);

    ICheatcodes private constant VM = ICheatcodes(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 private constant NODES = 4;
    uint256 private constant MAX_KEYS = 4;
    uint64 private constant DST_CHAIN_ID = 999;
    address private constant TARGET_GATEWAY = address(0xAA);

    TestStakeToken private token;
    RelayStaking private staking;
    SlashingCourt private court;
    SourceGateway private gateway;
    uint256[NODES] private operatorKeys;
    address[NODES] private operators;
    address[NODES] private stakers;
    address private treasury = address(0x7EA5);
    address private prover = address(0xB0B);
    uint256 private relayKey = 1; // the live cluster key; its public key is relayKey * G
    uint256 private minted;
    uint64 private forgeryNonce;
    uint256 private equivocations;

    function setUp() public {
        token = new TestStakeToken("Stake", "STK", address(this));
        staking = new RelayStaking(token, address(this), treasury, _params(1_000, 5_000));
        court = SlashingCourt(staking.court());
        gateway = new SourceGateway(address(this), address(this), 1024);
        staking.setSourceGateway(ISourceGateway(address(gateway)));
        for (uint256 i = 0; i < NODES; ++i) {
            operatorKeys[i] = 0xA11CE + i;
            operators[i] = VM.addr(operatorKeys[i]);
            stakers[i] = address(uint160(0x5000 + i));
            bytes memory identity = abi.encodePacked("peer-", i);
            bytes32 digest = staking.registrationDigest(stakers[i], identity);
            VM.prank(stakers[i]);
            staking.register(operators[i], identity, _sign(operatorKeys[i], digest), hex"01");
            _stake(i, 10 ether * (i + 1));
        }
        _handOver(false);
        _checkAccounting();
    }

    /// @notice Each action word picks an operation, a node and an amount.
    function testFuzz_StakeIsConserved(uint256[12] calldata actions) public {
        for (uint256 i = 0; i < actions.length; ++i) {
            uint256 action = actions[i];
            uint256 node = (action >> 8) % NODES;
            uint256 amount = (action >> 16) % 50 ether;
            uint256 op = action % 9;
            uint256 slashableBefore = _totalSlashable();
            if (op == 0) {
                if (!staking.getNode(operators[node]).removed) _stake(node, amount);
            } else if (op == 1) {
                _requestUnbond(node, amount);
            } else if (op == 2) {
                VM.warp(block.timestamp + (action >> 80) % 20 days);
                _withdraw(node);
            } else if (op == 3) {
                _slashAbsence(node);
                _requireNoStakeCreated(slashableBefore);
            } else if (op == 4) {
                _removeForEquivocation(node);
                _requireNoStakeCreated(slashableBefore);
            } else if (op == 5) {
                _proveForgery();
                _requireNoStakeCreated(slashableBefore);
            } else if (op == 6) {
                _claim(node);
            } else if (op == 7) {
                _setSlashBps(uint16((action >> 96) % 1_001), uint16(1_000 + (action >> 112) % 9_001));
            } else {
                _handOver((action >> 128) % 2 == 0);
            }
            _checkAccounting();
        }
    }

    /// @notice Slashing takes exactly its share of active plus unbonding stake, active stake first.
    function testFuzz_SlashTakesItsShare(uint96 active, uint96 unbonding, uint16 bps) public {
        bps = uint16(bps % 1_001);
        uint256 node = 0;
        _stake(node, uint256(active) + unbonding);
        _requestUnbond(node, unbonding);
        IRelayStaking.Node memory before = staking.getNode(operators[node]);
        _setSlashBps(bps, 5_000);
        _slashAbsence(node);
        IRelayStaking.Node memory afterwards = staking.getNode(operators[node]);
        uint256 expected = ((before.stake + before.unbonding) * bps) / staking.BPS();
        uint256 taken = before.stake + before.unbonding - afterwards.stake - afterwards.unbonding;
        if (taken != expected) revert AccountingBroken(taken, expected);
        if (expected <= before.stake && afterwards.unbonding != before.unbonding) {
            revert AccountingBroken(afterwards.unbonding, before.unbonding);
        }
        _checkAccounting();
    }

    function _params(uint16 absenceBps, uint16 forgeryBps) private pure returns (IRelayStaking.Params memory) {
        return IRelayStaking.Params({
            minStake: 1 ether,
            unbondingPeriod: 1 days,
            challengePeriod: 1 hours,
            minAbsenceWindow: 5,
            absenceLookback: 1_000,
            absenceSlashBps: absenceBps,
            maxAbsenceSlashes: 3,
            removalSlashBps: 5_000,
            forgerySlashBps: forgeryBps,
            proverRewardBps: 2_000
        });
    }

    function _stake(uint256 node, uint256 amount) private {
        if (amount == 0) return;
        token.mint(stakers[node], amount);
        minted += amount;
        VM.startPrank(stakers[node]);
        token.approve(address(staking), amount);
        staking.stake(operators[node], amount);
        VM.stopPrank();
    }

    function _requestUnbond(uint256 node, uint256 amount) private {
        IRelayStaking.Node memory record = staking.getNode(operators[node]);
        amount = record.stake == 0 ? 0 : amount % (record.stake + 1);
        if (amount == 0) return;
        VM.prank(stakers[node]);
        staking.requestUnbond(operators[node], amount);
    }

    function _withdraw(uint256 node) private {
        IRelayStaking.Node memory record = staking.getNode(operators[node]);
        if (record.unbonding == 0 || block.timestamp < record.unbondingReleaseTime) return;
        if (block.timestamp < staking.lockedUntil(operators[node])) return;
        VM.prank(stakers[node]);
        staking.withdraw(operators[node]);
    }

    /// @dev Elects every member still electable, with the live key (a hand-over) or a fresh one (retiring it).
    function _handOver(bool fresh) private {
        address[] memory electable = new address[](NODES);
        uint256 count;
        for (uint256 i = 0; i < NODES; ++i) {
            IRelayStaking.Node memory record = staking.getNode(operators[i]);
            if (!record.removed && record.stake >= 1 ether) electable[count++] = operators[i];
        }
        if (count < 2) return;
        if (fresh && relayKey < MAX_KEYS) ++relayKey;
        uint64 latest = staking.latestEpoch();
        if (!fresh && staking.lineage(VM.addr(relayKey)).length == staking.MAX_EPOCHS_PER_KEY()) return;
        assembly ("memory-safe") {
            mstore(electable, count)
        }
        uint64 epoch = staking.electCommittee(electable, 2);
        bytes memory publicKey = _publicKey(relayKey);
        for (uint256 i = 0; i < count; ++i) {
            VM.prank(electable[i]);
            staking.submitClusterKey(epoch, publicKey);
        }
        if (staking.relayAddress(epoch) != VM.addr(relayKey) || epoch != latest + 1) revert AccountingBroken(epoch, 0);
    }

    function _slashAbsence(uint256 node) private {
        uint64 epoch = staking.activeEpoch();
        if (!staking.isMember(epoch, operators[node]) || staking.getNode(operators[node]).removed) return;
        (,,, uint64 minWindow,,,,,,) = staking.params();
        IRelayStaking.EpochInfo memory info = staking.epochInfo(epoch);
        uint64 fromBlock = court.absenceSlashedUntil(operators[node]);
        if (fromBlock < info.startBlock) fromBlock = info.startBlock;
        uint64 toBlock = fromBlock + minWindow - 1;
        if (block.number <= toBlock) VM.roll(toBlock + 1);
        if (staking.slashableStake(operators[node]) == 0) return;
        IRelayStaking.AbsenceProposal memory proposal =
            IRelayStaking.AbsenceProposal({epoch: epoch, node: operators[node], fromBlock: fromBlock, toBlock: toBlock});
        bytes32 digest = _stakingDigest(
            keccak256(abi.encode(court.ABSENCE_SLASH_TYPEHASH(), epoch, operators[node], fromBlock, toBlock))
        );
        bytes[] memory signatures = _signByOthers(epoch, node, digest);
        try court.slashAbsence(proposal, signatures) {
            return;
        } catch (bytes memory reason) {
            // Refusals the rules allow: a slash rounding to zero, the cap, too few members left, an old window.
            bytes4 selector = bytes4(reason);
            if (
                selector != IRelayStaking.NothingToSlash.selector && selector != IRelayStaking.AbsenceCapReached.selector
                    && selector != IRelayStaking.TooFewSigners.selector && selector != IRelayStaking.WindowTooOld.selector
            ) _bubble(reason);
        }
    }

    function _removeForEquivocation(uint256 node) private {
        if (staking.getNode(operators[node]).removed) return;
        ++equivocations;
        bytes memory first = abi.encodePacked("envelope ", equivocations, sha256("share a"));
        bytes memory second = abi.encodePacked("envelope ", equivocations, sha256("share b"));
        court.removeForEquivocation(
            operators[node],
            first,
            second,
            _sign(operatorKeys[node], _headerDigest(first)),
            _sign(operatorKeys[node], _headerDigest(second))
        );
    }

    function _proveForgery() private {
        MessageLib.Message memory message = MessageLib.Message({
            nonce: 1_000_000 + forgeryNonce,
            srcChainId: uint64(block.chainid),
            srcGateway: address(gateway),
            sender: address(this),
            dstChainId: DST_CHAIN_ID,
            receiver: prover,
            gasLimit: 100_000,
            payload: "forged"
        });
        ++forgeryNonce;
        bytes memory signature = _sign(relayKey, MessageLib.digest(message, TARGET_GATEWAY));
        VM.prank(prover);
        court.proveForgery(message, TARGET_GATEWAY, signature);
    }

    function _claim(uint256 node) private {
        address[3] memory claimers = [stakers[node], prover, treasury];
        address claimer = claimers[node % 3];
        if (staking.rewards(claimer) == 0) return;
        VM.prank(claimer);
        staking.claimRewards();
    }

    /// @dev Requests bounded slash rates and applies them once their delay has passed.
    function _setSlashBps(uint16 absenceBps, uint16 forgeryBps) private {
        IRelayStaking.Params memory next = _params(absenceBps, forgeryBps);
        staking.requestParams(next);
        VM.warp(block.timestamp + staking.PARAMS_DELAY());
        staking.applyParams(next);
    }

    function _checkAccounting() private view {
        uint256 owed = _totalSlashable();
        uint256 outside = token.balanceOf(prover) + token.balanceOf(treasury);
        owed += staking.rewards(prover) + staking.rewards(treasury);
        for (uint256 i = 0; i < NODES; ++i) {
            owed += staking.rewards(stakers[i]);
            outside += token.balanceOf(stakers[i]);
        }
        uint256 held = token.balanceOf(address(staking));
        if (held != owed) revert AccountingBroken(held, owed);
        if (held + outside != minted || token.totalSupply() != minted) revert TokensLost(minted, held + outside);
    }

    function _requireNoStakeCreated(uint256 before) private view {
        uint256 afterwards = _totalSlashable();
        if (afterwards > before) revert SlashCreatedStake(before, afterwards);
    }

    function _totalSlashable() private view returns (uint256 total) {
        for (uint256 i = 0; i < NODES; ++i) {
            total += staking.slashableStake(operators[i]);
        }
    }

    /// @dev Signatures of every non-removed member of `epoch` but `skip`, ordered by signer address.
    function _signByOthers(uint64 epoch, uint256 skip, bytes32 digest) private returns (bytes[] memory signatures) {
        uint256[] memory order = new uint256[](NODES);
        uint256 count;
        for (uint256 i = 0; i < NODES; ++i) {
            if (i == skip || !staking.isMember(epoch, operators[i]) || staking.getNode(operators[i]).removed) continue;
            uint256 j = count;
            ++count;
            while (j > 0 && operators[order[j - 1]] > operators[i]) {
                order[j] = order[j - 1];
                --j;
            }
            order[j] = i;
        }
        signatures = new bytes[](count);
        for (uint256 k = 0; k < count; ++k) {
            signatures[k] = _sign(operatorKeys[order[k]], digest);
        }
    }

    function _headerDigest(bytes memory header) private view returns (bytes32) {
        return _stakingDigest(keccak256(abi.encode(court.PROTOCOL_MESSAGE_TYPEHASH(), keccak256(header))));
    }

    function _stakingDigest(bytes32 structHash) private view returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                MessageLib.DOMAIN_TYPEHASH, keccak256("MpcRelayStaking"), keccak256("1"), block.chainid, address(staking)
            )
        );
        return keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash));
    }

    /// @dev x || y of key * G, for the small keys used here (the generator's multiples, precomputed).
    function _publicKey(uint256 key) private pure returns (bytes memory) {
        if (key == 1) {
            return abi.encodePacked(
                uint256(0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798),
                uint256(0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)
            );
        }
        if (key == 2) {
            return abi.encodePacked(
                uint256(0xC6047F9441ED7D6D3045406E95C07CD85C778E4B8CEF3CA7ABAC09B95C709EE5),
                uint256(0x1AE168FEA63DC339A3C58419466CEAEEF7F632653266D0E1236431A950CFE52A)
            );
        }
        if (key == 3) {
            return abi.encodePacked(
                uint256(0xF9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9),
                uint256(0x388F7B0F632DE8140FE337E62A37F3566500A99934C2231B6CB9FD7584B8E672)
            );
        }
        return abi.encodePacked(
            uint256(0xE493DBF1C10D80F3581E4904930B1404CC6C13900EE0758474FA94ABE8C4CD13),
            uint256(0x51ED993EA0D455B75642E2098EA51448D967AE33BFBDFE40CFE97BDC47739922)
        );
    }

    function _sign(uint256 privateKey, bytes32 digest) private returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = VM.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }

    function _bubble(bytes memory reason) private pure {
        assembly {
            revert(add(reason, 32), mload(reason))
        }
    }
}
