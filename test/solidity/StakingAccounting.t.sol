// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RelayStaking} from "../../contracts/staking/RelayStaking.sol";
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
/// @notice Fuzzes sequences of stake, unbond, withdraw, slash (absence, removal, forgery), claim and parameter
///         changes, and checks after every step that no stake is created or lost: the staking contract holds
///         exactly the sum of all stakes, unbonding stakes and unclaimed rewards, and every minted token is
///         either there or with a participant.
// Test names follow the testFuzz_ convention of Solidity test runners; `<=` states the rules as written.
// solhint-disable func-name-mixedcase, gas-strict-inequalities
contract StakingAccountingTest {
    error AccountingBroken(uint256 held, uint256 owed);
    error TokensLost(uint256 minted, uint256 accounted);
    error SlashCreatedStake(uint256 before, uint256 afterwards);

    ICheatcodes private constant VM = ICheatcodes(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 private constant NODES = 4;
    uint256 private constant RELAY_KEY = 1; // public key = the generator G
    bytes private constant RELAY_PUBLIC_KEY = abi.encodePacked(
        uint256(0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798),
        uint256(0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)
    );
    uint64 private constant DST_CHAIN_ID = 999;
    address private constant TARGET_GATEWAY = address(0xAA);

    TestStakeToken private token;
    RelayStaking private staking;
    SourceGateway private gateway;
    uint256[NODES] private operatorKeys;
    address[NODES] private operators;
    address[NODES] private stakers;
    address private treasury = address(0x7EA5);
    address private prover = address(0xB0B);
    address private relay;
    uint256 private minted;
    uint64 private forgeryNonce;

    function setUp() public {
        token = new TestStakeToken("Stake", "STK", address(this));
        staking = new RelayStaking(
            token,
            address(this),
            treasury,
            RelayStaking.Params({
                minStake: 1 ether,
                unbondingPeriod: 1 days,
                minAbsenceWindow: 5,
                absenceSlashBps: 1_000,
                removalSlashBps: 5_000,
                forgerySlashBps: 5_000,
                proverRewardBps: 2_000
            })
        );
        gateway = new SourceGateway(address(this), address(this), 1024);
        staking.setSourceGateway(ISourceGateway(address(gateway)));

        address[] memory members = new address[](NODES);
        for (uint256 i = 0; i < NODES; ++i) {
            operatorKeys[i] = 0xA11CE + i;
            operators[i] = VM.addr(operatorKeys[i]);
            stakers[i] = address(uint160(0x5000 + i));
            bytes memory identity = abi.encodePacked("peer-", i);
            bytes32 digest = staking.registrationDigest(stakers[i], identity);
            VM.prank(stakers[i]);
            staking.register(operators[i], identity, _sign(operatorKeys[i], digest));
            _stake(i, 10 ether * (i + 1));
            members[i] = operators[i];
        }
        staking.electCommittee(members, 3);
        for (uint256 i = 0; i < NODES; ++i) {
            VM.prank(operators[i]);
            staking.submitClusterKey(1, RELAY_PUBLIC_KEY);
        }
        relay = staking.currentRelay();
        _checkAccounting();
    }

    /// @notice Each action word picks an operation, a node and an amount.
    function testFuzz_StakeIsConserved(uint256[12] calldata actions) public {
        for (uint256 i = 0; i < actions.length; ++i) {
            uint256 action = actions[i];
            uint256 node = (action >> 8) % NODES;
            uint256 amount = (action >> 16) % 50 ether;
            uint256 op = action % 8;
            uint256 slashableBefore = _totalSlashable();
            if (op == 0) {
                if (!staking.getNode(operators[node]).removed) _stake(node, amount);
            } else if (op == 1) {
                _requestUnbond(node, amount);
            } else if (op == 2) {
                VM.warp(block.timestamp + (action >> 80) % 2 days);
                _withdraw(node);
            } else if (op == 3) {
                _slashAbsence(node);
                _requireNoStakeCreated(slashableBefore);
            } else if (op == 4) {
                _removeNode(node);
                _requireNoStakeCreated(slashableBefore);
            } else if (op == 5) {
                _proveForgery();
                _requireNoStakeCreated(slashableBefore);
            } else if (op == 6) {
                _claim(node);
            } else {
                _setSlashBps(uint16((action >> 96) % 10_001), uint16((action >> 112) % 10_001));
            }
            _checkAccounting();
        }
    }

    /// @notice Slashing takes exactly its share of active plus unbonding stake, active stake first.
    function testFuzz_SlashTakesItsShare(uint96 active, uint96 unbonding, uint16 bps) public {
        bps = uint16(bps % 10_001);
        uint256 node = 0;
        _stake(node, uint256(active) + unbonding);
        _requestUnbond(node, unbonding);
        RelayStaking.Node memory before = staking.getNode(operators[node]);
        _setSlashBps(bps, 0);
        _slashAbsence(node);
        RelayStaking.Node memory afterwards = staking.getNode(operators[node]);
        uint256 expected = ((before.stake + before.unbonding) * bps) / staking.BPS();
        uint256 taken = before.stake + before.unbonding - afterwards.stake - afterwards.unbonding;
        if (taken != expected) revert AccountingBroken(taken, expected);
        if (expected <= before.stake && afterwards.unbonding != before.unbonding) {
            revert AccountingBroken(afterwards.unbonding, before.unbonding);
        }
        _checkAccounting();
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
        RelayStaking.Node memory record = staking.getNode(operators[node]);
        amount = record.stake == 0 ? 0 : amount % (record.stake + 1);
        if (amount == 0) return;
        VM.prank(stakers[node]);
        staking.requestUnbond(operators[node], amount);
    }

    function _withdraw(uint256 node) private {
        RelayStaking.Node memory record = staking.getNode(operators[node]);
        if (record.unbonding == 0 || block.timestamp < record.unbondingReleaseTime) return;
        VM.prank(stakers[node]);
        staking.withdraw(operators[node]);
    }

    function _slashAbsence(uint256 node) private {
        (,, uint64 minWindow,,,,) = staking.params();
        (,,, uint64 startBlock,) = staking.committee(1);
        uint64 fromBlock = staking.absenceSlashedUntil(operators[node]);
        if (fromBlock < startBlock) fromBlock = startBlock;
        uint64 toBlock = fromBlock + minWindow - 1;
        if (block.number <= toBlock) VM.roll(toBlock + 1);
        if (staking.slashableStake(operators[node]) == 0) return;
        RelayStaking.AbsenceProposal memory proposal = RelayStaking.AbsenceProposal({
            epoch: 1,
            node: operators[node],
            fromBlock: fromBlock,
            toBlock: toBlock
        });
        VM.prank(relay);
        try staking.slashAbsence(proposal, new bytes[](0)) {
            return;
        } catch (bytes memory reason) {
            // Only a slash that rounds to zero may be refused.
            if (bytes4(reason) != RelayStaking.NothingToSlash.selector) _bubble(reason);
        }
    }

    /// @dev All other active members sign; when the offender holds half the stake or more that is no majority.
    function _removeNode(uint256 offender) private {
        if (staking.getNode(operators[offender]).removed) return;
        // Headers end in the SHA-256 of their payload, as the nodes' signed message headers do.
        RelayStaking.Evidence memory evidence = RelayStaking.Evidence({
            messages: new bytes[](2), payloads: new bytes[](2), signatures: new bytes[](2)
        });
        evidence.payloads[0] = abi.encodePacked("commitment from ", offender);
        evidence.payloads[1] = abi.encodePacked("bad share from ", offender);
        for (uint256 i = 0; i < 2; ++i) {
            evidence.messages[i] = abi.encodePacked("header ", offender, i, sha256(evidence.payloads[i]));
            evidence.signatures[i] = _sign(
                operatorKeys[offender],
                _stakingDigest(
                    keccak256(abi.encode(staking.PROTOCOL_MESSAGE_TYPEHASH(), keccak256(evidence.messages[i])))
                )
            );
        }
        bytes32 evidenceHash =
            keccak256(abi.encodePacked(keccak256(evidence.messages[0]), keccak256(evidence.messages[1])));
        RelayStaking.RemovalProposal memory proposal =
            RelayStaking.RemovalProposal({epoch: 1, node: operators[offender], evidenceHash: evidenceHash});
        bytes32 digest = _stakingDigest(
            keccak256(abi.encode(staking.REMOVAL_TYPEHASH(), uint64(1), operators[offender], evidenceHash))
        );
        (bytes[] memory signatures, address submitter) = _signSorted(offender, digest);
        if (submitter == address(0)) return;
        VM.prank(submitter);
        try staking.removeNode(proposal, evidence, signatures) {
            return;
        } catch (bytes memory reason) {
            if (bytes4(reason) != RelayStaking.InsufficientSignedStake.selector) _bubble(reason);
        }
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
        bytes memory signature = _sign(RELAY_KEY, MessageLib.digest(message, TARGET_GATEWAY));
        VM.prank(prover);
        staking.proveForgery(1, message, TARGET_GATEWAY, signature);
    }

    function _claim(uint256 node) private {
        address[3] memory claimers = [stakers[node], prover, treasury];
        address claimer = claimers[node % 3];
        if (staking.rewards(claimer) == 0) return;
        VM.prank(claimer);
        staking.claimRewards();
    }

    function _setSlashBps(uint16 absenceBps, uint16 forgeryBps) private {
        (uint256 minStake, uint64 unbondingPeriod, uint64 minWindow,, uint16 removalBps,, uint16 rewardBps) =
            staking.params();
        staking.setParams(
            RelayStaking.Params({
                minStake: minStake,
                unbondingPeriod: unbondingPeriod,
                minAbsenceWindow: minWindow,
                absenceSlashBps: absenceBps,
                removalSlashBps: removalBps,
                forgerySlashBps: forgeryBps,
                proverRewardBps: rewardBps
            })
        );
    }

    function _checkAccounting() private view {
        uint256 owed = _totalSlashable();
        uint256 outside = token.balanceOf(prover) + token.balanceOf(treasury) + token.balanceOf(relay);
        owed += staking.rewards(prover) + staking.rewards(treasury) + staking.rewards(relay);
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

    /// @dev Signatures of every non-removed member but `skip`, ordered by signer address as the contract
    ///      requires, and one of those signers to submit them (zero if there is none).
    function _signSorted(uint256 skip, bytes32 digest) private returns (bytes[] memory signatures, address submitter) {
        uint256[] memory order = new uint256[](NODES);
        uint256 count;
        for (uint256 i = 0; i < NODES; ++i) {
            if (i == skip || staking.getNode(operators[i]).removed) continue;
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
        if (count != 0) submitter = operators[order[0]];
    }

    function _stakingDigest(bytes32 structHash) private view returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                MessageLib.DOMAIN_TYPEHASH,
                keccak256("MpcRelayStaking"),
                keccak256("1"),
                block.chainid,
                address(staking)
            )
        );
        return keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash));
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
