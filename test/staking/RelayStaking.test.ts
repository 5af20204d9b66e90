import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { concat, getAddress, hashTypedData, keccak256, parseEther, sha256, toHex, zeroAddress, type Address, type Hex, type WalletClient } from "viem";
import {
  DAY,
  DST_CHAIN_ID,
  PARAMS,
  STAKES,
  deployConfirmed,
  deployStaking,
  identityOf,
  networkHelpers,
  relayKey,
  signAbsence,
  signProtocolMessage,
  signProtocolMessages,
  signRemoval,
  viem,
} from "./fixture.ts";
import { MAX_EVIDENCE_MESSAGES, removalEvidenceHash, stakingTypes } from "../../relayer/staking/typed-data.ts";
import { MessageBatch, messageId, messageLeaf, messageTypedData, type Message } from "../../relayer/sdk/message.ts";
import { replayMultiProof } from "../../relayer/staking/watcher.ts";

const { loadFixture, time, mine } = networkHelpers;
const BPS = 10_000n;

function addressOf(wallet: WalletClient): Address {
  return wallet.account!.address;
}

describe("TestStakeToken", () => {
  it("lets only the owner and appointed minters mint", async () => {
    const { token, stranger, prover } = await loadFixture(deployStaking);
    await viem.assertions.revertWithCustomErrorWithArgs(
      token.write.mint([addressOf(stranger), 1n], { account: stranger.account! }),
      token,
      "NotMinter",
      [getAddress(addressOf(stranger))],
    );
    await viem.assertions.revertWithCustomError(
      token.write.setMinter([addressOf(prover), true], { account: stranger.account! }),
      token,
      "OwnableUnauthorizedAccount",
    );
    await viem.assertions.revertWithCustomError(token.write.setMinter([zeroAddress, true]), token, "ZeroMinter");
    await viem.assertions.emitWithArgs(token.write.setMinter([addressOf(prover), true]), token, "MinterSet", [
      getAddress(addressOf(prover)),
      true,
    ]);
    await token.write.mint([addressOf(stranger), 5n], { account: prover.account! });
    assert.equal(await token.read.balanceOf([addressOf(stranger)]), 5n);
    await token.write.setMinter([addressOf(prover), false]);
    await viem.assertions.revertWithCustomError(
      token.write.mint([addressOf(stranger), 1n], { account: prover.account! }),
      token,
      "NotMinter",
    );
  });
});

describe("RelayStaking: governance", () => {
  it("refuses a zero token, a zero treasury and bad parameters at deployment", async () => {
    const { token, owner, staking } = await loadFixture(deployStaking);
    const me = addressOf(owner);
    await viem.assertions.revertWithCustomError(
      viem.deployContract("RelayStaking", [zeroAddress, me, me, PARAMS]),
      staking,
      "ZeroAddress",
    );
    await viem.assertions.revertWithCustomError(
      viem.deployContract("RelayStaking", [token.address, me, zeroAddress, PARAMS]),
      staking,
      "ZeroAddress",
    );
    await viem.assertions.revertWithCustomError(
      viem.deployContract("RelayStaking", [token.address, me, me, { ...PARAMS, unbondingPeriod: 0n }]),
      staking,
      "InvalidParams",
    );
  });

  it("restricts every governance function to the owner", async () => {
    const { staking, stranger, members, gateway } = await loadFixture(deployStaking);
    const asStranger = { account: stranger.account! };
    const calls = [
      staking.write.setParams([PARAMS], asStranger),
      staking.write.setTreasury([addressOf(stranger)], asStranger),
      staking.write.setSourceGateway([gateway.address], asStranger),
      staking.write.electCommittee([members, 3], asStranger),
    ];
    for (const call of calls) {
      await viem.assertions.revertWithCustomErrorWithArgs(call, staking, "OwnableUnauthorizedAccount", [
        getAddress(addressOf(stranger)),
      ]);
    }
  });

  it("sets parameters, treasury and source gateway with events and validation", async () => {
    const { staking, gateway, prover } = await loadFixture(deployStaking);
    for (const bad of [
      { ...PARAMS, unbondingPeriod: 0n },
      { ...PARAMS, absenceSlashBps: 10_001 },
      { ...PARAMS, removalSlashBps: 10_001 },
      { ...PARAMS, forgerySlashBps: 10_001 },
      { ...PARAMS, proverRewardBps: 10_001 },
    ]) {
      await viem.assertions.revertWithCustomError(staking.write.setParams([bad]), staking, "InvalidParams");
    }
    await viem.assertions.emit(staking.write.setParams([{ ...PARAMS, minStake: 1n }]), staking, "ParamsSet");
    assert.equal((await staking.read.params())[0], 1n);
    await viem.assertions.revertWithCustomError(staking.write.setTreasury([zeroAddress]), staking, "ZeroAddress");
    await viem.assertions.emitWithArgs(staking.write.setTreasury([addressOf(prover)]), staking, "TreasurySet", [
      getAddress(addressOf(prover)),
    ]);
    await viem.assertions.revertWithCustomError(staking.write.setSourceGateway([zeroAddress]), staking, "ZeroAddress");
    await viem.assertions.emitWithArgs(staking.write.setSourceGateway([gateway.address]), staking, "SourceGatewaySet", [
      getAddress(gateway.address),
    ]);
    assert.equal(await staking.read.sourceGateway(), getAddress(gateway.address));
  });

  it("transfers ownership in two steps", async () => {
    const { staking, owner, stranger } = await loadFixture(deployStaking);
    await staking.write.transferOwnership([addressOf(stranger)]);
    assert.equal(await staking.read.owner(), getAddress(addressOf(owner)));
    await staking.write.acceptOwnership({ account: stranger.account! });
    assert.equal(await staking.read.owner(), getAddress(addressOf(stranger)));
  });
});

