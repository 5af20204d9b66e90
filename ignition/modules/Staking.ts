/**
 * RelayStaking (which creates its SlashingCourt) over an existing stake token.
 *
 * Parameters (module "Staking"):
 *   token     the ERC-20 operators stake, required
 *   owner     owner of RelayStaking (a timelock in production); default: the deployer (account 0)
 *   treasury  receiver of the slashed stake's remainder; default: the deployer
 *   params    RelayStaking's Params struct (minStake, unbondingPeriod, challengePeriod, minAbsenceWindow,
 *             absenceLookback, absenceSlashBps, maxAbsenceSlashes, removalSlashBps, forgerySlashBps,
 *             proverRewardBps), required: the windows depend on the chain's block time
 *
 * TestStaking.ts deploys the same over a fresh TestStakeToken, as the devnet does.
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import type { ArgumentType, ContractFuture, IgnitionModuleBuilder, ModuleParameterRuntimeValue } from "@nomicfoundation/ignition-core";

/** Adds RelayStaking over `token` and its SlashingCourt to module `m`. */
export function addStaking(m: IgnitionModuleBuilder, token: ContractFuture<string> | ModuleParameterRuntimeValue<string>, params: ArgumentType) {
  const owner = m.getParameter("owner", m.getAccount(0));
  const treasury = m.getParameter("treasury", m.getAccount(0));
  const relayStaking = m.contract("RelayStaking", [token, owner, treasury, params]);
  const court = m.contractAt("SlashingCourt", m.staticCall(relayStaking, "court", [], 0, { id: "RelayStaking_court" }));
  return { relayStaking, court };
}

export default buildModule("Staking", (m) => {
  const token = m.getParameter<string>("token");
  return addStaking(m, token, m.getParameter("params"));
});
