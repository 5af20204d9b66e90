// Contract types come from the artifacts Hardhat generates on compile (tsconfig does not include artifacts/).
/// <reference path="../../artifacts/contracts/staking/RelayStaking.sol/artifacts.d.ts" />
/// <reference path="../../artifacts/contracts/staking/SlashingCourt.sol/artifacts.d.ts" />
/// <reference path="../../artifacts/contracts/staking/TestStakeToken.sol/artifacts.d.ts" />
/// <reference path="../../artifacts/contracts/gateway/SourceGateway.sol/artifacts.d.ts" />
/**
 * Shared deployment for the RelayStaking tests: token, RelayStaking and its SlashingCourt, a SourceGateway, four
 * staked nodes (and a fifth operator registered in some tests), and helpers that sign what members and nodes sign.
 * Every test of an attack ends with `assertBalancesAddUp`: the staking contract holds exactly the stakes, unbonding
 * stakes and unclaimed rewards, and no token was created or lost.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { concat, keccak256, parseEther, sha256, toHex, type Address, type Hex, type WalletClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { sortBySigner, stakingDomain, stakingTypes, type AbsenceProposal, type RemovalProposal } from "../../relayer/staking/typed-data.ts";

export const connection = await network.create();
export const { viem, networkHelpers } = connection;
const { time, mine } = networkHelpers;

export const DAY = 86_400n;
export const BPS = 10_000n;
export const PARAMS = {
  minStake: parseEther("100"),
  unbondingPeriod: 7n * DAY,
  challengePeriod: 2n * DAY,
  minAbsenceWindow: 10n,
  absenceLookback: 1_000n,
  absenceSlashBps: 1_000, // 10 %
  maxAbsenceSlashes: 2,
  removalSlashBps: 5_000, // 50 %
  forgerySlashBps: 5_000, // 50 %
  proverRewardBps: 2_000, // 20 % of the forgery slash, at most the smallest member's loss
} as const;
export type Params = { -readonly [K in keyof typeof PARAMS]: (typeof PARAMS)[K] extends bigint ? bigint : number };
/** Stakes of the four nodes; node 3's weight is capped at 4 x minStake. */
export const STAKES = [parseEther("100"), parseEther("100"), parseEther("100"), parseEther("600")] as const;
export const DST_CHAIN_ID = 999n;

/** The cluster key of an epoch. In the product it is a DKLs23 threshold key; tests only need its signatures. */
export function relayKey(label: string): { account: PrivateKeyAccount; publicKey: Hex } {
  const account = privateKeyToAccount(keccak256(toHex(`relay key ${label}`)));
  return { account, publicKey: `0x${account.publicKey.slice(4)}` };
}

export function identityOf(index: number): Hex {
  return toHex(`12D3KooW-test-peer-${index}`);
}

/** Not checked on chain (an Ed25519 signature; the nodes and governance check it): any bytes do here. */
export function identityProofOf(index: number): Hex {
  return keccak256(toHex(`identity proof ${index}`));
}

export function addressOf(wallet: WalletClient): Address {
  return wallet.account!.address;
}

