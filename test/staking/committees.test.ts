/** Committees: election with snapshot, capped weights; cluster-key confirmation; key lineages and stake locks. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, parseEther, zeroAddress, type Hex } from "viem";
import { addressOf, deployConfirmed, deployStaking, electAndConfirm, identityOf, networkHelpers, PARAMS, relayKey, STAKES, viem } from "./fixture.ts";

const { loadFixture, time } = networkHelpers;
const LOCKED = 2n ** 64n - 1n;

describe("RelayStaking: election", () => {
  it("elects a committee and refuses bad parameters", async () => {
    const d = await loadFixture(deployStaking);
    const { staking, members } = d;
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([[], 2]), staking, "InvalidCommitteeSize", [0n]);
    const tooMany = Array.from({ length: 65 }, () => members[0]!);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([tooMany, 2]), staking, "InvalidCommitteeSize", [65n]);
    // One key holder never signs alone: t >= 2.
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([members, 1]), staking, "InvalidThreshold", [1n, 4n]);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([members, 5]), staking, "InvalidThreshold", [5n, 4n]);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([[members[0]!, addressOf(d.stranger)], 2]), staking, "UnknownOperator", [getAddress(addressOf(d.stranger))]);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([[members[0]!, members[1]!, members[0]!], 2]), staking, "DuplicateMember", [getAddress(members[0]!)]);
    await d.staking.write.requestUnbond([members[1]!, 1n], { account: d.stakers[1]!.account! });
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.electCommittee([members, 2]), staking, "BelowMinimumStake", [getAddress(members[1]!), STAKES[1] - 1n, PARAMS.minStake]);

    const electable = [members[0]!, members[2]!, members[3]!];
    await viem.assertions.emit(staking.write.electCommittee([electable, 2]), staking, "CommitteeElected");
    assert.equal(await staking.read.latestEpoch(), 1n);
    const [elected, threshold, relay] = await staking.read.committee([1n]);
    assert.deepEqual(
      elected,
      electable.map((a) => getAddress(a)),
    );
    assert.equal(threshold, 2);
    assert.equal(relay, zeroAddress);
    assert.equal(await staking.read.isMember([1n, members[1]!]), false);
    assert.equal(await staking.read.isMember([1n, members[2]!]), true);
  });

  it("refuses two members with one identity: a second registration of an identity locks nobody out", async () => {
    const d = await loadFixture(deployStaking);
    // Anyone may register an operator of its own under another node's peer id; nothing is reserved by it.
    await d.register(d.stakers[4]!, d.operators[4]!, identityOf(0));
    await d.fundAndStake(d.stakers[4]!, addressOf(d.operators[4]!), PARAMS.minStake);
    await viem.assertions.revertWithCustomErrorWithArgs(d.staking.write.electCommittee([[d.members[0]!, addressOf(d.operators[4]!)], 2]), d.staking, "DuplicateMember", [
      getAddress(addressOf(d.operators[4]!)),
    ]);
    await d.staking.write.electCommittee([[d.members[0]!, d.members[1]!], 2]);
  });

  it("snapshots voting weights at election, capped at MAX_WEIGHT_MULTIPLE x minStake", async () => {
    const d = await loadFixture(deployStaking);
    const cap = PARAMS.minStake * (await d.staking.read.MAX_WEIGHT_MULTIPLE());
    const weights = [STAKES[0], STAKES[1], STAKES[2], cap];
    await viem.assertions.emitWithArgs(d.staking.write.electCommittee([d.members, 3]), d.staking, "CommitteeElected", [1n, d.members.map((m) => getAddress(m)), 3, weights]);
    for (const [i, member] of d.members.entries()) assert.equal(await d.staking.read.votingWeight([1n, member]), weights[i]);
    const info = await d.staking.read.epochInfo([1n]);
    assert.equal(
      info.activeWeight,
      weights.reduce((a, b) => a + b),
    );
    assert.equal(info.activeCount, 4);
    // Stake topped up after election buys no vote.
    await d.fundAndStake(d.stakers[0]!, d.members[0]!, parseEther("1000"));
    assert.equal(await d.staking.read.votingWeight([1n, d.members[0]!]), STAKES[0]);
    assert.equal(await d.staking.read.votingWeight([1n, addressOf(d.stranger)]), 0n);
  });
});

describe("RelayStaking: cluster key", () => {
  it("confirms the cluster key only once every member submitted the same key", async () => {
    const d = await loadFixture(deployStaking);
    const { staking, members, operators } = d;
    await viem.assertions.revertWithCustomError(staking.read.currentRelay(), staking, "NoConfirmedEpoch");
    await staking.write.electCommittee([members, 3]);
    const good = relayKey("good");
    const bad = relayKey("bad");
    const asMember = (i: number) => ({ account: operators[i]!.account! });
    await viem.assertions.emitWithArgs(staking.write.submitClusterKey([1n, good.publicKey], asMember(0)), staking, "ClusterKeySubmitted", [
      1n,
      getAddress(members[0]!),
      good.account.address,
      good.publicKey,
    ]);
    await staking.write.submitClusterKey([1n, good.publicKey], asMember(1));
    await staking.write.submitClusterKey([1n, bad.publicKey], asMember(2));
    await staking.write.submitClusterKey([1n, good.publicKey], asMember(3));
    assert.equal(await staking.read.relayAddress([1n]), zeroAddress, "one differing key blocks confirmation");
    assert.equal(await staking.read.submittedRelay([1n, members[2]!]), bad.account.address);
    await viem.assertions.revertWithCustomError(staking.write.submitClusterKey([1n, good.publicKey], asMember(0)), staking, "KeyAlreadySubmitted");
    await viem.assertions.emitWithArgs(staking.write.submitClusterKey([1n, good.publicKey], asMember(2)), staking, "RelayConfirmed", [1n, good.account.address, good.publicKey]);
    assert.equal(await staking.read.currentRelay(), good.account.address);
    assert.equal(await staking.read.activeEpoch(), 1n);
    assert.deepEqual(await staking.read.lineage([good.account.address]), [1n]);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.submitClusterKey([1n, bad.publicKey], asMember(2)), staking, "EpochNotPending", [1n]);
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
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.submitClusterKey([2n, next.publicKey], { account: operators[2]!.account! }), staking, "EpochNotPending", [2n]);
    for (const operator of operators.slice(0, 3)) await staking.write.submitClusterKey([3n, next.publicKey], { account: operator.account! });
    assert.equal(await staking.read.currentRelay(), next.account.address);
    assert.equal(await staking.read.activeEpoch(), 3n);
    assert.equal(await staking.read.relayAddress([2n]), zeroAddress);
  });

  it("refuses bad key submissions", async () => {
    const d = await loadFixture(deployStaking);
    const { staking, members, operators } = d;
    const key = relayKey("k").publicKey;
    const asMember = { account: operators[0]!.account! };
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.submitClusterKey([0n, key], asMember), staking, "EpochNotPending", [0n]);
    await staking.write.electCommittee([members.slice(0, 3), 2]);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.submitClusterKey([2n, key], asMember), staking, "EpochNotPending", [2n]);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.submitClusterKey([1n, key], { account: operators[3]!.account! }), staking, "NotCommitteeMember", [1n, getAddress(members[3]!)]);
    const compressed: Hex = `0x02${key.slice(2, 66)}`;
    const offCurve: Hex = `${key.slice(0, -2)}${key.endsWith("00") ? "01" : "00"}` as Hex;
    const xTooLarge: Hex = `0x${"ff".repeat(32)}${key.slice(66)}`;
    for (const bad of [compressed, offCurve, xTooLarge, `0x${"00".repeat(64)}` as Hex]) {
      await viem.assertions.revertWithCustomError(staking.write.submitClusterKey([1n, bad], asMember), staking, "InvalidPublicKey");
    }
  });
});

describe("RelayStaking: key lineage", () => {
  it("keeps a key's lineage across hand-overs, retires it when a fresh key confirms, and never trusts it again", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking } = d;
    const key = d.relay.account.address;
    // Hand-over by resharing: the new committee confirms the same key.
    await electAndConfirm(d, [0, 1, 2], d.relay, 2);
    assert.deepEqual(await staking.read.lineage([key]), [1n, 2n]);
    assert.equal(await staking.read.relayReleaseTime([key]), 0n, "still live");
    // A fresh key retires it; its holders' stake unlocks one unbonding period later.
    const fresh = relayKey("fresh");
    await staking.write.electCommittee([d.members.slice(1), 2]);
    for (const i of [1, 2, 3]) {
      if (i < 3) await staking.write.submitClusterKey([3n, fresh.publicKey], { account: d.operators[i]!.account! });
      else await viem.assertions.emit(staking.write.submitClusterKey([3n, fresh.publicKey], { account: d.operators[i]!.account! }), staking, "RelayRetired");
    }
    const retiredAt = BigInt(await time.latest());
    assert.equal(await staking.read.relayReleaseTime([key]), retiredAt + PARAMS.unbondingPeriod);
    await staking.write.electCommittee([d.members.slice(0, 3), 2]);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.submitClusterKey([4n, d.relay.publicKey], { account: d.operators[0]!.account! }), staking, "KeyRetired", [key]);
  });

  it("lets one key serve at most MAX_EPOCHS_PER_KEY epochs", async () => {
    const d = await loadFixture(deployConfirmed);
    const max = Number(await d.staking.read.MAX_EPOCHS_PER_KEY());
    for (let epoch = 2; epoch <= max; epoch++) await electAndConfirm(d, [0, 1, 2], d.relay, 2);
    assert.equal((await d.staking.read.lineage([d.relay.account.address])).length, max);
    await d.staking.write.electCommittee([d.members.slice(0, 2), 2]);
    await d.staking.write.submitClusterKey([BigInt(max + 1), d.relay.publicKey], { account: d.operators[0]!.account! });
    await viem.assertions.revertWithCustomErrorWithArgs(d.staking.write.submitClusterKey([BigInt(max + 1), d.relay.publicKey], { account: d.operators[1]!.account! }), d.staking, "KeyLineageFull", [
      d.relay.account.address,
    ]);
  });

  it("locks a member's stake until its last epoch's key is retired plus the unbonding period, also after it left", async () => {
    const d = await loadFixture(deployConfirmed);
    const { staking } = d;
    const leaver = d.members[3]!;
    const own = { account: d.stakers[3]!.account! };
    // Member 3 leaves at a hand-over (the key is reshared to the others) and unbonds everything.
    await electAndConfirm(d, [0, 1, 2], d.relay, 2);
    await staking.write.requestUnbond([leaver, STAKES[3]], own);
    await time.increase(PARAMS.unbondingPeriod);
    assert.equal(await staking.read.lockedUntil([leaver]), LOCKED);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.withdraw([leaver], own), staking, "StakeLocked", [LOCKED]);
    // A member of a pending epoch is locked too: the key may be handed to it any moment.
    await d.register(d.stakers[4]!, d.operators[4]!, identityOf(4));
    await d.fundAndStake(d.stakers[4]!, addressOf(d.operators[4]!), PARAMS.minStake);
    await staking.write.electCommittee([[d.members[0]!, addressOf(d.operators[4]!)], 2]);
    assert.equal(await staking.read.lockedUntil([addressOf(d.operators[4]!)]), LOCKED);
    // A fresh key for epoch 4 retires the old one: the leaver is free one unbonding period later.
    const fresh = relayKey("fresh");
    await electAndConfirm(d, [0, 1], fresh, 2);
    const release = await staking.read.relayReleaseTime([d.relay.account.address]);
    assert.equal(await staking.read.lockedUntil([leaver]), release);
    await viem.assertions.revertWithCustomErrorWithArgs(staking.write.withdraw([leaver], own), staking, "StakeLocked", [release]);
    await time.increaseTo(release);
    await staking.write.withdraw([leaver], own);
    assert.equal(await d.token.read.balanceOf([addressOf(d.stakers[3]!)]), STAKES[3]);
    // Operator 4 was elected to epoch 3 while the old key was live (it could have been reshared to it): same release.
    assert.equal(await staking.read.lockedUntil([addressOf(d.operators[4]!)]), release);
    await d.assertBalancesAddUp();
  });
});
