/** StakeLedger: registration (with an identity proof instead of first-come identities), stake, unbonding, rewards. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodePacked, getAddress, hashTypedData, keccak256, parseEther, toHex, zeroAddress } from "viem";
import { stakingTypes } from "../../relayer/staking/typed-data.ts";
import { addressOf, DAY, deployStaking, identityOf, identityProofOf, networkHelpers, PARAMS, STAKES, viem } from "./fixture.ts";

const { loadFixture, time } = networkHelpers;

describe("TestStakeToken", () => {
  it("lets only the owner and appointed minters mint", async () => {
    const { token, stranger, prover } = await loadFixture(deployStaking);
    await viem.assertions.revertWithCustomErrorWithArgs(token.write.mint([addressOf(stranger), 1n], { account: stranger.account! }), token, "NotMinter", [getAddress(addressOf(stranger))]);
    await viem.assertions.revertWithCustomError(token.write.setMinter([addressOf(prover), true], { account: stranger.account! }), token, "OwnableUnauthorizedAccount");
    await viem.assertions.revertWithCustomError(token.write.setMinter([zeroAddress, true]), token, "ZeroMinter");
    await viem.assertions.emitWithArgs(token.write.setMinter([addressOf(prover), true]), token, "MinterSet", [getAddress(addressOf(prover)), true]);
    await token.write.mint([addressOf(stranger), 5n], { account: prover.account! });
    assert.equal(await token.read.balanceOf([addressOf(stranger)]), 5n);
    await token.write.setMinter([addressOf(prover), false]);
    await viem.assertions.revertWithCustomError(token.write.mint([addressOf(stranger), 1n], { account: prover.account! }), token, "NotMinter");
  });
});

describe("RelayStaking: registration", () => {
  it("registers a node with the operator's consent and the identity's proof, and numbers it", async () => {
    const d = await loadFixture(deployStaking);
    const node = await d.staking.read.getNode([d.members[0]!]);
    assert.equal(node.staker, getAddress(addressOf(d.stakers[0]!)));
    assert.equal(node.stake, STAKES[0]);
    assert.equal(node.identity, identityOf(0));
    assert.equal(node.identityProof, identityProofOf(0));
    assert.equal(node.removed, false);
    assert.equal(
      await d.staking.read.registrationDigest([addressOf(d.stakers[0]!), identityOf(0)]),
      hashTypedData({ domain: d.domain, types: stakingTypes, primaryType: "OperatorRegistration", message: { staker: addressOf(d.stakers[0]!), identityHash: keccak256(identityOf(0)) } }),
    );
    // What the libp2p key signs binds chain, contract and operator.
    assert.equal(
      await d.staking.read.identityClaim([d.members[0]!]),
      encodePacked(["string", "uint256", "address", "address"], ["mpc-relay/operator-identity/v1", d.chainId, d.staking.address, d.members[0]!]),
    );

    const operator = d.operators[4]!;
    const staker = d.stakers[4]!;
    const signature = await d.signRegistration(operator, addressOf(staker), identityOf(4));
    const id = (await d.staking.read.nodeCount()) + 1;
    await viem.assertions.emitWithArgs(d.staking.write.register([addressOf(operator), identityOf(4), signature, identityProofOf(4)], { account: staker.account! }), d.staking, "NodeRegistered", [
      getAddress(addressOf(operator)),
      getAddress(addressOf(staker)),
      id,
      identityOf(4),
      identityProofOf(4),
    ]);
    assert.equal((await d.staking.read.getNode([addressOf(operator)])).id, id);
    assert.deepEqual(await d.staking.read.nodeStatus([addressOf(operator)]), [getAddress(addressOf(staker)), false, 0n]);
  });

  it("refuses bad registrations", async () => {
    const d = await loadFixture(deployStaking);
    const operator = d.operators[4]!;
    const staker = d.stakers[4]!;
    const as = { account: staker.account! };
    const identity = identityOf(4);
    const signature = await d.signRegistration(operator, addressOf(staker), identity);
    const proof = identityProofOf(4);
    await viem.assertions.revertWithCustomError(d.staking.write.register([zeroAddress, identity, signature, proof], as), d.staking, "ZeroAddress");
    for (const [badIdentity, badProof] of [
      ["0x", proof],
      [toHex(new Uint8Array(257)), proof],
      [identity, "0x"],
      [identity, toHex(new Uint8Array(129))],
    ] as const) {
      await viem.assertions.revertWithCustomError(d.staking.write.register([addressOf(operator), badIdentity, signature, badProof], as), d.staking, "InvalidIdentity");
    }
    await viem.assertions.revertWithCustomErrorWithArgs(d.staking.write.register([d.members[0]!, identity, signature, proof], as), d.staking, "OperatorTaken", [getAddress(d.members[0]!)]);
    // Consent given to another staker, or signed by another key, or not a signature at all.
    await viem.assertions.revertWithCustomError(
      d.staking.write.register([addressOf(operator), identity, signature, proof], { account: d.stakers[1]!.account! }),
      d.staking,
      "InvalidOperatorSignature",
    );
    const wrongKey = await d.signRegistration(d.operators[0]!, addressOf(staker), identity);
    for (const bad of [wrongKey, "0x1234" as const]) {
      await viem.assertions.revertWithCustomError(d.staking.write.register([addressOf(operator), identity, bad, proof], as), d.staking, "InvalidOperatorSignature");
    }
  });
});

describe("RelayStaking: stake", () => {
  it("stakes, unbonds and withdraws only after the unbonding period, for a node never elected", async () => {
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
    assert.equal(await d.staking.read.lockedUntil([operator]), 0n, "never elected: no key to answer for");

    await time.increase(PARAMS.unbondingPeriod - 10n);
    await viem.assertions.revertWithCustomErrorWithArgs(d.staking.write.withdraw([operator], as), d.staking, "UnbondingNotFinished", [requestedAt + PARAMS.unbondingPeriod]);
    await time.increase(10n);
    await viem.assertions.emitWithArgs(d.staking.write.withdraw([operator], as), d.staking, "Withdrawn", [getAddress(operator), getAddress(addressOf(staker)), amount]);
    assert.equal(await d.token.read.balanceOf([addressOf(staker)]), amount);
    node = await d.staking.read.getNode([operator]);
    assert.equal(node.unbonding, 0n);
    await d.assertBalancesAddUp();
  });

  it("restarts the unbonding wait on a new request, and keeps release times stored at request when the period changes", async () => {
    const d = await loadFixture(deployStaking);
    const as = { account: d.stakers[0]!.account! };
    const operator = d.members[0]!;
    await d.staking.write.requestUnbond([operator, 1n], as);
    await time.increase(PARAMS.unbondingPeriod - DAY);
    await d.staking.write.requestUnbond([operator, 1n], as);
    const release = (await d.staking.read.getNode([operator])).unbondingReleaseTime;
    await time.increase(DAY);
    await viem.assertions.revertWithCustomError(d.staking.write.withdraw([operator], as), d.staking, "UnbondingNotFinished");
    // Governance lengthens the period: what was requested before keeps its release time.
    const longer = { ...PARAMS, unbondingPeriod: 60n * DAY };
    await d.staking.write.requestParams([longer]);
    await time.increase(await d.staking.read.PARAMS_DELAY());
    await d.staking.write.applyParams([longer]);
    assert.equal((await d.staking.read.getNode([operator])).unbondingReleaseTime, release);
    await time.increaseTo(release);
    await d.staking.write.withdraw([operator], as);
    await d.assertBalancesAddUp();
  });

  it("refuses stake operations by anyone but the staker and bad amounts", async () => {
    const d = await loadFixture(deployStaking);
    const operator = d.members[0]!;
    const other = { account: d.stakers[1]!.account! };
    const own = { account: d.stakers[0]!.account! };
    for (const call of [d.staking.write.stake([operator, 1n], other), d.staking.write.requestUnbond([operator, 1n], other), d.staking.write.withdraw([operator], other)]) {
      await viem.assertions.revertWithCustomErrorWithArgs(call, d.staking, "NotStaker", [getAddress(addressOf(d.stakers[1]!)), getAddress(operator)]);
    }
    const unknown = addressOf(d.stranger);
    for (const call of [d.staking.write.stake([unknown, 1n], own), d.staking.write.requestUnbond([unknown, 1n], own), d.staking.write.withdraw([unknown], own)]) {
      await viem.assertions.revertWithCustomErrorWithArgs(call, d.staking, "UnknownOperator", [getAddress(unknown)]);
    }
    await viem.assertions.revertWithCustomError(d.staking.write.stake([operator, 0n], own), d.staking, "ZeroAmount");
    await viem.assertions.revertWithCustomError(d.staking.write.requestUnbond([operator, 0n], own), d.staking, "ZeroAmount");
    await viem.assertions.revertWithCustomErrorWithArgs(d.staking.write.requestUnbond([operator, STAKES[0] + 1n], own), d.staking, "InsufficientStake", [STAKES[0], STAKES[0] + 1n]);
    await viem.assertions.revertWithCustomError(d.staking.write.claimRewards(own), d.staking, "NothingToClaim");
  });

  it("lets only the court take stake or remove a node", async () => {
    const d = await loadFixture(deployStaking);
    const as = { account: d.stranger.account! };
    const proposal = { epoch: 1n, node: d.members[0]!, fromBlock: 0n, toBlock: 10n };
    for (const call of [
      d.staking.write.slashAbsent([proposal, addressOf(d.stranger)], as),
      d.staking.write.setRemovalPending([d.members[0]!, true], as),
      d.staking.write.removeNode([d.members[0]!, 1n, `0x${"11".repeat(32)}`, addressOf(d.stranger)], as),
      d.staking.write.slashLineage([d.members[0]!, `0x${"11".repeat(32)}`, `0x${"00".repeat(32)}`, addressOf(d.stranger)], as),
    ]) {
      await viem.assertions.revertWithCustomErrorWithArgs(call, d.staking, "NotCourt", [getAddress(addressOf(d.stranger))]);
    }
    assert.equal(await d.staking.read.slashableStake([d.members[0]!]), STAKES[0]);
  });
});