describe("RelayStaking: registration and stake", () => {
  it("registers a node with the operator's consent", async () => {
    const d = await loadFixture(deployStaking);
    const node = await d.staking.read.getNode([d.members[0]!]);
    assert.equal(node.staker, getAddress(addressOf(d.stakers[0]!)));
    assert.equal(node.stake, STAKES[0]);
    assert.equal(node.identity, identityOf(0));
    assert.equal(node.removed, false);
    assert.equal(await d.staking.read.identityTaken([keccak256(identityOf(0))]), true);
    assert.equal(
      await d.staking.read.registrationDigest([addressOf(d.stakers[0]!), identityOf(0)]),
      hashTypedData({
        domain: d.domain,
        types: stakingTypes,
        primaryType: "OperatorRegistration",
        message: { staker: addressOf(d.stakers[0]!), identityHash: keccak256(identityOf(0)) },
      }),
    );

    const operator = d.operators[4]!;
    const staker = d.stakers[0]!;
    const identity = identityOf(4);
    const signature = await d.signRegistration(operator, addressOf(staker), identity);
    // Ids count registrations from 1: they are the nodes' party indices in every committee's keys.
    const id = (await d.staking.read.nodeCount()) + 1;
    await viem.assertions.emitWithArgs(
      d.staking.write.register([addressOf(operator), identity, signature], { account: staker.account! }),
      d.staking,
      "NodeRegistered",
      [getAddress(addressOf(operator)), getAddress(addressOf(staker)), id, identity],
    );
    assert.equal((await d.staking.read.getNode([addressOf(operator)])).id, id);
    assert.equal(await d.staking.read.nodeCount(), id);
  });

  it("refuses bad registrations", async () => {
    const d = await loadFixture(deployStaking);
    const operator = d.operators[4]!;
    const staker = d.stakers[0]!;
    const as = { account: staker.account! };
    const identity = identityOf(4);
    const signature = await d.signRegistration(operator, addressOf(staker), identity);
    await viem.assertions.revertWithCustomError(
      d.staking.write.register([zeroAddress, identity, signature], as),
      d.staking,
      "ZeroAddress",
    );
    await viem.assertions.revertWithCustomError(
      d.staking.write.register([addressOf(operator), "0x", signature], as),
      d.staking,
      "InvalidIdentity",
    );
    await viem.assertions.revertWithCustomError(
      d.staking.write.register([addressOf(operator), toHex(new Uint8Array(257)), signature], as),
      d.staking,
      "InvalidIdentity",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      d.staking.write.register([d.members[0]!, identity, signature], as),
      d.staking,
      "OperatorTaken",
      [getAddress(d.members[0]!)],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      d.staking.write.register([addressOf(operator), identityOf(0), signature], as),
      d.staking,
      "IdentityTaken",
      [keccak256(identityOf(0))],
    );
    // Consent given to another staker, or signed by another key, or not a signature at all.
    await viem.assertions.revertWithCustomError(
      d.staking.write.register([addressOf(operator), identity, signature], { account: d.stakers[1]!.account! }),
      d.staking,
      "InvalidOperatorSignature",
    );
    const wrongKey = await d.signRegistration(d.operators[0]!, addressOf(staker), identity);
    await viem.assertions.revertWithCustomError(
      d.staking.write.register([addressOf(operator), identity, wrongKey], as),
      d.staking,
      "InvalidOperatorSignature",
    );
    await viem.assertions.revertWithCustomError(
      d.staking.write.register([addressOf(operator), identity, "0x1234"], as),
      d.staking,
      "InvalidOperatorSignature",
    );
  });

  it("stakes, unbonds and withdraws only after the unbonding period", async () => {
    const d = await loadFixture(deployStaking);
    const staker = d.stakers[0]!;
    const operator = d.members[0]!;
    const as = { account: staker.account! };
    const amount = parseEther("40");

    await viem.assertions.revertWithCustomError(d.staking.write.withdraw([operator], as), d.staking, "NothingToWithdraw");
    await viem.assertions.emit(d.staking.write.requestUnbond([operator, amount], as), d.staking, "UnbondRequested");
    const requestedAt = BigInt(await time.latest());
    let node = await d.staking.read.getNode([operator]);
    assert.equal(node.stake, STAKES[0] - amount);
    assert.equal(node.unbonding, amount);
    assert.equal(node.unbondingReleaseTime, requestedAt + PARAMS.unbondingPeriod);
    assert.equal(await d.staking.read.slashableStake([operator]), STAKES[0]);

    await time.increase(PARAMS.unbondingPeriod - 10n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      d.staking.write.withdraw([operator], as),
      d.staking,
      "UnbondingNotFinished",
      [requestedAt + PARAMS.unbondingPeriod],
    );
    await time.increase(10n);
    await viem.assertions.emitWithArgs(d.staking.write.withdraw([operator], as), d.staking, "Withdrawn", [
      getAddress(operator),
      getAddress(addressOf(staker)),
      amount,
    ]);
    assert.equal(await d.token.read.balanceOf([addressOf(staker)]), amount);
    node = await d.staking.read.getNode([operator]);
    assert.equal(node.unbonding, 0n);
    assert.equal(await d.token.read.balanceOf([d.staking.address]), STAKES.reduce((a, b) => a + b) - amount);
  });

  it("restarts the unbonding wait on a new request", async () => {
    const d = await loadFixture(deployStaking);
    const as = { account: d.stakers[0]!.account! };
    const operator = d.members[0]!;
    await d.staking.write.requestUnbond([operator, 1n], as);
    await time.increase(PARAMS.unbondingPeriod - DAY);
    await d.staking.write.requestUnbond([operator, 1n], as);
    await time.increase(DAY);
    await viem.assertions.revertWithCustomError(d.staking.write.withdraw([operator], as), d.staking, "UnbondingNotFinished");
  });

  it("refuses stake operations by anyone but the staker and bad amounts", async () => {
    const d = await loadFixture(deployStaking);
    const operator = d.members[0]!;
    const other = { account: d.stakers[1]!.account! };
    const own = { account: d.stakers[0]!.account! };
    for (const call of [
      d.staking.write.stake([operator, 1n], other),
      d.staking.write.requestUnbond([operator, 1n], other),
      d.staking.write.withdraw([operator], other),
    ]) {
      await viem.assertions.revertWithCustomErrorWithArgs(call, d.staking, "NotStaker", [
        getAddress(addressOf(d.stakers[1]!)),
        getAddress(operator),
      ]);
    }
    const unknown = addressOf(d.stranger);
    for (const call of [
      d.staking.write.stake([unknown, 1n], own),
      d.staking.write.requestUnbond([unknown, 1n], own),
      d.staking.write.withdraw([unknown], own),
    ]) {
      await viem.assertions.revertWithCustomErrorWithArgs(call, d.staking, "UnknownOperator", [getAddress(unknown)]);
    }
    await viem.assertions.revertWithCustomError(d.staking.write.stake([operator, 0n], own), d.staking, "ZeroAmount");
    await viem.assertions.revertWithCustomError(d.staking.write.requestUnbond([operator, 0n], own), d.staking, "ZeroAmount");
    await viem.assertions.revertWithCustomErrorWithArgs(
      d.staking.write.requestUnbond([operator, STAKES[0] + 1n], own),
      d.staking,
      "InsufficientStake",
      [STAKES[0], STAKES[0] + 1n],
    );
    await viem.assertions.revertWithCustomError(d.staking.write.claimRewards(own), d.staking, "NothingToClaim");
  });
});

