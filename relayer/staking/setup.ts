/**
 * Staking bootstrap for local chains (devnet, tests): deploys TestStakeToken
 * and RelayStaking (which creates its SlashingCourt) with the Ignition module
 * ignition/modules/TestStaking.ts, funds each operator
 * account with gas and stake, has each operator register itself (staker =
 * operator, consent signed with its key, identity proven by the node's libp2p
 * key) in the given order (node id = party index = position + 1), stakes, and
 * elects them (or the first `elected`) as epoch 1's committee.
 */
import { confirmSuccess } from "../shared/transactions.ts";
import { join } from "node:path";
import { peerIdFromString } from "@libp2p/peer-id";
import { bytesToHex, createPublicClient, createWalletClient, getAddress, http, keccak256, parseEther, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { NodeIdentity } from "../node/plugin.ts";
import { relayStakingAbi, testStakeTokenAbi } from "@mpc-relay/sdk";
import { identityClaim, signIdentityClaim } from "./operator.ts";
import { stakingDomain, stakingTypes } from "./typed-data.ts";
import TestStakingModule, { DEVNET_STAKING_PARAMS } from "../../ignition/modules/TestStaking.ts";
import { rpcProvider, runModule } from "../deploy/ignition.ts";

export { DEVNET_STAKING_PARAMS } from "../../ignition/modules/TestStaking.ts";

export interface StakingOperator {
  account: PrivateKeyAccount;
  /** The node's libp2p identity: registered, and its key signs the registration's identity proof. */
  identity: NodeIdentity;
  stake: bigint;
}

export interface StakingSetup {
  staking: Address;
  /** The SlashingCourt RelayStaking created: where absence slashes, removals and forgery proofs go. */
  court: Address;
  token: Address;
  chainId: number;
  epoch: bigint;
  members: Address[];
  /** Block of the staking contract's deployment. */
  deployBlock: bigint;
}

/** The bytes RelayStaking stores as a node's identity: the libp2p peer id's multihash. */
export function identityBytes(peerId: string): Hex {
  return bytesToHex(peerIdFromString(peerId).toMultihash().bytes);
}

export async function setupStaking(p: {
  rpcUrl: string;
  projectRoot: string;
  deployerKey: Hex;
  operators: readonly StakingOperator[];
  threshold: number;
  /** How many of the operators, from the first, epoch 1 elects (default: all); the others are registered only. */
  elected?: number;
  /** Called with one line per step, for progress output. */
  progress?: (line: string) => void;
}): Promise<StakingSetup> {
  const progress = p.progress ?? (() => {});
  const transport = http(p.rpcUrl);
  const client = createPublicClient({ transport, cacheTime: 0 }) as PublicClient;
  const chainId = await client.getChainId();
  const deployer = privateKeyToAccount(p.deployerKey);
  const wallet = createWalletClient({ transport, account: deployer });
  const confirm = async (hash: Hex, what: string): Promise<void> => void (await confirmSuccess(client, hash, what, 100));
  // The contracts through the Ignition module, in memory (a devnet chain is new each run: nothing to resume).
  const deployed = await runModule(TestStakingModule, {
    provider: rpcProvider(p.rpcUrl, deployer),
    artifactsDir: join(p.projectRoot, "artifacts"),
    parameters: { TestStaking: { owner: deployer.address, treasury: deployer.address, params: DEVNET_STAKING_PARAMS } },
  });
  const token = { address: deployed.contracts.token! };
  const staking = { address: deployed.contracts.relayStaking!, block: BigInt(Math.min(...deployed.transactions.filter((t) => t.futureId === "TestStaking#RelayStaking").map((t) => t.blockNumber))) };
  progress(`RelayStaking ${staking.address} (stake token ${token.address})`);
  const domain = stakingDomain(chainId, staking.address);

  // Gas and stake for every operator, sent from the deployer back to back (nonces in order).
  let nonce = await client.getTransactionCount({ address: deployer.address, blockTag: "pending" });
  const funding: Hex[] = [];
  for (const operator of p.operators) {
    funding.push(await wallet.sendTransaction({ to: operator.account.address, value: parseEther("10"), chain: null, account: deployer, nonce: nonce++ }));
    funding.push(
      await wallet.writeContract({
        address: token.address,
        abi: testStakeTokenAbi,
        functionName: "mint",
        args: [operator.account.address, operator.stake],
        chain: null,
        account: deployer,
        nonce: nonce++,
      }),
    );
  }
  for (const hash of funding) await confirm(hash, "funding an operator");

  // One at a time: the registration order gives the node ids, which must be the nodes' party indices 1..n.
  for (const operator of p.operators) {
    const identity = identityBytes(operator.identity.peerId);
    const proof = await signIdentityClaim(operator.identity.privateKey, identityClaim(chainId, staking.address, operator.account.address));
    const consent = await operator.account.signTypedData({
      domain,
      types: stakingTypes,
      primaryType: "OperatorRegistration",
      message: { staker: operator.account.address, identityHash: keccak256(identity) },
    });
    const own = createWalletClient({ transport, account: operator.account });
    await confirm(
      await own.writeContract({
        address: staking.address,
        abi: relayStakingAbi,
        functionName: "register",
        args: [operator.account.address, identity, consent, proof],
        chain: null,
        account: operator.account,
      }),
      `registering operator ${operator.account.address}`,
    );
  }
  await Promise.all(
    p.operators.map(async (operator) => {
      const own = createWalletClient({ transport, account: operator.account });
      let next = await client.getTransactionCount({ address: operator.account.address, blockTag: "pending" });
      const sent = [
        await own.writeContract({
          address: token.address,
          abi: testStakeTokenAbi,
          functionName: "approve",
          args: [staking.address, operator.stake],
          chain: null,
          account: operator.account,
          nonce: next++,
        }),
        await own.writeContract({
          address: staking.address,
          abi: relayStakingAbi,
          functionName: "stake",
          args: [operator.account.address, operator.stake],
          chain: null,
          account: operator.account,
          nonce: next++,
        }),
      ];
      for (const hash of sent) await confirm(hash, `staking for operator ${operator.account.address}`);
    }),
  );
  progress(`${p.operators.length} operators registered (node ids 1..${p.operators.length}) and staked`);

  const members = p.operators.slice(0, p.elected ?? p.operators.length).map((o) => getAddress(o.account.address));
  await confirm(
    await wallet.writeContract({ address: staking.address, abi: relayStakingAbi, functionName: "electCommittee", args: [members, p.threshold], chain: null, account: deployer }),
    "electCommittee",
  );
  const [epoch, court] = await Promise.all([
    client.readContract({ address: staking.address, abi: relayStakingAbi, functionName: "latestEpoch" }),
    client.readContract({ address: staking.address, abi: relayStakingAbi, functionName: "court" }),
  ]);
  progress(`committee of epoch ${epoch} elected: ${members.length} members, threshold ${p.threshold}`);
  return { staking: staking.address, court: getAddress(court), token: token.address, chainId, epoch, members, deployBlock: staking.block };
}
