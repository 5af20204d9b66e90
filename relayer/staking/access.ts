/**
 * What a member needs to act on RelayStaking and its SlashingCourt: reads,
 * proposals signed as EIP-712 typed data in RelayStaking's domain, and
 * transactions from its operator account. Shared by the absence slasher, the
 * removal proposer and the agent.
 */
import type { Address, Chain, PublicClient, WalletClient } from "viem";
import { relayStakingAbi } from "@mpc-relay/sdk";
import type { PrivateKeyAccount } from "viem/accounts";
import type { StakingPeerDirectory } from "./directory.ts";
import { stakingDomain, stakingTypes, type AbsenceProposal, type RemovalProposal } from "./typed-data.ts";

export interface StakingAccess {
  readonly client: PublicClient;
  readonly wallet: WalletClient;
  readonly account: PrivateKeyAccount;
  readonly chain: Chain | null;
  readonly chainId: number;
  readonly directory: StakingPeerDirectory;
}

interface Proposals {
  AbsenceSlash: AbsenceProposal;
  Removal: RemovalProposal;
}

/** A proposal as the typed data members sign (hashTypedData / signTypedData take it as is). */
export function proposalTypedData<K extends keyof Proposals>(access: StakingAccess, primaryType: K, message: Proposals[K]) {
  return { domain: stakingDomain(access.chainId, access.directory.staking), types: stakingTypes, primaryType, message };
}

/** RelayStaking's parameters in force (IRelayStaking.Params), by name. */
export interface StakingParams {
  minStake: bigint;
  unbondingPeriod: bigint;
  challengePeriod: bigint;
  minAbsenceWindow: bigint;
  absenceLookback: bigint;
  absenceSlashBps: number;
  maxAbsenceSlashes: number;
  removalSlashBps: number;
  forgerySlashBps: number;
  proverRewardBps: number;
}

export async function readParams(client: PublicClient, staking: Address): Promise<StakingParams> {
  const [minStake, unbondingPeriod, challengePeriod, minAbsenceWindow, absenceLookback, absenceSlashBps, maxAbsenceSlashes, removalSlashBps, forgerySlashBps, proverRewardBps] =
    await client.readContract({ address: staking, abi: relayStakingAbi, functionName: "params" });
  return { minStake, unbondingPeriod, challengePeriod, minAbsenceWindow, absenceLookback, absenceSlashBps, maxAbsenceSlashes, removalSlashBps, forgerySlashBps, proverRewardBps };
}
