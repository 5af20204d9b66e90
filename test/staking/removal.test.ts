/** EvidenceRemoval: equivocation removes at once; other faults wait out a challenge the accused can answer. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { concat, getAddress, keccak256, toHex, type Hex } from "viem";
import { MAX_EVIDENCE_MESSAGES, removalEvidenceHash } from "../../relayer/staking/typed-data.ts";
import { addressOf, BPS, deployConfirmed, deployStaking, header, identityOf, networkHelpers, PARAMS, pastWindow, relayKey, signAbsence, signHeader, signRemoval, STAKES, viem } from "./fixture.ts";

const { loadFixture, time } = networkHelpers;
const LOCKED = 2n ** 64n - 1n;

/** Two headers for one slot with different payloads, both signed by member 0. */
async function equivocation(d: Awaited<ReturnType<typeof deployConfirmed>>) {
  const first = header("keygen session 7, round 2, from 1 to 3", toHex("share A"));
  const second = header("keygen session 7, round 2, from 1 to 3", toHex("share B"));
  return { first, second, signatures: [await signHeader(d, d.operators[0]!, first), await signHeader(d, d.operators[0]!, second)] as const };
}

// A Feldman commitment broadcast and the private share that fails it: the fault needs both messages.
const payloads = [toHex("keygen round 2: Feldman commitments of party 1"), toHex("keygen round 2: share from 1 to 3 (fails them)")];
const evidence: Hex[] = [header("round 2 broadcast", payloads[0]!), header("round 2 to party 3", payloads[1]!)];

async function proposalFixture() {
  const d = await deployConfirmed();
  const evidenceSignatures = await Promise.all(evidence.map((m) => signHeader(d, d.operators[0]!, m)));
  const proposal = { epoch: 1n, node: d.members[0]!, evidenceHash: removalEvidenceHash(evidence) };
  const signatures = await signRemoval(d, [d.operators[1]!, d.operators[2]!, d.operators[3]!], proposal);
  const bundle = (signed: readonly Hex[] = evidenceSignatures, messages: readonly Hex[] = evidence, bodies: readonly Hex[] = payloads) => ({
    messages,
    payloads: bodies,
    signatures: signed,
  });
  return { ...d, evidenceSignatures, proposal, signatures, bundle };
}