describe("RelayStaking: election and cluster key", () => {
  it("elects a committee and refuses bad parameters", async () => {
    const d = await loadFixture(deployStaking);
    const { staking, members } = d;
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([[], 1]), staking, "InvalidCommitteeSize", [0n]);
    const tooMany = Array.from({ length: 65 }, () => members[0]!);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([tooMany, 1]), staking, "InvalidCommitteeSize", [65n]);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([members, 0]), staking, "InvalidThreshold", [0n, 4n]);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([members, 5]), staking, "InvalidThreshold", [5n, 4n]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.electCommittee([[members[0]!, addressOf(d.stranger)], 1]),
      staking,
      "UnknownOperator",
      [getAddress(addressOf(d.stranger))],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.electCommittee([[members[0]!, members[1]!, members[0]!], 2]),
      staking,
      "DuplicateMember",
      [getAddress(members[0]!)],
    );
    await d.staking.write.requestUnbond([members[1]!, 1n], { account: d.stakers[1]!.account! });
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.electCommittee([members, 2]),
      staking,
      "BelowMinimumStake",
      [getAddress(members[1]!), STAKES[1] - 1n, PARAMS.minStake],
    );

    const electable = [members[0]!, members[2]!, members[3]!];
    await viem.assertions.emitWithArgs(staking.write.electCommittee([electable, 2]), staking, "CommitteeElected", [
      1n,
      electable.map((a) => getAddress(a)),
      2,
    ]);
    assert.equal(await staking.read.latestEpoch(), 1n);
    const [elected, threshold, relay] = await staking.read.committee([1n]);
    assert.deepEqual(elected, electable.map((a) => getAddress(a)));
    assert.equal(threshold, 2);
    assert.equal(relay, zeroAddress);
    assert.equal(await staking.read.isMember([1n, members[1]!]), false);
    assert.equal(await staking.read.committeeStake([1n]), STAKES[0] + STAKES[2] + STAKES[3]);
  });

  it("confirms the cluster key only once every member submitted the same key", async () => {
    const d = await loadFixture(deployStaking);
    const { staking, members, operators } = d;
    await viem.assertions.revertWithCustomError(staking.read.currentRelay(), staking, "NoConfirmedEpoch");
    await staking.write.electCommittee([members, 3]);
    const good = relayKey("good");
    const bad = relayKey("bad");
    const asMember = (i: number) => ({ account: operators[i]!.account! });

    await viem.assertions.emitWithArgs(
      staking.write.submitClusterKey([1n, good.publicKey], asMember(0)),
      staking,
      "ClusterKeySubmitted",
      [1n, getAddress(members[0]!), good.account.address, good.publicKey],
    );
    await staking.write.submitClusterKey([1n, good.publicKey], asMember(1));
    await staking.write.submitClusterKey([1n, bad.publicKey], asMember(2));
    await staking.write.submitClusterKey([1n, good.publicKey], asMember(3));
    // One differing key blocks confirmation.
    assert.equal(await staking.read.relayAddress([1n]), zeroAddress);
    assert.equal(await staking.read.activeEpoch(), 0n);
    assert.equal(await staking.read.submittedRelay([1n, members[2]!]), bad.account.address);
    await viem.assertions.revertWithCustomError(
      staking.write.submitClusterKey([1n, good.publicKey], asMember(0)),
      staking,
      "KeyAlreadySubmitted",
    );

    // The member resubmits the right key: confirmed.
    await viem.assertions.emitWithArgs(
      staking.write.submitClusterKey([1n, good.publicKey], asMember(2)),
      staking,
      "RelayConfirmed",
      [1n, good.account.address, good.publicKey],
    );
    assert.equal(await staking.read.relayAddress([1n]), good.account.address);
    assert.equal(await staking.read.currentRelay(), good.account.address);
    assert.equal(await staking.read.activeEpoch(), 1n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.submitClusterKey([1n, bad.publicKey], asMember(2)),
      staking,
      "EpochNotPending",
      [1n],
    );
  });

  it("recovers a blocked epoch by re-election, keeping the old relay current meanwhile", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking, members, operators } = d;
    const next = relayKey("epoch 2");
    await staking.write.electCommittee([members.slice(0, 3), 2]);
    await staking.write.submitClusterKey([2n, next.publicKey], { account: operators[0]!.account! });
    await staking.write.submitClusterKey([2n, relayKey("other").publicKey], { account: operators[1]!.account! });
    assert.equal(await staking.read.currentRelay(), d.relay.account.address);

    await staking.write.electCommittee([members.slice(0, 3), 2]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.submitClusterKey([2n, next.publicKey], { account: operators[2]!.account! }),
      staking,
      "EpochNotPending",
      [2n],
    );
    for (const operator of operators.slice(0, 3)) {
      await staking.write.submitClusterKey([3n, next.publicKey], { account: operator.account! });
    }
    assert.equal(await staking.read.currentRelay(), next.account.address);
    assert.equal(await staking.read.activeEpoch(), 3n);
    assert.equal(await staking.read.relayAddress([1n]), d.relay.account.address);
    assert.equal(await staking.read.relayAddress([2n]), zeroAddress);
  });

  it("refuses bad key submissions", async () => {
    const d = await loadFixture(deployStaking);
    const { staking, members, operators } = d;
    const key = relayKey("k").publicKey;
    const asMember = { account: operators[0]!.account! };
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.submitClusterKey([0n, key], asMember),
      staking,
      "EpochNotPending",
      [0n],
    );
    await staking.write.electCommittee([members.slice(0, 3), 2]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.submitClusterKey([2n, key], asMember),
      staking,
      "EpochNotPending",
      [2n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.submitClusterKey([1n, key], { account: operators[3]!.account! }),
      staking,
      "NotCommitteeMember",
      [1n, getAddress(members[3]!)],
    );
    const compressed: Hex = `0x02${key.slice(2, 66)}`;
    const offCurve: Hex = `${key.slice(0, -2)}${key.endsWith("00") ? "01" : "00"}` as Hex;
    const xTooLarge: Hex = `0x${"ff".repeat(32)}${key.slice(66)}`;
    for (const bad of [compressed, offCurve, xTooLarge, `0x${"00".repeat(64)}` as Hex]) {
      await viem.assertions.revertWithCustomError(staking.write.submitClusterKey([1n, bad], asMember), staking, "InvalidPublicKey");
    }
  });
});

