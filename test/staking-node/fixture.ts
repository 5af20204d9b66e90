// Contract types come from the artifacts Hardhat generates on compile (tsconfig does not include artifacts/).
/// <reference path="../../artifacts/contracts/staking/RelayStaking.sol/artifacts.d.ts" />
/// <reference path="../../artifacts/contracts/staking/SlashingCourt.sol/artifacts.d.ts" />
/// <reference path="../../artifacts/contracts/staking/TestStakeToken.sol/artifacts.d.ts" />
/// <reference path="../../artifacts/contracts/gateway/SourceGateway.sol/artifacts.d.ts" />
/**
 * RelayStaking on Hardhat's in-process network with five operators whose
 * registered identities are real libp2p peer ids.
 */
import { network } from "hardhat";
import { bytesToHex, keccak256, parseEther, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { createIdentity, type NodeIdentity } from "../../relayer/node/identity.ts";
import { identityClaim, signIdentityClaim, submitClusterKey } from "../../relayer/staking/operator.ts";
import { DEVNET_STAKING_PARAMS, identityBytes } from "../../relayer/staking/setup.ts";
import { stakingDomain, stakingTypes } from "../../relayer/staking/typed-data.ts";

export const connection = await network.create();
export const { viem, networkHelpers } = connection;

export interface Operator {
  /** The operator key, for signers that need it raw (relayer/staking/message-signer.ts). */
  privateKey: Hex;
  account: PrivateKeyAccount;
  staker: WalletClient;
  identity: NodeIdentity;
}

/** Operator keys are fresh test accounts, funded for gas by the owner. */
export async function deployWithOperators() {
  const count = 5;
  const wallets = await viem.getWalletClients();
  const owner = wallets[0]!;
  const treasury = wallets[1]!;
  const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
  const chainId = await publicClient.getChainId();
  const token = await viem.deployContract("TestStakeToken", ["Stake", "STK", owner.account!.address]);
  const staking = await viem.deployContract("RelayStaking", [token.address, owner.account!.address, treasury.account!.address, DEVNET_STAKING_PARAMS]);
  const domain = stakingDomain(chainId, staking.address);
  const operators: Operator[] = [];
  for (let i = 0; i < count; i++) {
    const staker = wallets[4 + i]!;
    const privateKey = keccak256(bytesToHex(new TextEncoder().encode(`operator ${i} ${staking.address}`)));
    const account = privateKeyToAccount(privateKey);
    await owner.sendTransaction({ account: owner.account!, chain: owner.chain, to: account.address, value: parseEther("10") });
    const identity = await createIdentity();
    const registeredIdentity = identityBytes(identity.peerId);
    const consent = await account.signTypedData({
      domain,
      types: stakingTypes,
      primaryType: "OperatorRegistration",
      message: { staker: staker.account!.address, identityHash: keccak256(registeredIdentity) },
    });
    const proof = await signIdentityClaim(identity.privateKey, identityClaim(chainId, staking.address, account.address));
    await staking.write.register([account.address, registeredIdentity, consent, proof], { account: staker.account! });
    const amount = parseEther(String(100 * (i + 1)));
    await token.write.mint([staker.account!.address, amount]);
    await token.write.approve([staking.address, amount], { account: staker.account! });
    await staking.write.stake([account.address, amount], { account: staker.account! });
    operators.push({ privateKey, account, staker, identity });
  }
  const court = await viem.getContractAt("SlashingCourt", await staking.read.court());
  return { owner, treasury, publicClient, chainId, token, staking, court, domain, operators, wallet: owner };
}

export type Deployment = Awaited<ReturnType<typeof deployWithOperators>>;

/** `operator` submits `publicKey` as the cluster key of `epoch`, as its node would. */
export function submitKeyAs(d: Deployment, operator: Operator, epoch: bigint, publicKey: string): ReturnType<typeof submitClusterKey> {
  return submitClusterKey({ client: d.publicClient, wallet: d.wallet, account: operator.account, chain: d.wallet.chain ?? null, staking: d.staking.address, epoch, publicKey });
}

export function addressesOf(operators: readonly Operator[]): Address[] {
  return operators.map((o) => o.account.address);
}

export type { Hex };