describe("RelayStaking: removal for equivocation", () => {
  it("removes at once, on anyone's proof, to the treasury; the rest unbonds and stays locked with the key", async () => {
    const d = await loadFixture(deployConfirmed);
    const { first, second, signatures } = await equivocation(d);
    const evidenceHash = keccak256(concat([keccak256(first), keccak256(second)]));
    await viem.assertions.emitWithArgs(d.court.write.removeForEquivocation([d.members[0]!, first, second, signatures[0], signatures[1]], { account: d.stranger.account! }), d.staking, "NodeRemoved", [
      1n,
      getAddress(d.members[0]!),
      evidenceHash,
      getAddress(addressOf(d.stranger)),
    ]);
    const slashed = (STAKES[0] * BigInt(PARAMS.removalSlashBps)) / BPS;
    const node = await d.staking.read.getNode([d.members[0]!]);
    assert.equal(node.removed, true);
    assert.equal(node.stake, 0n);
    assert.equal(node.unbonding, STAKES[0] - slashed);
    assert.equal(await d.staking.read.rewards([addressOf(d.treasury)]), slashed);
    assert.equal(await d.staking.read.rewards([addressOf(d.stranger)]), 0n);
    // Out of every count; no stake, election or registration again; its key shares still answer for the key.
    const info = await d.staking.read.epochInfo([1n]);
    assert.equal(info.activeCount, 3);
    assert.equal(info.activeWeight, STAKES[1] + STAKES[2] + PARAMS.minStake * 4n);
    const own = { account: d.stakers[0]!.account! };
    await viem.assertions.revertWithCustomError(d.staking.write.stake([d.members[0]!, 1n], own), d.staking, "NodeIsRemoved");
    await viem.assertions.revertWithCustomError(d.staking.write.electCommittee([d.members, 2]), d.staking, "NodeIsRemoved");
    const again = await d.signRegistration(d.operators[0]!, addressOf(d.stakers[0]!), identityOf(9));
    await viem.assertions.revertWithCustomError(d.staking.write.register([d.members[0]!, identityOf(9), again, "0x01"], own), d.staking, "OperatorTaken");
    await time.increase(PARAMS.unbondingPeriod);
    await viem.assertions.revertWithCustomErrorWithArgs(d.staking.write.withdraw([d.members[0]!], own), d.staking, "StakeLocked", [LOCKED]);
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.removeForEquivocation([d.members[0]!, first, second, signatures[0], signatures[1]]), d.staking, "NodeIsRemoved", [
      getAddress(d.members[0]!),
    ]);
    await d.assertBalancesAddUp();
  });

  it("refuses what is no equivocation or not the offender's", async () => {
    const d = await loadFixture(deployConfirmed);
    const { first, second, signatures } = await equivocation(d);
    const otherSlot = header("keygen session 7, round 2, from 1 to 4", toHex("share B"));
    const cases: [Hex, Hex][] = [
      [first, first], // the same message twice
      [first, otherSlot], // two slots
      [first, concat([second, "0x00"])], // different lengths
      [toHex("32 bytes or fewer are no header."), toHex("32 bytes or fewer are no header!")],
    ];
    for (const [a, b] of cases) {
      await viem.assertions.revertWithCustomError(d.court.write.removeForEquivocation([d.members[0]!, a, b, signatures[0], signatures[1]]), d.court, "NotEquivocation");
    }
    const framed = await signHeader(d, d.operators[1]!, second);
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.removeForEquivocation([d.members[0]!, first, second, signatures[0], framed]), d.court, "InvalidEvidenceSignature", [1n]);
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.removeForEquivocation([d.members[0]!, first, second, signatures[1], signatures[0]]), d.court, "InvalidEvidenceSignature", [0n]);
    assert.equal((await d.staking.read.getNode([d.members[0]!])).removed, false);
  });

  it("takes a removed member out of a pending epoch: the others' key confirms without it", async () => {
    const d = await loadFixture(deployConfirmed);
    const next = relayKey("epoch 2");
    await d.staking.write.electCommittee([d.members, 3]);
    for (const i of [1, 2, 3]) await d.staking.write.submitClusterKey([2n, next.publicKey], { account: d.operators[i]!.account! });
    assert.equal(await d.staking.read.relayAddress([2n]), `0x${"00".repeat(20)}`, "waiting for member 0");
    const { first, second, signatures } = await equivocation(d);
    await viem.assertions.emit(d.court.write.removeForEquivocation([d.members[0]!, first, second, signatures[0], signatures[1]]), d.staking, "RelayConfirmed");
    assert.equal(await d.staking.read.currentRelay(), next.account.address);
    await viem.assertions.revertWithCustomError(d.staking.write.submitClusterKey([2n, next.publicKey], { account: d.operators[0]!.account! }), d.staking, "EpochNotPending");
  });
});

