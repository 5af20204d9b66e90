/**
 * What a member needs to act on RelayStaking: reads, proposals signed as
 * EIP-712 typed data in the deployment's domain, and transactions from its
 * operator account. Shared by the absence slasher and the removal proposer.
 */
import type { Chain, Hex, PublicClient, WalletClient } from "viem";
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

/** Waits for a transaction and throws when it reverted. */
export async function confirmSuccess(client: PublicClient, hash: Hex, what: string): Promise<void> {
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${what} reverted (${hash})`);
}
