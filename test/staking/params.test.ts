/** StakingParams: bounded parameters, changed only after a delay; governance-only setters. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, keccak256, encodeAbiParameters, zeroAddress } from "viem";
import { addressOf, DAY, deployStaking, networkHelpers, PARAMS, type Params, viem } from "./fixture.ts";

const { loadFixture, time } = networkHelpers;

/** The Param enum of IRelayStaking, in order. */
const PARAM = [
  "minStake",
  "unbondingPeriod",
  "challengePeriod",
  "minAbsenceWindow",
  "absenceLookback",
  "absenceSlashBps",
  "maxAbsenceSlashes",
  "removalSlashBps",
  "forgerySlashBps",
  "proverRewardBps",
] as const;

/** One out-of-bounds value per parameter, at the first step past each bound. */
const OUT_OF_BOUNDS: [keyof Params, bigint | number][] = [
  ["minStake", 0n],
  ["unbondingPeriod", DAY - 1n],
  ["unbondingPeriod", 90n * DAY + 1n],
  ["challengePeriod", 3_599n],
  ["challengePeriod", 30n * DAY + 1n],
  ["minAbsenceWindow", 4n],
  ["minAbsenceWindow", PARAMS.absenceLookback + 1n],
  ["absenceLookback", 100_001n],
  ["absenceSlashBps", 1_001],
  ["maxAbsenceSlashes", 0],
  ["maxAbsenceSlashes", 4],
  ["removalSlashBps", 10_001],
  ["forgerySlashBps", 999],
  ["forgerySlashBps", 10_001],
  ["proverRewardBps", 2_001],
];

const PARAMS_TYPE = [
  {
    type: "tuple",
    components: [
      { name: "minStake", type: "uint256" },
      { name: "unbondingPeriod", type: "uint64" },
      { name: "challengePeriod", type: "uint64" },
      { name: "minAbsenceWindow", type: "uint64" },
      { name: "absenceLookback", type: "uint64" },
      { name: "absenceSlashBps", type: "uint16" },
      { name: "maxAbsenceSlashes", type: "uint16" },
      { name: "removalSlashBps", type: "uint16" },
      { name: "forgerySlashBps", type: "uint16" },
      { name: "proverRewardBps", type: "uint16" },
    ],
  },
] as const;

describe("RelayStaking: parameters", () => {
  it("refuses a zero token, a zero treasury and every parameter out of its bound, at deployment and on request", async () => {
    const { token, owner, staking } = await loadFixture(deployStaking);
    const me = addressOf(owner);
    await viem.assertions.revertWithCustomError(viem.deployContract("RelayStaking", [zeroAddress, me, me, PARAMS]), staking, "ZeroAddress");
    await viem.assertions.revertWithCustomError(viem.deployContract("RelayStaking", [token.address, me, zeroAddress, PARAMS]), staking, "ZeroAddress");
    for (const [field, value] of OUT_OF_BOUNDS) {
      const bad = { ...PARAMS, [field]: value };
      const which = PARAM.indexOf(field);
      await viem.assertions.revertWithCustomErrorWithArgs(viem.deployContract("RelayStaking", [token.address, me, me, bad]), staking, "InvalidParams", [which]);
      await viem.assertions.revertWithCustomErrorWithArgs(staking.write.requestParams([bad]), staking, "InvalidParams", [which]);
    }
  });

  it("applies requested parameters only after PARAMS_DELAY, and only the ones requested", async () => {
    const { staking, stranger } = await loadFixture(deployStaking);
    const next = { ...PARAMS, absenceSlashBps: 500, unbondingPeriod: 14n * DAY };
    await viem.assertions.emit(staking.write.requestParams([next]), staking, "ParamsRequested");
    const requestedAt = BigInt(await time.latest());
    const delay = await staking.read.PARAMS_DELAY();
    assert.equal(await staking.read.pendingParamsAt(), requestedAt + delay);
    assert.equal(await staking.read.pendingParamsHash(), keccak256(encodeAbiParameters(PARAMS_TYPE, [next])));
    await viem.assertions.revertWithCustomError(staking.write.applyParams([next]), staking, "ParamsNotReady");
    await time.increase(delay);
    await viem.assertions.revertWithCustomError(staking.write.applyParams([{ ...next, absenceSlashBps: 1 }]), staking, "ParamsNotReady");
    // Anyone may apply them once due.
    await viem.assertions.emit(staking.write.applyParams([next], { account: stranger.account! }), staking, "ParamsSet");
    assert.equal((await staking.read.params())[5], 500);
    assert.equal(await staking.read.pendingParamsHash(), `0x${"00".repeat(32)}`);
    await viem.assertions.revertWithCustomError(staking.write.applyParams([next]), staking, "ParamsNotReady");
  });

  it("restricts every governance function to the owner and transfers ownership in two steps", async () => {
    const { staking, court, stranger, members, gateway, owner } = await loadFixture(deployStaking);
    const asStranger = { account: stranger.account! };
    for (const call of [
      staking.write.requestParams([PARAMS], asStranger),
      staking.write.setTreasury([addressOf(stranger)], asStranger),
      staking.write.setSourceGateway([gateway.address], asStranger),
      staking.write.electCommittee([members, 3], asStranger),
    ]) {
      await viem.assertions.revertWithCustomErrorWithArgs(call, staking, "OwnableUnauthorizedAccount", [getAddress(addressOf(stranger))]);
    }
    await viem.assertions.revertWithCustomErrorWithArgs(court.write.resolveRemoval([members[0]!, true], asStranger), court, "NotGovernance", [getAddress(addressOf(stranger))]);
    await staking.write.transferOwnership([addressOf(stranger)]);
    assert.equal(await staking.read.owner(), getAddress(addressOf(owner)));
    await staking.write.acceptOwnership(asStranger);
    assert.equal(await staking.read.owner(), getAddress(addressOf(stranger)));
  });

  it("sets the treasury and source gateway with events and validation", async () => {
    const { staking, gateway, prover } = await loadFixture(deployStaking);
    await viem.assertions.revertWithCustomError(staking.write.setTreasury([zeroAddress]), staking, "ZeroAddress");
    await viem.assertions.emitWithArgs(staking.write.setTreasury([addressOf(prover)]), staking, "TreasurySet", [getAddress(addressOf(prover))]);
    await viem.assertions.revertWithCustomError(staking.write.setSourceGateway([zeroAddress]), staking, "ZeroAddress");
    await viem.assertions.emitWithArgs(staking.write.setSourceGateway([gateway.address]), staking, "SourceGatewaySet", [getAddress(gateway.address)]);
    assert.equal(await staking.read.sourceGateway(), getAddress(gateway.address));
  });
});
