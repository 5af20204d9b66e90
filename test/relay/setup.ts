/**
 * One shared environment for the relay tests: chains A (31337, final at 2 confirmations, read by the
 * nodes through two honest endpoints and one poisoned one, quorum 2) and B (31338, the default
 * "finalized" finality, which Hardhat answers with its latest block), and a 3-node MPC network
 * (threshold 2) whose relay key both TargetGateways trust.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { getAddress, zeroAddress, type Address, type Hex } from "viem";
import { NodeApiError } from "../../relayer/node/api/client.ts";
import { Cluster } from "../node/cluster.ts";
import { setRelay, startChain, startRpcProxy, type TestChain } from "./fixture.ts";

export const CHAIN_A = 31337;
export const CHAIN_B = 31338;
export const CONFIRMATIONS_A = 2;
export const KEY_ID = "relay";
/** The nodes' limits for relay-address transactions on both chains. */
export const RELAY_TRANSACTION_POLICY = { maxFeeWei: "1000000000000000000", budgetWei: "100000000000000000000", maxTransactions: 10_000 };

export interface Env {
  a: TestChain;
  b: TestChain;
  cluster: Cluster;
  relayAddress: Address;
  /** The lie the poisoned endpoint of chain A tells, set per test. */
  poison: { rewrite: ((method: string, params: unknown[], result: unknown) => unknown) | null };
  poisonedUrl: string;
  honestProxyUrl: string;
  allowedRelay: Address;
  /** A second relay the nodes may rotate to (for the one-relay-per-nonce rule). */
  otherAllowedRelay: Address;
  close(): Promise<void>;
}

export async function createEnv(): Promise<Env> {
  const a = await startChain(CHAIN_A, CHAIN_B, zeroAddress);
  const b = await startChain(CHAIN_B, CHAIN_A, zeroAddress);
  const poison: Env["poison"] = { rewrite: null };
  const honest = await startRpcProxy(a.rpcUrl);
  const poisoned = await startRpcProxy(a.rpcUrl, (method, params, result) => (poison.rewrite === null ? result : poison.rewrite(method, params, result)));
  const allowedRelay = getAddress("0x00000000000000000000000000000000000a110e");
  const otherAllowedRelay = getAddress("0x00000000000000000000000000000000000a110f");
  const cluster = await Cluster.create({ size: 3, presignPoolSize: 2, logLevel: "info" });
  for (const node of cluster.nodes.values()) {
    const config = JSON.parse(await readFile(node.configPath, "utf8")) as Record<string, unknown>;
    config.chains = [
      {
        chainId: CHAIN_A,
        rpcUrls: [a.rpcUrl, honest.url, poisoned.url],
        finality: { confirmations: CONFIRMATIONS_A },
        sourceGateway: a.source,
        targetGateway: a.target,
        fromBlock: a.deployBlock,
      },
      // Hardhat answers "finalized" with its latest block: chain B keeps the default finality.
      { chainId: CHAIN_B, rpcUrls: [b.rpcUrl], sourceGateway: b.source, targetGateway: b.target, fromBlock: b.deployBlock },
    ];
    config.allowedRelays = [allowedRelay, otherAllowedRelay];
    config.policy = { relayTransactions: { [String(CHAIN_A)]: RELAY_TRANSACTION_POLICY, [String(CHAIN_B)]: RELAY_TRANSACTION_POLICY } };
    await writeFile(node.configPath, JSON.stringify(config, null, 2));
  }
  await cluster.startAll();
  await cluster.approve({ operation: "keygen", keyId: KEY_ID, parties: [...cluster.nodes.keys()], threshold: 2 });
  const { key } = await cluster.client(1).keygen(KEY_ID, 2);
  const relayAddress = getAddress(key.address as Hex);
  await setRelay(a, relayAddress);
  await setRelay(b, relayAddress);
  return {
    a,
    b,
    cluster,
    relayAddress,
    poison,
    poisonedUrl: poisoned.url,
    honestProxyUrl: honest.url,
    allowedRelay,
    otherAllowedRelay,
    async close() {
      await cluster.destroy();
      await Promise.all([honest.close(), poisoned.close()]);
      await Promise.all([a.close(), b.close()]);
    },
  };
}

/** Expects every node, asked as coordinator, to refuse `request` (nothing signed) with a reason matching `reason`. */
export async function refusedByAll(env: Env, request: Record<string, unknown>, reason: RegExp): Promise<void> {
  for (const index of env.cluster.nodes.keys()) {
    await assert.rejects(env.cluster.client(index).sign(KEY_ID, request), (error: unknown) => {
      assert.ok(error instanceof NodeApiError, String(error));
      assert.equal(error.status, 422, error.message);
      assert.match(error.message, reason);
      return true;
    });
  }
}

/** Restarts every node of `env` with its config file changed by `change`. */
export async function reconfigure(env: Env, change: (config: Record<string, unknown>, dataDir: string) => Promise<void> | void): Promise<void> {
  for (const node of env.cluster.nodes.values()) {
    await env.cluster.stop(node.index);
    const config = JSON.parse(await readFile(node.configPath, "utf8")) as Record<string, unknown>;
    await change(config, node.dataDir);
    await writeFile(node.configPath, JSON.stringify(config, null, 2));
    await env.cluster.start(node.index);
  }
}