describe("RelayStaking: absence slashing", () => {
  async function pastWindow(length = 10n) {
    await mine(Number(length) + 5);
    const head = BigInt(await time.latestBlock());
    return { fromBlock: head - length - 1n, toBlock: head - 2n };
  }

  it("passes with a stake-weighted majority and pays the signers, remainder to the submitter", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking, operators, members, stakers } = d;
    const window = await pastWindow();
    const proposal = { epoch: 1n, node: members[0]!, ...window };
    // Members 3 (300) and 1 (100) hold 400 of 600: a majority by stake with only two of four signers.
    const signatures = await signAbsence(d, [operators[3]!, operators[1]!], proposal);
    const expected = (STAKES[0] * BigInt(PARAMS.absenceSlashBps)) / BPS;

    await viem.assertions.emitWithArgs(
      staking.write.slashAbsence([proposal, signatures], { account: operators[2]!.account! }),
      staking,
      "AbsenceSlashed",
      [1n, getAddress(members[0]!), window.fromBlock, window.toBlock, getAddress(members[2]!)],
    );
    assert.equal(await staking.read.slashableStake([members[0]!]), STAKES[0] - expected);
    const share = expected / 2n;
    assert.equal(await staking.read.rewards([addressOf(stakers[1]!)]), share);
    assert.equal(await staking.read.rewards([addressOf(stakers[3]!)]), share);
    assert.equal(await staking.read.rewards([addressOf(stakers[2]!)]), expected - 2n * share);
    assert.equal(await staking.read.absenceSlashedUntil([members[0]!]), window.toBlock + 1n);

    await staking.write.claimRewards({ account: stakers[1]!.account! });
    assert.equal(await d.token.read.balanceOf([addressOf(stakers[1]!)]), share);
    assert.equal(await staking.read.rewards([addressOf(stakers[1]!)]), 0n);
  });

  it("splits unevenly divisible slashes with the remainder to the submitter", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking, operators, members, stakers } = d;
    await staking.write.setParams([{ ...PARAMS, absenceSlashBps: 1 }]);
    const window = await pastWindow();
    const proposal = { epoch: 1n, node: members[0]!, ...window };
    const signers = [operators[1]!, operators[2]!, operators[3]!];
    const signatures = await signAbsence(d, signers, proposal);
    await staking.write.slashAbsence([proposal, signatures], { account: operators[1]!.account! });
    const amount = STAKES[0] / BPS;
    const share = amount / 3n;
    assert.notEqual(amount % 3n, 0n);
    assert.equal(await staking.read.rewards([addressOf(stakers[1]!)]), share + (amount - 3n * share));
    assert.equal(await staking.read.rewards([addressOf(stakers[2]!)]), share);
    assert.equal(await staking.read.rewards([addressOf(stakers[3]!)]), share);
  });

  it("fails when the signers hold half of the stake or less", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking, operators, members } = d;
    const window = await pastWindow();
    const proposal = { epoch: 1n, node: members[3]!, ...window };
    // Three of four members but only 300 of 600 staked: exactly half is not a majority.
    const signatures = await signAbsence(d, operators.slice(0, 3), proposal);
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([proposal, signatures], { account: operators[0]!.account! }),
      staking,
      "InsufficientSignedStake",
      [STAKES[0] + STAKES[1] + STAKES[2], STAKES.reduce((a, b) => a + b)],
    );
    await viem.assertions.revertWithCustomError(
      staking.write.slashAbsence([proposal, []], { account: operators[0]!.account! }),
      staking,
      "InsufficientSignedStake",
    );
  });

  it("passes when sent by the cluster's relay address and pays the other members", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking, members, stakers } = d;
    const relay = d.relay.account.address;
    await networkHelpers.impersonateAccount(relay);
    await networkHelpers.setBalance(relay, parseEther("1"));
    const window = await pastWindow();
    const proposal = { epoch: 1n, node: members[3]!, ...window };
    await staking.write.slashAbsence([proposal, []], { account: relay });
    const amount = (STAKES[3] * BigInt(PARAMS.absenceSlashBps)) / BPS;
    const share = amount / 3n;
    for (const staker of stakers.slice(0, 3)) {
      assert.equal(await staking.read.rewards([addressOf(staker)]), share);
    }
    assert.equal(await staking.read.rewards([relay]), amount - 3n * share);
    assert.equal(await staking.read.rewards([addressOf(stakers[3]!)]), 0n);
  });

  it("refuses to slash the same or an overlapping window twice", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking, operators, members } = d;
    const window = await pastWindow(20n);
    const signers = [operators[3]!, operators[1]!];
    const as = { account: operators[1]!.account! };
    const proposal = { epoch: 1n, node: members[0]!, ...window };
    await staking.write.slashAbsence([proposal, await signAbsence(d, signers, proposal)], as);

    const overlapping = { ...proposal, fromBlock: window.toBlock - 9n, toBlock: window.toBlock + 1n };
    for (const again of [proposal, overlapping]) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        staking.write.slashAbsence([again, await signAbsence(d, signers, again)], as),
        staking,
        "WindowAlreadySlashed",
        [getAddress(members[0]!), window.toBlock + 1n],
      );
    }
    // The next window right after the slashed one passes.
    await mine(12);
    const next = { ...proposal, fromBlock: window.toBlock + 1n, toBlock: window.toBlock + 10n };
    await staking.write.slashAbsence([next, await signAbsence(d, signers, next)], as);
  });

  it("limits windows to the blocks the epoch served", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking, operators, members } = d;
    const as = { account: operators[1]!.account! };
    const signers = [operators[3]!, operators[1]!];
    const [, , , startBlock] = await staking.read.committee([1n]);
    await mine(30);
    const early = { epoch: 1n, node: members[0]!, fromBlock: startBlock - 1n, toBlock: startBlock + 9n };
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([early, await signAbsence(d, signers, early)], as),
      staking,
      "WindowOutsideEpoch",
      [1n, startBlock, 0n],
    );

    // Epoch 2 confirms: epoch 1 ends there.
    await staking.write.electCommittee([members, 3]);
    const next = relayKey("epoch 2");
    for (const operator of operators.slice(0, 3)) {
      await staking.write.submitClusterKey([2n, next.publicKey], { account: operator.account! });
    }
    await viem.assertions.emit(
      staking.write.submitClusterKey([2n, next.publicKey], { account: operators[3]!.account! }),
      staking,
      "EpochEnded",
    );
    const [, , , , endBlock] = await staking.read.committee([1n]);
    assert.equal(endBlock, BigInt(await time.latestBlock()));
    await mine(20);
    const late = { epoch: 1n, node: members[0]!, fromBlock: endBlock - 5n, toBlock: endBlock + 5n };
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([late, await signAbsence(d, signers, late)], as),
      staking,
      "WindowOutsideEpoch",
      [1n, startBlock, endBlock],
    );
    const served = { ...late, fromBlock: endBlock - 10n, toBlock: endBlock - 1n };
    await staking.write.slashAbsence([served, await signAbsence(d, signers, served)], as);

    // An epoch superseded before its key was confirmed ends at the next election.
    await staking.write.electCommittee([members.slice(1), 2]);
    await viem.assertions.emitWithArgs(staking.write.electCommittee([members.slice(1), 2]), staking, "EpochEnded", [
      3n,
      BigInt(await time.latestBlock()) + 1n,
    ]);
  });

  it("keeps unbonding stake slashable", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking, operators, members, stakers } = d;
    await staking.write.requestUnbond([members[0]!, STAKES[0]], { account: stakers[0]!.account! });
    const window = await pastWindow();
    const proposal = { epoch: 1n, node: members[0]!, ...window };
    await staking.write.slashAbsence([proposal, await signAbsence(d, [operators[3]!, operators[1]!], proposal)], {
      account: operators[1]!.account!,
    });
    const node = await staking.read.getNode([members[0]!]);
    assert.equal(node.stake, 0n);
    assert.equal(node.unbonding, STAKES[0] - (STAKES[0] * BigInt(PARAMS.absenceSlashBps)) / BPS);
  });

  it("refuses malformed proposals", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking, operators, members } = d;
    const window = await pastWindow();
    const as = { account: operators[1]!.account! };
    const signers = [operators[3]!, operators[1]!];
    const valid = { epoch: 1n, node: members[0]!, ...window };
    const head = BigInt(await time.latestBlock());

    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([{ ...valid, epoch: 2n }, []], as),
      staking,
      "UnknownEpoch",
      [2n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([{ ...valid, epoch: 0n }, []], as),
      staking,
      "UnknownEpoch",
      [0n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([{ ...valid, node: addressOf(d.stranger) }, []], as),
      staking,
      "NotCommitteeMember",
      [1n, getAddress(addressOf(d.stranger))],
    );
    for (const [fromBlock, toBlock] of [
      [window.toBlock, window.fromBlock], // reversed
      [window.fromBlock, window.fromBlock + 8n], // shorter than minAbsenceWindow
      [head - 5n, head + 10n], // not over yet
    ] as const) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        staking.write.slashAbsence([{ ...valid, fromBlock, toBlock }, []], as),
        staking,
        "InvalidWindow",
        [fromBlock, toBlock],
      );
    }
    const signatures = await signAbsence(d, signers, valid);
    // Submitted by a non-member.
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([valid, signatures], { account: d.stranger.account! }),
      staking,
      "NotCommitteeMember",
      [1n, getAddress(addressOf(d.stranger))],
    );
    // Unsorted and duplicated signers.
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([valid, [...signatures].reverse()], as),
      staking,
      "SignersNotSorted",
      [1n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([valid, [signatures[0]!, signatures[0]!]], as),
      staking,
      "SignersNotSorted",
      [1n],
    );
    // Unparseable signature.
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([valid, ["0x1234", signatures[1]!]], as),
      staking,
      "InvalidSignature",
      [0n],
    );
    // Signed by a registered node outside the committee.
    await d.register(d.stakers[0]!, operators[4]!, identityOf(4));
    const outsider = await signAbsence(d, [operators[4]!], valid);
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([valid, outsider], as),
      staking,
      "NotCommitteeMember",
      [1n, getAddress(addressOf(operators[4]!))],
    );
    // Signatures over another window count for nobody in this one.
    const other = await signAbsence(d, signers, { ...valid, toBlock: valid.toBlock - 1n });
    await viem.assertions.revertWithCustomError(staking.write.slashAbsence([valid, other], as), staking, "NotCommitteeMember");
    // Nothing to take.
    await staking.write.setParams([{ ...PARAMS, absenceSlashBps: 0 }]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([valid, signatures], as),
      staking,
      "NothingToSlash",
      [getAddress(members[0]!)],
    );
  });
});

