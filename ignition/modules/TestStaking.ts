/**
 * RelayStaking and its SlashingCourt over a fresh TestStakeToken ("Relay Stake", RSTK, owned and minted by
 * the deployer), as relayer/staking/setup.ts deploys them for the devnet and tests.
 *
 * Parameters (module "TestStaking"): owner, treasury (default: the deployer) and params (default: the
 * devnet's DEVNET_STAKING_PARAMS, windows sized for 1-second blocks). See Staking.ts.
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import { addStaking } from "./Staking.ts";

/** Within RelayStaking's bounds (StakingParams); windows sized for a devnet with 1-second blocks. */
export const DEVNET_STAKING_PARAMS = {
  minStake: 100n * 10n ** 18n,
  unbondingPeriod: 86_400n,
  challengePeriod: 3_600n,
  /** Absence must last at least this many blocks: the window, and the spread of each node's own records over it. */
  minAbsenceWindow: 5n,
  /** Windows start at most 10 minutes back. */
  absenceLookback: 600n,
  absenceSlashBps: 1_000,
  maxAbsenceSlashes: 1,
  removalSlashBps: 5_000,
  forgerySlashBps: 5_000,
  proverRewardBps: 2_000,
} as const;

export default buildModule("TestStaking", (m) => {
  const token = m.contract("TestStakeToken", ["Relay Stake", "RSTK", m.getAccount(0)]);
  const { relayStaking, court } = addStaking(m, token, m.getParameter("params", DEVNET_STAKING_PARAMS));
  return { token, relayStaking, court };
});
