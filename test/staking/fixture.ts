// Contract types come from the artifacts Hardhat generates on compile (tsconfig does not include artifacts/).
/// <reference path="../../artifacts/contracts/staking/RelayStaking.sol/artifacts.d.ts" />
/// <reference path="../../artifacts/contracts/staking/TestStakeToken.sol/artifacts.d.ts" />
/// <reference path="../../artifacts/contracts/gateway/SourceGateway.sol/artifacts.d.ts" />
/** Shared deployment for the RelayStaking tests: token, staking contract, SourceGateway, four staked nodes. */
import { network } from "hardhat";
import {
  keccak256,
  parseEther,
  toHex,
  type Address,
  type Hex,
  type WalletClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import {
  sortBySigner,
  stakingDomain,
  stakingTypes,
  type AbsenceProposal,
  type RemovalProposal,
} from "../../relayer/staking/typed-data.ts";

export const connection = await network.create();
export const { viem, networkHelpers } = connection;

export const DAY = 86_400n;
export const PARAMS = {
  minStake: parseEther("100"),
  unbondingPeriod: 7n * DAY,
  minAbsenceWindow: 10n,
  absenceSlashBps: 1_000, // 10 %
  removalSlashBps: 5_000, // 50 %
  forgerySlashBps: 5_000, // 50 %
  proverRewardBps: 2_000, // 20 % of the forgery slash
} as const;
/** Stakes of the four nodes: node 3 alone holds half of the committee's stake. */
export const STAKES = [parseEther("100"), parseEther("100"), parseEther("100"), parseEther("300")] as const;
export const DST_CHAIN_ID = 999n;

/** The cluster key of an epoch. In the product it is a DKLs23 threshold key; tests only need its signatures. */
export function relayKey(label: string): { account: PrivateKeyAccount; publicKey: Hex } {
  const account = privateKeyToAccount(keccak256(toHex(`relay key ${label}`)));
  return { account, publicKey: `0x${account.publicKey.slice(4)}` };
}

export function identityOf(index: number): Hex {
  return toHex(`12D3KooW-test-peer-${index}`);
}

export async function deployStaking() {
  const wallets = await viem.getWalletClients();
  const [owner, treasury, prover, stranger] = wallets as [WalletClient, WalletClient, WalletClient, WalletClient];
  const stakers = wallets.slice(4, 8);
  const operators = wallets.slice(8, 13); // four nodes plus one registered later in some tests
  const publicClient = await viem.getPublicClient();
  const chainId = BigInt(await publicClient.getChainId());

  const token = await viem.deployContract("TestStakeToken", ["Stake", "STK", owner.account!.address]);
  const staking = await viem.deployContract("RelayStaking", [
    token.address,
    owner.account!.address,
    treasury.account!.address,
    PARAMS,
  ]);
  const gateway = await viem.deployContract("SourceGateway", [owner.account!.address, owner.account!.address, 1024]);
  await gateway.write.setDestination([DST_CHAIN_ID, { baseFee: 0n, gasPrice: 0n, byteFee: 0n, maxGasLimit: 1_000_000 }]);
  const domain = stakingDomain(chainId, staking.address);

  async function register(staker: WalletClient, operator: WalletClient, identity: Hex) {
    const signature = await signRegistration(operator, staker.account!.address, identity);
    await staking.write.register([operator.account!.address, identity, signature], { account: staker.account! });
  }

  async function signRegistration(operator: WalletClient, staker: Address, identity: Hex): Promise<Hex> {
    return operator.signTypedData({
      account: operator.account!,
      domain,
      types: stakingTypes,
      primaryType: "OperatorRegistration",
      message: { staker, identityHash: keccak256(identity) },
    });
  }

  async function fundAndStake(staker: WalletClient, operator: Address, amount: bigint) {
    await token.write.mint([staker.account!.address, amount]);
    await token.write.approve([staking.address, amount], { account: staker.account! });
    await staking.write.stake([operator, amount], { account: staker.account! });
  }

  for (let i = 0; i < 4; i++) {
    await register(stakers[i]!, operators[i]!, identityOf(i));
    await fundAndStake(stakers[i]!, operators[i]!.account!.address, STAKES[i]!);
  }
  const members = operators.slice(0, 4).map((w) => w.account!.address);

  return {
    owner: owner!,
    treasury: treasury!,
    prover: prover!,
    stranger: stranger!,
    stakers,
    operators,
    members,
    token,
    staking,
    gateway,
    domain,
    chainId,
    publicClient,
    register,
    signRegistration,
    fundAndStake,
  };
}

export type Deployment = Awaited<ReturnType<typeof deployStaking>>;

/** Elects the four nodes (threshold 3) and has all of them submit the same cluster key. */
export async function deployConfirmed() {
  const deployment = await deployStaking();
  const { staking, operators, members } = deployment;
  await staking.write.electCommittee([members, 3]);
  const relay = relayKey("epoch 1");
  for (const operator of operators.slice(0, 4)) {
    await staking.write.submitClusterKey([1n, relay.publicKey], { account: operator.account! });
  }
  return { ...deployment, relay };
}

/** Each signer's signature, in the ascending signer order RelayStaking requires. */
async function signInSignerOrder(signers: WalletClient[], sign: (wallet: WalletClient) => Promise<Hex>): Promise<Hex[]> {
  const signed = await Promise.all(
    signers.map(async (wallet) => ({ signer: wallet.account!.address, signature: await sign(wallet) })),
  );
  return sortBySigner(signed).map((s) => s.signature);
}

export function signAbsence(d: Deployment, signers: WalletClient[], proposal: AbsenceProposal): Promise<Hex[]> {
  return signInSignerOrder(signers, (wallet) =>
    wallet.signTypedData({
      account: wallet.account!,
      domain: d.domain,
      types: stakingTypes,
      primaryType: "AbsenceSlash",
      message: proposal,
    }),
  );
}

export function signRemoval(d: Deployment, signers: WalletClient[], proposal: RemovalProposal): Promise<Hex[]> {
  return signInSignerOrder(signers, (wallet) =>
    wallet.signTypedData({
      account: wallet.account!,
      domain: d.domain,
      types: stakingTypes,
      primaryType: "Removal",
      message: proposal,
    }),
  );
}

export async function signProtocolMessage(d: Deployment, sender: WalletClient, content: Hex): Promise<Hex> {
  return sender.signTypedData({
    account: sender.account!,
    domain: d.domain,
    types: stakingTypes,
    primaryType: "ProtocolMessage",
    message: { contentHash: keccak256(content) },
  });
}

/** The sender's ProtocolMessage signature of each message, in order: removeNode's offenderSignatures. */
export function signProtocolMessages(d: Deployment, sender: WalletClient, contents: readonly Hex[]): Promise<Hex[]> {
  return Promise.all(contents.map((content) => signProtocolMessage(d, sender, content)));
}