describe("RelayStaking: removal", () => {
  // Nodes sign message headers that end in the SHA-256 of the payload; the payloads go beside them.
  const payloadOf = new Map<Hex, Hex>();
  const header = (label: string, payload: Hex): Hex => {
    const bytes = concat([toHex(`header of ${label}`), sha256(payload)]);
    payloadOf.set(bytes, payload);
    return bytes;
  };
  /** The contract's Evidence argument for these headers (unknown headers get an empty payload). */
  const bundle = (messages: readonly Hex[], signatures: readonly Hex[]) => ({ messages, payloads: messages.map((m) => payloadOf.get(m) ?? "0x"), signatures });
  // A Feldman commitment broadcast and the private share that fails it: the fault needs both messages.
  const evidence: Hex[] = [
    header("round 1", toHex("dkls23/keygen/round1: Feldman commitments of party 0")),
    header("round 2", toHex("dkls23/keygen/round2: share from 0 to 2 (fails the round-1 commitments)")),
  ];

  async function removalFixture() {
    const d = await deployConfirmed();
    const evidenceSignatures = await signProtocolMessages(d, d.operators[0]!, evidence);
    const proposal = { epoch: 1n, node: d.members[0]!, evidenceHash: removalEvidenceHash(evidence) };
    const signatures = await signRemoval(d, [d.operators[3]!, d.operators[2]!], proposal);
    return { ...d, evidenceSignatures, proposal, signatures };
  }

  it("removes a node for good on several signed evidence messages and a majority", async () => {
    const d = await loadFixture(removalFixture);
    const { staking, members, operators, stakers } = d;
    const as = { account: operators[2]!.account! };
    await viem.assertions.emitWithArgs(
      staking.write.removeNode([d.proposal, bundle(evidence, d.evidenceSignatures), d.signatures], as),
      staking,
      "NodeRemoved",
      [1n, getAddress(members[0]!), removalEvidenceHash(evidence), getAddress(members[2]!)],
    );
    const slashed = (STAKES[0] * BigInt(PARAMS.removalSlashBps)) / BPS;
    const node = await staking.read.getNode([members[0]!]);
    assert.equal(node.removed, true);
    assert.equal(node.stake, 0n);
    assert.equal(node.unbonding, STAKES[0] - slashed);
    assert.equal(await staking.read.rewards([addressOf(stakers[2]!)]), slashed / 2n);
    assert.equal(await staking.read.rewards([addressOf(stakers[3]!)]), slashed / 2n);

    const own = { account: stakers[0]!.account! };
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.removeNode([d.proposal, bundle(evidence, d.evidenceSignatures), d.signatures], as),
      staking,
      "NodeIsRemoved",
      [getAddress(members[0]!)],
    );
    await viem.assertions.revertWithCustomError(staking.write.stake([members[0]!, 1n], own), staking, "NodeIsRemoved");
    await viem.assertions.revertWithCustomError(staking.write.electCommittee([members, 2]), staking, "NodeIsRemoved");
    const again = await d.signRegistration(operators[0]!, addressOf(stakers[0]!), identityOf(9));
    await viem.assertions.revertWithCustomError(
      staking.write.register([members[0]!, identityOf(9), again], own),
      staking,
      "OperatorTaken",
    );
    // The unslashed rest can leave after the unbonding period.
    await time.increase(PARAMS.unbondingPeriod);
    await staking.write.withdraw([members[0]!], own);
    assert.equal(await d.token.read.balanceOf([addressOf(stakers[0]!)]), STAKES[0] - slashed);
  });

  it("removes a node on a single evidence message", async () => {
    const d = await loadFixture(deployConfirmed);
    const single = [header("single", toHex("dkls23/keygen/round2: commitment vector of party 1 that does not open its round-1 hash"))];
    const proposal = { epoch: 1n, node: d.members[1]!, evidenceHash: removalEvidenceHash(single) };
    const signatures = await signRemoval(d, [d.operators[3]!, d.operators[0]!], proposal);
    await viem.assertions.emitWithArgs(
      d.staking.write.removeNode([proposal, bundle(single, await signProtocolMessages(d, d.operators[1]!, single)), signatures], {
        account: d.operators[0]!.account!,
      }),
      d.staking,
      "NodeRemoved",
      [1n, getAddress(d.members[1]!), keccak256(keccak256(single[0]!)), getAddress(d.members[0]!)],
    );
    assert.equal((await d.staking.read.getNode([d.members[1]!])).removed, true);
  });

  it("computes the evidence hash like removalEvidenceHash, for 1 to MAX_EVIDENCE_MESSAGES messages", async () => {
    const { staking } = await loadFixture(deployStaking);
    assert.equal(await staking.read.MAX_EVIDENCE_MESSAGES(), BigInt(MAX_EVIDENCE_MESSAGES));
    const messages: Hex[] = ["0x", ...Array.from({ length: MAX_EVIDENCE_MESSAGES - 1 }, (_, i) => toHex(`message ${i}`.repeat(i + 1)))];
    for (const count of [1, 2, MAX_EVIDENCE_MESSAGES]) {
      const slice = messages.slice(0, count);
      assert.equal(await staking.read.evidenceHash([slice]), removalEvidenceHash(slice));
    }
    // Order matters: the hash commits to the sequence, not the set.
    assert.notEqual(removalEvidenceHash(evidence), removalEvidenceHash([...evidence].reverse()));
    await viem.assertions.revertWithCustomError(staking.read.evidenceHash([[]]), staking, "InvalidEvidence");
    await viem.assertions.revertWithCustomError(staking.read.evidenceHash([[...messages, "0x01"]]), staking, "InvalidEvidence");
    assert.throws(() => removalEvidenceHash([]), RangeError);
    assert.throws(() => removalEvidenceHash([...messages, "0x01"]), RangeError);
  });

  it("no longer lets a removed node propose, sign or count towards the committee's stake", async () => {
    const d = await loadFixture(removalFixture);
    const { staking, members, operators } = d;
    await staking.write.removeNode([d.proposal, bundle(evidence, d.evidenceSignatures), d.signatures], {
      account: operators[2]!.account!,
    });
    assert.equal(await staking.read.committeeStake([1n]), STAKES[1] + STAKES[2] + STAKES[3]);
    await mine(15);
    const head = BigInt(await time.latestBlock());
    const proposal = { epoch: 1n, node: members[1]!, fromBlock: head - 12n, toBlock: head - 2n };
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([proposal, await signAbsence(d, [operators[0]!, operators[3]!], proposal)], {
        account: operators[3]!.account!,
      }),
      staking,
      "NodeIsRemoved",
      [getAddress(members[0]!)],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.slashAbsence([proposal, await signAbsence(d, [operators[3]!], proposal)], {
        account: operators[0]!.account!,
      }),
      staking,
      "NodeIsRemoved",
      [getAddress(members[0]!)],
    );
    // Member 3 alone now holds 300 of 500: a majority.
    await staking.write.slashAbsence([proposal, await signAbsence(d, [operators[3]!], proposal)], {
      account: operators[3]!.account!,
    });
  });

  it("refuses evidence that does not match the proposal or is not all signed by the offender", async () => {
    const d = await loadFixture(removalFixture);
    const { staking, operators } = d;
    const as = { account: operators[2]!.account! };
    // Other content, the same messages reordered, or a subset all hash differently.
    for (const other of [[evidence[0]!, toHex("other bytes")], [evidence[1]!, evidence[0]!], [evidence[0]!]]) {
      await viem.assertions.revertWithCustomError(
        staking.write.removeNode([d.proposal, bundle(other, d.evidenceSignatures.slice(0, other.length)), d.signatures], as),
        staking,
        "EvidenceMismatch",
      );
    }
    // The second message signed by another member: the error names its index.
    const framed = [d.evidenceSignatures[0]!, await signProtocolMessage(d, operators[1]!, evidence[1]!)];
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.removeNode([d.proposal, bundle(evidence, framed), d.signatures], as),
      staking,
      "InvalidEvidenceSignature",
      [1n],
    );
    // The offender's signatures swapped: each is a valid signature, over the other message.
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.removeNode([d.proposal, bundle(evidence, [...d.evidenceSignatures].reverse()), d.signatures], as),
      staking,
      "InvalidEvidenceSignature",
      [0n],
    );
    // Signed headers with a payload other than the one the header commits to: the error names its index.
    const swapped = { ...bundle(evidence, d.evidenceSignatures), payloads: [payloadOf.get(evidence[0]!)!, toHex("another share")] };
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.removeNode([d.proposal, swapped, d.signatures], as), staking, "PayloadMismatch", [1n]);
    const short = { ...bundle(evidence, d.evidenceSignatures), messages: [toHex("too short"), evidence[1]!] };
    await viem.assertions.revertWithCustomError(staking.write.removeNode([{ ...d.proposal, evidenceHash: removalEvidenceHash(short.messages) }, short, d.signatures], as), staking, "PayloadMismatch");
  });

  it("refuses empty evidence, too many messages and a signature or payload count that differs from the message count", async () => {
    const d = await loadFixture(removalFixture);
    const { staking, operators } = d;
    const as = { account: operators[2]!.account! };
    const tooMany = Array.from({ length: MAX_EVIDENCE_MESSAGES + 1 }, (_, i) => toHex(`message ${i}`));
    const cases: [Hex[], Hex[]][] = [
      [[], []],
      [tooMany, await signProtocolMessages(d, operators[0]!, tooMany)],
      [evidence, d.evidenceSignatures.slice(0, 1)],
      [evidence, [...d.evidenceSignatures, d.evidenceSignatures[0]!]],
    ];
    for (const [messages, offenderSignatures] of cases) {
      await viem.assertions.revertWithCustomError(
        staking.write.removeNode([d.proposal, bundle(messages, offenderSignatures), d.signatures], as),
        staking,
        "InvalidEvidence",
      );
    }
    const payloadMissing = { ...bundle(evidence, d.evidenceSignatures), payloads: [payloadOf.get(evidence[0]!)!] };
    await viem.assertions.revertWithCustomError(staking.write.removeNode([d.proposal, payloadMissing, d.signatures], as), staking, "InvalidEvidence");
  });

  it("refuses a minority, an outsider, an unknown epoch and a non-member offender", async () => {
    const d = await loadFixture(removalFixture);
    const { staking, operators } = d;
    const as = { account: operators[2]!.account! };
    const minority = await signRemoval(d, [operators[1]!, operators[2]!], d.proposal);
    await viem.assertions.revertWithCustomError(
      staking.write.removeNode([d.proposal, bundle(evidence, d.evidenceSignatures), minority], as),
      staking,
      "InsufficientSignedStake",
    );
    await viem.assertions.revertWithCustomError(
      staking.write.removeNode([d.proposal, bundle(evidence, d.evidenceSignatures), d.signatures], { account: d.stranger.account! }),
      staking,
      "NotCommitteeMember",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.removeNode([{ ...d.proposal, epoch: 5n }, bundle(evidence, d.evidenceSignatures), d.signatures], as),
      staking,
      "UnknownEpoch",
      [5n],
    );
    await viem.assertions.revertWithCustomError(
      staking.write.removeNode([{ ...d.proposal, node: addressOf(d.stranger) }, bundle(evidence, d.evidenceSignatures), d.signatures], as),
      staking,
      "NotCommitteeMember",
    );
  });
});