describe("RelayStaking: removal by a majority's proposal", () => {
  it("opens a challenge that locks the accused's stake, then anyone executes it once the period is over", async () => {
    const d = await loadFixture(proposalFixture);
    await viem.assertions.emit(d.court.write.proposeRemoval([d.proposal, d.bundle(), d.signatures]), d.court, "RemovalProposed");
    const pending = await d.court.read.pendingRemoval([d.members[0]!]);
    assert.equal(pending[1], BigInt(await time.latest()) + PARAMS.challengePeriod);
    assert.equal(await d.staking.read.lockedUntil([d.members[0]!]), LOCKED);
    assert.equal((await d.staking.read.getNode([d.members[0]!])).removed, false, "not removed during the challenge");
    await viem.assertions.revertWithCustomError(d.court.write.proposeRemoval([d.proposal, d.bundle(), d.signatures]), d.court, "RemovalPending");
    await viem.assertions.revertWithCustomError(d.court.write.executeRemoval([d.members[0]!]), d.court, "ChallengeRunning");
    await time.increase(PARAMS.challengePeriod);
    await viem.assertions.revertWithCustomError(d.court.write.disputeRemoval([d.members[0]!], { account: d.operators[0]!.account! }), d.court, "ChallengeOver");
    await viem.assertions.emit(d.court.write.executeRemoval([d.members[0]!], { account: d.stranger.account! }), d.staking, "NodeRemoved");
    assert.equal((await d.staking.read.getNode([d.members[0]!])).removed, true);
    assert.equal(await d.staking.read.removalPending([d.members[0]!]), false);
    await viem.assertions.revertWithCustomError(d.court.write.executeRemoval([d.members[0]!]), d.court, "NoPendingRemoval");
    await d.assertBalancesAddUp();
  });

  it("lets the accused answer: governance then upholds it, or dismisses the evidence for good", async () => {
    const d = await loadFixture(proposalFixture);
    await d.court.write.proposeRemoval([d.proposal, d.bundle(), d.signatures]);
    await viem.assertions.revertWithCustomError(d.court.write.resolveRemoval([d.members[0]!, true]), d.court, "RemovalNotDisputed");
    await viem.assertions.revertWithCustomError(d.court.write.disputeRemoval([d.members[0]!], { account: d.stranger.account! }), d.court, "NotAccused");
    // The staker answers (the operator could too).
    await viem.assertions.emit(d.court.write.disputeRemoval([d.members[0]!], { account: d.stakers[0]!.account! }), d.court, "RemovalDisputed");
    await viem.assertions.revertWithCustomError(d.court.write.disputeRemoval([d.members[0]!], { account: d.operators[0]!.account! }), d.court, "RemovalIsDisputed");
    await time.increase(PARAMS.challengePeriod);
    await viem.assertions.revertWithCustomError(d.court.write.executeRemoval([d.members[0]!]), d.court, "RemovalIsDisputed");
    await viem.assertions.emit(d.court.write.resolveRemoval([d.members[0]!, false]), d.court, "RemovalDismissed");
    assert.equal(await d.court.read.dismissedEvidence([d.proposal.evidenceHash]), true);
    assert.equal(await d.staking.read.lockedUntil([d.members[0]!]), LOCKED, "still locked by its live key, no longer by the removal");
    assert.equal(await d.staking.read.removalPending([d.members[0]!]), false);
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proposeRemoval([d.proposal, d.bundle(), d.signatures]), d.court, "EvidenceDismissed", [d.proposal.evidenceHash]);
    assert.equal(await d.staking.read.slashableStake([d.members[0]!]), STAKES[0], "an honest accused keeps its stake");

    // Upheld: removed.
    const other = [header("another broadcast", toHex("x")), header("another share", toHex("y"))];
    const proposal = { epoch: 1n, node: d.members[1]!, evidenceHash: removalEvidenceHash(other) };
    const signed = await Promise.all(other.map((m) => signHeader(d, d.operators[1]!, m)));
    await d.court.write.proposeRemoval([proposal, d.bundle(signed, other, [toHex("x"), toHex("y")]), await signRemoval(d, [d.operators[0]!, d.operators[2]!, d.operators[3]!], proposal)]);
    await d.court.write.disputeRemoval([d.members[1]!], { account: d.operators[1]!.account! });
    await viem.assertions.emit(d.court.write.resolveRemoval([d.members[1]!, true]), d.staking, "NodeRemoved");
    await d.assertBalancesAddUp();
  });

  it("refuses evidence that does not match the proposal or is not all signed by the offender", async () => {
    const d = await loadFixture(proposalFixture);
    const propose = (bundle: ReturnType<typeof d.bundle>, proposal = d.proposal) => d.court.write.proposeRemoval([proposal, bundle, d.signatures]);
    for (const other of [[evidence[0]!, toHex("other bytes")], [evidence[1]!, evidence[0]!], [evidence[0]!]]) {
      await viem.assertions.revertWithCustomError(propose(d.bundle(d.evidenceSignatures.slice(0, other.length), other, payloads.slice(0, other.length))), d.court, "EvidenceMismatch");
    }
    const framed = [d.evidenceSignatures[0]!, await signHeader(d, d.operators[1]!, evidence[1]!)];
    await viem.assertions.revertWithCustomErrorWithArgs(propose(d.bundle(framed)), d.court, "InvalidEvidenceSignature", [1n]);
    await viem.assertions.revertWithCustomErrorWithArgs(propose(d.bundle([...d.evidenceSignatures].reverse())), d.court, "InvalidEvidenceSignature", [0n]);
    await viem.assertions.revertWithCustomErrorWithArgs(propose(d.bundle(d.evidenceSignatures, evidence, [payloads[0]!, toHex("another share")])), d.court, "PayloadMismatch", [1n]);
    const tooMany = Array.from({ length: MAX_EVIDENCE_MESSAGES + 1 }, (_, i) => header(`m${i}`, "0x"));
    for (const [messages, signatures, bodies] of [
      [[], [], []],
      [tooMany, tooMany.map(() => d.evidenceSignatures[0]!), tooMany.map(() => "0x" as Hex)],
      [evidence, d.evidenceSignatures.slice(0, 1), payloads],
      [evidence, d.evidenceSignatures, payloads.slice(0, 1)],
    ] as [Hex[], Hex[], Hex[]][]) {
      await viem.assertions.revertWithCustomError(propose(d.bundle(signatures, messages, bodies)), d.court, "InvalidEvidence");
    }
    assert.equal(await d.court.read.evidenceHash([evidence]), removalEvidenceHash(evidence));
    await viem.assertions.revertWithCustomError(d.court.read.evidenceHash([[]]), d.court, "InvalidEvidence");
  });

  it("refuses a minority, too few signers, an unknown or old epoch and a non-member offender", async () => {
    const d = await loadFixture(proposalFixture);
    const two = await signRemoval(d, [d.operators[1]!, d.operators[2]!], d.proposal);
    await viem.assertions.revertWithCustomError(d.court.write.proposeRemoval([d.proposal, d.bundle(), two]), d.court, "TooFewSigners");
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proposeRemoval([{ ...d.proposal, epoch: 5n }, d.bundle(), d.signatures]), d.court, "UnknownEpoch", [5n]);
    await viem.assertions.revertWithCustomError(d.court.write.proposeRemoval([{ ...d.proposal, node: addressOf(d.stranger) }, d.bundle(), d.signatures]), d.court, "NotCommitteeMember");
    assert.equal(await d.court.read.MAX_EVIDENCE_MESSAGES(), BigInt(MAX_EVIDENCE_MESSAGES));
  });

  it("no longer lets a removed member be slashed for absence, sign, or count", async () => {
    const d = await loadFixture(deployConfirmed);
    const { first, second, signatures } = await equivocation(d);
    await d.court.write.removeForEquivocation([d.members[0]!, first, second, signatures[0], signatures[1]]);
    const window = await pastWindow();
    const against = { epoch: 1n, node: d.members[0]!, ...window };
    await viem.assertions.revertWithCustomErrorWithArgs(
      d.court.write.slashAbsence([against, await signAbsence(d, [d.operators[1]!, d.operators[2]!, d.operators[3]!], against)]),
      d.court,
      "NodeIsRemoved",
      [getAddress(d.members[0]!)],
    );
    const byRemoved = { epoch: 1n, node: d.members[1]!, ...window };
    await viem.assertions.revertWithCustomErrorWithArgs(
      d.court.write.slashAbsence([byRemoved, await signAbsence(d, [d.operators[0]!, d.operators[2]!, d.operators[3]!], byRemoved)]),
      d.court,
      "NodeIsRemoved",
      [getAddress(d.members[0]!)],
    );
    await d.assertBalancesAddUp();
  });
});

describe("RelayStaking: removal of a node never elected", () => {
  it("removes a registered node for equivocation even outside a committee", async () => {
    const d = await loadFixture(deployStaking);
    const first = header("slot", toHex("a"));
    const second = header("slot", toHex("b"));
    await d.court.write.removeForEquivocation([d.members[2]!, first, second, await signHeader(d, d.operators[2]!, first), await signHeader(d, d.operators[2]!, second)]);
    assert.equal((await d.staking.read.getNode([d.members[2]!])).removed, true);
    await viem.assertions.revertWithCustomError(d.court.write.removeForEquivocation([addressOf(d.stranger), first, second, "0x", "0x"]), d.court, "InvalidEvidenceSignature");
  });
});
