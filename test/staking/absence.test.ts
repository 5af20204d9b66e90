/** AbsenceSlashing and the MajorityApproval rule every members' decision passes. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, type Address } from "viem";
import { addressOf, BPS, deployConfirmed, deployStaking, electAndConfirm, networkHelpers, PARAMS, pastWindow, relayKey, signAbsence, STAKES, viem } from "./fixture.ts";

const { loadFixture, mine, time } = networkHelpers;

/** Five members (weights 100, 100, 100, 400 capped, 100), threshold 3, confirmed. */
async function fiveMembers() {
  const d = await deployStaking();
  await d.register(d.stakers[4]!, d.operators[4]!, `0x${"44".repeat(16)}`);
  await d.fundAndStake(d.stakers[4]!, addressOf(d.operators[4]!), PARAMS.minStake);
  const relay = relayKey("five");
  await electAndConfirm(d, [0, 1, 2, 3, 4], relay);
  return { ...d, relay, all: d.operators.slice(0, 5), node: (i: number): Address => addressOf(d.operators[i]!) };
}

describe("RelayStaking: absence slashing", () => {
  it("slashes with t signers holding a majority of the others' weight, and pays the treasury, not the signers", async () => {
    const d = await loadFixture(deployConfirmed);
    const window = await pastWindow();
    const proposal = { epoch: 1n, node: d.members[0]!, ...window };
    const signers = [d.operators[1]!, d.operators[2]!, d.operators[3]!];
    await viem.assertions.emitWithArgs(d.court.write.slashAbsence([proposal, await signAbsence(d, signers, proposal)], { account: d.stranger.account! }), d.staking, "AbsenceSlashed", [
      1n,
      getAddress(d.members[0]!),
      window.fromBlock,
      window.toBlock,
      getAddress(addressOf(d.stranger)),
    ]);
    const slashed = (STAKES[0] * BigInt(PARAMS.absenceSlashBps)) / BPS;
    assert.equal(await d.staking.read.slashableStake([d.members[0]!]), STAKES[0] - slashed);
    assert.equal(await d.staking.read.rewards([addressOf(d.treasury)]), slashed);
    for (const staker of d.stakers.slice(0, 4)) assert.equal(await d.staking.read.rewards([addressOf(staker)]), 0n, "no signer earns from it");
    assert.equal(await d.court.read.absenceSlashedUntil([d.members[0]!]), window.toBlock + 1n);
    assert.equal(await d.court.read.absenceSlashCount([1n, d.members[0]!]), 1);
    await d.assertBalancesAddUp();
  });

  it("needs at least the epoch's threshold of signers, whatever weight fewer hold", async () => {
    const d = await loadFixture(deployConfirmed);
    const proposal = { epoch: 1n, node: d.members[0]!, ...(await pastWindow()) };
    // Member 3 alone holds 400 of the others' 600: a weight majority, but one member.
    for (const signers of [[d.operators[3]!], [d.operators[3]!, d.operators[1]!]]) {
      await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.slashAbsence([proposal, await signAbsence(d, signers, proposal)]), d.court, "TooFewSigners", [BigInt(signers.length), 3n]);
    }
    assert.equal(await d.staking.read.slashableStake([d.members[0]!]), STAKES[0]);
  });

  it("counts the majority over the others' weight: the accused's own weight neither helps nor hinders", async () => {
    const d = await loadFixture(fiveMembers);
    // Accused member 0: the others weigh 700; members 1, 2, 4 (300) are three signers but no majority.
    const proposal = { epoch: 1n, node: d.node(0), ...(await pastWindow()) };
    await viem.assertions.revertWithCustomErrorWithArgs(
      d.court.write.slashAbsence([proposal, await signAbsence(d, [d.all[1]!, d.all[2]!, d.all[4]!], proposal)]),
      d.court,
      "InsufficientSignedWeight",
      [300n * 10n ** 18n, 700n * 10n ** 18n],
    );
    await d.court.write.slashAbsence([proposal, await signAbsence(d, [d.all[1]!, d.all[2]!, d.all[3]!], proposal)]);
    // Accused member 3 (weight 400): the others weigh 400, members 0, 1, 2 hold 300 of it.
    const heavy = { epoch: 1n, node: d.node(3), ...(await pastWindow()) };
    await d.court.write.slashAbsence([heavy, await signAbsence(d, [d.all[0]!, d.all[1]!, d.all[2]!], heavy)]);
    await d.assertBalancesAddUp();
  });

  it("refuses the accused's signature, unsorted or repeated signers, bad signatures and outsiders", async () => {
    const d = await loadFixture(fiveMembers);
    const proposal = { epoch: 1n, node: d.node(0), ...(await pastWindow()) };
    const signed = await signAbsence(d, [d.all[0]!, d.all[1]!, d.all[3]!], proposal);
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.slashAbsence([proposal, signed]), d.court, "AccusedCannotSign", [getAddress(d.node(0))]);
    const good = await signAbsence(d, [d.all[1]!, d.all[2]!, d.all[3]!], proposal);
    await viem.assertions.revertWithCustomError(d.court.write.slashAbsence([proposal, [...good].reverse()]), d.court, "SignersNotSorted");
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.slashAbsence([proposal, [good[0]!, good[0]!, good[1]!]]), d.court, "SignersNotSorted", [1n]);
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.slashAbsence([proposal, [good[0]!, "0x1234", good[2]!]]), d.court, "InvalidSignature", [1n]);
    const outsider = await signAbsence(d, [d.stranger, d.all[1]!, d.all[2]!], proposal);
    await viem.assertions.revertWithCustomError(d.court.write.slashAbsence([proposal, outsider]), d.court, "NotCommitteeMember");
  });

  it("takes windows only over, long enough, recent, inside the epoch and after the last slashed block", async () => {
    const d = await loadFixture(deployConfirmed);
    const signers = [d.operators[1]!, d.operators[2]!, d.operators[3]!];
    const attempt = async (fromBlock: bigint, toBlock: bigint) => {
      const proposal = { epoch: 1n, node: d.members[0]!, fromBlock, toBlock };
      return d.court.write.slashAbsence([proposal, await signAbsence(d, signers, proposal)]);
    };
    await mine(20);
    const head = BigInt(await time.latestBlock());
    const [, , , startBlock] = await d.staking.read.committee([1n]);
    await viem.assertions.revertWithCustomError(attempt(head - 5n, head - 10n), d.court, "InvalidWindow"); // reversed
    await viem.assertions.revertWithCustomError(attempt(head - 5n, head + 5n), d.court, "InvalidWindow"); // not over
    await viem.assertions.revertWithCustomError(attempt(head - 9n, head - 1n), d.court, "InvalidWindow"); // 9 blocks < 10
    await viem.assertions.revertWithCustomErrorWithArgs(attempt(startBlock - 1n, startBlock + 12n), d.court, "WindowOutsideEpoch", [1n, startBlock, 0n]);
    await attempt(head - 15n, head - 2n);
    await viem.assertions.revertWithCustomErrorWithArgs(attempt(head - 10n, head), d.court, "WindowAlreadySlashed", [getAddress(d.members[0]!), head - 1n]);
    // Recent only: a window starting more than absenceLookback blocks ago is refused.
    await mine(Number(PARAMS.absenceLookback));
    const now = BigInt(await time.latestBlock()) + 1n;
    await viem.assertions.revertWithCustomErrorWithArgs(attempt(head, head + 20n), d.court, "WindowTooOld", [head, now - PARAMS.absenceLookback]);
    await d.assertBalancesAddUp();
  });

  it("slashes a member at most maxAbsenceSlashes times per epoch, never a removed member, and only in current epochs", async () => {
    const d = await loadFixture(deployConfirmed);
    const signers = [d.operators[1]!, d.operators[2]!, d.operators[3]!];
    const slash = async (epoch: bigint, node: Address, sign = signers) => {
      const proposal = { epoch, node, ...(await pastWindow()) };
      return d.court.write.slashAbsence([proposal, await signAbsence(d, sign, proposal)]);
    };
    for (let i = 0; i < PARAMS.maxAbsenceSlashes; i++) await slash(1n, d.members[0]!);
    await viem.assertions.revertWithCustomErrorWithArgs(slash(1n, d.members[0]!), d.court, "AbsenceCapReached", [1n, getAddress(d.members[0]!)]);
    const afterCap = await d.staking.read.slashableStake([d.members[0]!]);
    const expected = (((STAKES[0] * 9n) / 10n) * 9n) / 10n;
    assert.equal(afterCap, expected, "two 10 % slashes, then nothing");
    // Two more epochs (without the slashed member, now below minStake): epoch 1 no longer acts.
    await electAndConfirm(d, [1, 2, 3], relayKey("epoch 2"), 2);
    await d.staking.write.electCommittee([d.members.slice(1), 2]);
    await viem.assertions.revertWithCustomErrorWithArgs(slash(1n, d.members[1]!, [d.operators[0]!, d.operators[2]!, d.operators[3]!]), d.court, "EpochNotCurrent", [1n]);
    await d.assertBalancesAddUp();
  });
});