describe("RelayStaking: forged attestation", () => {
  const target = getAddress("0x00000000000000000000000000000000000000aa");

  async function forgeryFixture() {
    const d = await deployConfirmed();
    await d.staking.write.setSourceGateway([d.gateway.address]);
    const forged: Message = {
      nonce: 42n,
      srcChainId: d.chainId,
      srcGateway: d.gateway.address,
      sender: addressOf(d.stranger),
      dstChainId: DST_CHAIN_ID,
      receiver: addressOf(d.prover),
      gasLimit: 200_000n,
      payload: toHex("mint 1000000 to the attacker"),
    };
    const sign = (message: Message, gateway: Address = target) =>
      d.relay.account.signTypedData(messageTypedData(message, gateway));
    /** A message the gateway really sent (to the prover, on DST_CHAIN_ID). */
    const sendGenuine = async (): Promise<Message> => {
      const hash = await d.gateway.write.sendMessage([DST_CHAIN_ID, addressOf(d.prover), "0xbeef", 100_000n]);
      const receipt = await d.publicClient.waitForTransactionReceipt({ hash });
      const [event] = await d.gateway.getEvents.MessageSent({}, { blockHash: receipt.blockHash });
      return event!.args.message! as Message;
    };
    return { ...d, forged, sign, sendGenuine, signature: await sign(forged) };
  }

  it("slashes the epoch's committee and rewards the prover, once", async () => {
    const d = await loadFixture(forgeryFixture);
    const { staking, members, prover, treasury } = d;
    const as = { account: prover.account! };
    const total = STAKES.reduce((a, b) => a + b);
    const slashed = (total * BigInt(PARAMS.forgerySlashBps)) / BPS;
    const reward = (slashed * BigInt(PARAMS.proverRewardBps)) / BPS;

    await viem.assertions.emit(staking.write.proveForgery([1n, d.forged, target, d.signature], as), staking, "ForgeryProven");
    for (let i = 0; i < 4; i++) {
      assert.equal(await staking.read.slashableStake([members[i]!]), STAKES[i]! - (STAKES[i]! * BigInt(PARAMS.forgerySlashBps)) / BPS);
    }
    assert.equal(await staking.read.rewards([addressOf(prover)]), reward);
    assert.equal(await staking.read.rewards([addressOf(treasury)]), slashed - reward);

    await viem.assertions.revertWithCustomError(
      staking.write.proveForgery([1n, d.forged, target, d.signature], as),
      staking,
      "ForgeryAlreadyClaimed",
    );
    await staking.write.claimRewards(as);
    assert.equal(await d.token.read.balanceOf([addressOf(prover)]), reward);
  });

  it("refuses a genuine message as proof", async () => {
    const d = await loadFixture(forgeryFixture);
    const { staking, prover } = d;
    const genuine = await d.sendGenuine();
    const signature = await d.sign(genuine);
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.proveForgery([1n, genuine, target, signature], { account: prover.account! }),
      staking,
      "MessageWasSent",
      [messageId(genuine)],
    );
  });

  it("refuses proofs that do not show a forgery by a confirmed relay of this source", async () => {
    const d = await loadFixture(forgeryFixture);
    const { staking, prover, forged } = d;
    const as = { account: prover.account! };
    await viem.assertions.revertWithCustomError(
      staking.write.proveForgery([1n, { ...forged, srcChainId: 5n }, target, await d.sign({ ...forged, srcChainId: 5n })], as),
      staking,
      "NotFromThisSource",
    );
    await viem.assertions.revertWithCustomError(
      staking.write.proveForgery([1n, { ...forged, srcGateway: target }, target, await d.sign({ ...forged, srcGateway: target })], as),
      staking,
      "NotFromThisSource",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.proveForgery([2n, forged, target, d.signature], as),
      staking,
      "EpochNotConfirmed",
      [2n],
    );
    // Signed for another target gateway than the one claimed, or by another key.
    await viem.assertions.revertWithCustomError(
      staking.write.proveForgery([1n, forged, d.gateway.address, d.signature], as),
      staking,
      "InvalidRelaySignature",
    );
    const outsider = await relayKey("outsider").account.signTypedData(messageTypedData(forged, target));
    await viem.assertions.revertWithCustomError(
      staking.write.proveForgery([1n, forged, target, outsider], as),
      staking,
      "InvalidRelaySignature",
    );
    // The same forgery for another target gateway is a separate, provable signature.
    await staking.write.proveForgery([1n, forged, d.gateway.address, await d.sign(forged, d.gateway.address)], as);
  });

  it("slashes for a forged message inside a signed batch, once per root", async () => {
    const d = await loadFixture(forgeryFixture);
    const { staking, prover } = d;
    const as = { account: prover.account! };
    const genuine = await d.sendGenuine();
    const second = { ...d.forged, nonce: 43n };
    const batch = new MessageBatch([genuine, d.forged, second]);
    const signature = await d.relay.account.signTypedData(batch.typedData(target));
    const proofOf = (index: number) => batch.tree.getProof(index) as Hex[];

    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.proveForgedBatch([1n, genuine, target, batch.root, proofOf(0), signature], as),
      staking,
      "MessageWasSent",
      [batch.ids[0]!],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.proveForgedBatch([1n, d.forged, target, batch.root, proofOf(2), signature], as),
      staking,
      "NotInBatch",
      [batch.ids[1]!],
    );
    await viem.assertions.revertWithCustomError(
      staking.write.proveForgedBatch([1n, d.forged, d.gateway.address, batch.root, proofOf(1), signature], as),
      staking,
      "InvalidRelaySignature",
    );
    await viem.assertions.emit(
      staking.write.proveForgedBatch([1n, d.forged, target, batch.root, proofOf(1), signature], as),
      staking,
      "ForgeryProven",
    );
    const total = STAKES.reduce((a, b) => a + b);
    assert.equal(await staking.read.committeeStake([1n]), total - (total * BigInt(PARAMS.forgerySlashBps)) / BPS);
    // Another unsent message of the same root is the same signed forgery.
    await viem.assertions.revertWithCustomError(
      staking.write.proveForgedBatch([1n, second, target, batch.root, proofOf(2), signature], as),
      staking,
      "ForgeryAlreadyClaimed",
    );
  });

  it("proves a forged member of a partly delivered batch with the single-leaf proof replayed from its multiproof", async () => {
    const d = await loadFixture(forgeryFixture);
    const { staking, prover } = d;
    const as = { account: prover.account! };
    const genuine = await d.sendGenuine();
    const batch = new MessageBatch([{ ...d.forged, nonce: 40n }, genuine, { ...d.forged, nonce: 41n }, d.forged]);
    const signature = await d.relay.account.signTypedData(batch.typedData(target));
    // Delivered: the genuine message and one forgery, in the multiproof's leaf order.
    const delivered = batch.multiProof([genuine, d.forged]);
    const replayed = replayMultiProof(delivered.messages.map((m) => messageLeaf(messageId(m))), delivered.proof, delivered.proofFlags);
    assert.equal(replayed.root, batch.root);
    const at = (message: Message) => delivered.messages.findIndex((m) => messageId(m) === messageId(message));

    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.proveForgedBatch([1n, genuine, target, batch.root, replayed.proofs[at(genuine)]!, signature], as),
      staking,
      "MessageWasSent",
      [messageId(genuine)],
    );
    // An undelivered batch member has no path in the delivered multiproof; the forgery's path proves only it.
    const undelivered = { ...d.forged, nonce: 41n };
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.proveForgedBatch([1n, undelivered, target, batch.root, replayed.proofs[at(d.forged)]!, signature], as),
      staking,
      "NotInBatch",
      [messageId(undelivered)],
    );
    await viem.assertions.emit(
      staking.write.proveForgedBatch([1n, d.forged, target, batch.root, replayed.proofs[at(d.forged)]!, signature], as),
      staking,
      "ForgeryProven",
    );
  });

  it("replays every multiproof of a batch into the tree's own single-leaf proofs, and refuses malformed ones", async () => {
    const messages: Message[] = Array.from({ length: 5 }, (_, i) => ({
      nonce: BigInt(i),
      srcChainId: 1n,
      srcGateway: getAddress("0x00000000000000000000000000000000000000a1"),
      sender: getAddress("0x00000000000000000000000000000000000000a2"),
      dstChainId: DST_CHAIN_ID,
      receiver: getAddress("0x00000000000000000000000000000000000000a3"),
      gasLimit: 1n,
      payload: toHex(`message ${i}`),
    }));
    const batch = new MessageBatch(messages);
    // Every non-empty subset, including the whole batch (whose multiproof has no proof hashes).
    for (let mask = 1; mask < 1 << messages.length; mask++) {
      const selected = messages.filter((_, i) => (mask >> i) & 1);
      const delivered = batch.multiProof(selected);
      const leaves = delivered.messages.map((m) => messageLeaf(messageId(m)));
      const replayed = replayMultiProof(leaves, delivered.proof, delivered.proofFlags);
      assert.equal(replayed.root, batch.root, `root of subset ${mask}`);
      for (const [i, message] of delivered.messages.entries()) {
        assert.deepEqual(replayed.proofs[i], batch.tree.getProof(batch.ids.indexOf(messageId(message))), `proof of subset ${mask}, leaf ${i}`);
      }
    }
    const single = new MessageBatch([messages[0]!]);
    const alone = single.multiProof();
    assert.deepEqual(replayMultiProof([messageLeaf(single.ids[0]!)], alone.proof, alone.proofFlags), { root: single.root, proofs: [[]] });

    const { proof, proofFlags } = batch.multiProof([messages[1]!, messages[3]!]);
    const leaves = batch.multiProof([messages[1]!, messages[3]!]).messages.map((m) => messageLeaf(messageId(m)));
    assert.throws(() => replayMultiProof([], [], []), /at least one leaf/);
    assert.throws(() => replayMultiProof(leaves, proof.slice(1), proofFlags), /invalid multiproof/);
    // Lengths that add up, but flags asking for more proof hashes than there are, or for a hash before it exists.
    assert.throws(() => replayMultiProof(leaves, proof, proofFlags.map(() => false)), /more flags ask for proof hashes/);
    assert.throws(() => replayMultiProof(leaves, [proof[0]!], [true, true]), /used before it is computed/);
  });

  it("needs the source gateway to be configured", async () => {
    const d = await loadFixture(deployConfirmed);
    const forged: Message = {
      nonce: 0n,
      srcChainId: d.chainId,
      srcGateway: d.gateway.address,
      sender: d.members[0]!,
      dstChainId: DST_CHAIN_ID,
      receiver: d.members[0]!,
      gasLimit: 1n,
      payload: "0x",
    };
    await viem.assertions.revertWithCustomError(
      d.staking.write.proveForgery([1n, forged, target, "0x"]),
      d.staking,
      "SourceGatewayNotSet",
    );
  });
});