export async function deployStaking() {
  const wallets = await viem.getWalletClients();
  const [owner, treasury, prover, stranger] = wallets as [WalletClient, WalletClient, WalletClient, WalletClient];
  const stakers = wallets.slice(4, 9);
  const operators = wallets.slice(9, 14); // four nodes plus one registered later in some tests
  const publicClient = await viem.getPublicClient();
  const chainId = BigInt(await publicClient.getChainId());

  const token = await viem.deployContract("TestStakeToken", ["Stake", "STK", addressOf(owner)]);
  const staking = await viem.deployContract("RelayStaking", [token.address, addressOf(owner), addressOf(treasury), PARAMS]);
  const court = await viem.getContractAt("SlashingCourt", await staking.read.court());
  const gateway = await viem.deployContract("SourceGateway", [addressOf(owner), addressOf(owner), 1024]);
  await gateway.write.setDestination([DST_CHAIN_ID, { baseFee: 0n, gasPrice: 0n, byteFee: 0n, maxGasLimit: 1_000_000 }]);
  const domain = stakingDomain(chainId, staking.address);

  async function signRegistration(operator: WalletClient, staker: Address, identity: Hex): Promise<Hex> {
    return operator.signTypedData({
      account: operator.account!,
      domain,
      types: stakingTypes,
      primaryType: "OperatorRegistration",
      message: { staker, identityHash: keccak256(identity) },
    });
  }

  async function register(staker: WalletClient, operator: WalletClient, identity: Hex, proof: Hex = identityProofOf(0)) {
    const signature = await signRegistration(operator, addressOf(staker), identity);
    await staking.write.register([addressOf(operator), identity, signature, proof], { account: staker.account! });
  }

  async function fundAndStake(staker: WalletClient, operator: Address, amount: bigint) {
    await token.write.mint([addressOf(staker), amount]);
    await token.write.approve([staking.address, amount], { account: staker.account! });
    await staking.write.stake([operator, amount], { account: staker.account! });
  }

  for (let i = 0; i < 4; i++) {
    await register(stakers[i]!, operators[i]!, identityOf(i), identityProofOf(i));
    await fundAndStake(stakers[i]!, addressOf(operators[i]!), STAKES[i]!);
  }
  const members = operators.slice(0, 4).map(addressOf);
  const holders = [...stakers, owner, treasury, prover, stranger].map(addressOf);

  /**
   * No token created or lost: the staking contract holds exactly every node's stake and unbonding stake and every
   * unclaimed reward, and the whole supply is there or with a participant (only participants ever hold tokens here).
   */
  async function assertBalancesAddUp(): Promise<void> {
    let owed = 0n;
    // Any of the test's accounts may run a node.
    for (const node of new Set([...operators.map(addressOf), ...holders])) owed += await staking.read.slashableStake([node]);
    for (const holder of holders) owed += await staking.read.rewards([holder]);
    const held = await token.read.balanceOf([staking.address]);
    assert.equal(held, owed, "the staking contract holds exactly what it owes");
    let outside = 0n;
    for (const holder of holders) outside += await token.read.balanceOf([holder]);
    assert.equal(held + outside, await token.read.totalSupply(), "every token is accounted for");
  }

  return {
    owner,
    treasury,
    prover,
    stranger,
    stakers,
    operators,
    members,
    token,
    staking,
    court,
    gateway,
    domain,
    chainId,
    publicClient,
    register,
    signRegistration,
    fundAndStake,
    assertBalancesAddUp,
  };
}

export type Deployment = Awaited<ReturnType<typeof deployStaking>>;

/** Elects members (threshold 3 by default) and has each submit the key; returns the new epoch. */
export async function electAndConfirm(d: Deployment, indices: readonly number[], key: { publicKey: Hex }, threshold = 3): Promise<bigint> {
  await d.staking.write.electCommittee([indices.map((i) => d.members[i] ?? addressOf(d.operators[i]!)), threshold]);
  const epoch = await d.staking.read.latestEpoch();
  for (const i of indices) await d.staking.write.submitClusterKey([epoch, key.publicKey], { account: d.operators[i]!.account! });
  return epoch;
}

/** Elects the four nodes (threshold 3) and has all of them submit the same cluster key. */
export async function deployConfirmed() {
  const deployment = await deployStaking();
  const relay = relayKey("epoch 1");
  await electAndConfirm(deployment, [0, 1, 2, 3], relay);
  return { ...deployment, relay };
}

/** A window of `length` blocks that is over, recent and inside the current epoch. */
export async function pastWindow(length = 10n): Promise<{ fromBlock: bigint; toBlock: bigint }> {
  await mine(Number(length) + 5);
  const head = BigInt(await time.latestBlock());
  return { fromBlock: head - length - 1n, toBlock: head - 2n };
}

/** Each signer's signature, in the ascending signer order the court requires. */
async function signInSignerOrder(signers: readonly WalletClient[], sign: (wallet: WalletClient) => Promise<Hex>): Promise<Hex[]> {
  const signed = await Promise.all(signers.map(async (wallet) => ({ signer: addressOf(wallet), signature: await sign(wallet) })));
  return sortBySigner(signed).map((s) => s.signature);
}

export function signAbsence(d: Deployment, signers: readonly WalletClient[], proposal: AbsenceProposal): Promise<Hex[]> {
  return signInSignerOrder(signers, (wallet) => wallet.signTypedData({ account: wallet.account!, domain: d.domain, types: stakingTypes, primaryType: "AbsenceSlash", message: proposal }));
}

export function signRemoval(d: Deployment, signers: readonly WalletClient[], proposal: RemovalProposal): Promise<Hex[]> {
  return signInSignerOrder(signers, (wallet) => wallet.signTypedData({ account: wallet.account!, domain: d.domain, types: stakingTypes, primaryType: "Removal", message: proposal }));
}

/** The node's `ProtocolMessage` signature of a message header. */
export function signHeader(d: Deployment, sender: WalletClient, header: Hex): Promise<Hex> {
  return sender.signTypedData({
    account: sender.account!,
    domain: d.domain,
    types: stakingTypes,
    primaryType: "ProtocolMessage",
    message: { contentHash: keccak256(header) },
  });
}

/** A message header as nodes sign it: an envelope (here a label standing for one slot) ending in SHA-256(payload). */
export function header(slot: string, payload: Hex): Hex {
  return concat([toHex(`envelope of ${slot}`), sha256(payload)]);
}
