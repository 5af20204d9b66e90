/**
 * Test and benchmark helper: n signer-node processes on 127.0.0.1 with
 * ephemeral ports, each started through the compiled CLI (`mpc-relay node start`,
 * built first if the sources changed: relayer/devnet/runtime.ts), reading two
 * in-process Hardhat chains: every signing request a node accepts needs a chain
 * (see relayer/node/validators.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { encodeFunctionData, getAddress, getContractAddress, zeroAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { targetGatewayAbi, MpcRelayClient, messageId, type Message } from "@mpc-relay/sdk";
import { startChain, type TestChain } from "../relay/fixture.ts";
import { NodeClient } from "../../relayer/node/api/client.ts";
import type { ApprovableOperation } from "../../relayer/node/session/ids.ts";
import { createIdentity, saveIdentity, type NodeIdentity } from "../../relayer/node/identity.ts";
import { freePort } from "../../relayer/shared/ports.ts";
import { compiledCli } from "../../relayer/devnet/runtime.ts";

export { freePort };

/** The chain relay transactions are signed for, and the chain its one test message comes from. */
export const TEST_CHAIN_ID = 31400;
export const TEST_SOURCE_CHAIN_ID = 31401;
/** A fixed deployer on fresh chains gives fixed addresses (fixture.ts: source gateway first, target gateway second). */
const DEPLOYER_KEY = "0x7e57000000000000000000000000000000000000000000000000000000000001";
const DEPLOYER = privateKeyToAccount(DEPLOYER_KEY).address;
/** The TargetGateway on TEST_CHAIN_ID: the one contract relay transactions may call. */
export const TEST_TARGET = getContractAddress({ from: DEPLOYER, nonce: 1n });
/** The message the cluster's source chain sent to TEST_CHAIN_ID (its first, so nonce 0) when the cluster was created. */
export const TEST_MESSAGE: Message = {
  nonce: 0n,
  srcChainId: BigInt(TEST_SOURCE_CHAIN_ID),
  srcGateway: getContractAddress({ from: DEPLOYER, nonce: 0n }),
  sender: DEPLOYER,
  dstChainId: BigInt(TEST_CHAIN_ID),
  receiver: "0x0000000000000000000000000000000000c0ffee",
  gasLimit: 100_000n,
  payload: "0x7465737420636c7573746572",
};
/** receiveMessage(TEST_MESSAGE) with a placeholder signature: the nodes check the message, the gateway the signature. */
export const TEST_RELAY_DATA = encodeFunctionData({ abi: targetGatewayAbi, functionName: "receiveMessage", args: [TEST_MESSAGE, `0x${"11".repeat(32)}`, `0x${"22".repeat(32)}`] });

export interface ClusterOptions {
  size: number;
  /** Indices that get a config but are not started (e.g. a future committee member). */
  dormant?: number[];
  presignPoolSize?: number;
  /** Per-node overrides of presignPoolSize. */
  presignPoolSizeFor?: Record<number, number>;
  roundMs?: number;
  keygenRoundMs?: number;
  prepareMs?: number;
  logLevel?: "debug" | "info" | "warn" | "error";
  /** The nodes' refresh schedule (config `refreshSchedule`); default the product's. */
  refreshSchedule?: { periodMs: number; graceMs: number };
  /** The multiaddr peers dial for a node listening on `listenPort` (a delay relay in front of it, in benchmarks). */
  peerAddress?: (listenPort: number) => Promise<string>;
}

export interface ClusterNode {
  index: number;
  identity: NodeIdentity;
  configPath: string;
  dataDir: string;
  logPath: string;
  listenPort: number;
  httpPort: number;
  process: ChildProcess | null;
  client: NodeClient;
}

/** A relay-address transaction the test policy accepts; `nonce` makes each request distinct. */
export function relayTx(nonce: number): Record<string, unknown> {
  return {
    type: "relayTransaction",
    chainId: TEST_CHAIN_ID,
    nonce,
    to: TEST_TARGET,
    data: TEST_RELAY_DATA,
    value: "0",
    gas: "200000",
    maxFeePerGas: "2000000000",
    maxPriorityFeePerGas: "1000000000",
  };
}

/** Retries an assertion for up to `ms` (broadcasts reach the other nodes asynchronously). */
export async function eventually(check: () => Promise<void>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export class Cluster {
  readonly token = "test-api-token-0123456789abcdef";
  readonly passphrase = "correct horse battery staple";
  readonly nodes = new Map<number, ClusterNode>();
  private logs = new Map<number, WriteStream>();
  /** Every node process still open, whichever index it was started for: destroy() leaves none behind. */
  private readonly children = new Set<ChildProcess>();

  private constructor(
    readonly dir: string,
    private readonly options: ClusterOptions,
    /** The chains the nodes read: where TEST_MESSAGE was sent, and TEST_CHAIN_ID. */
    readonly chains: { source: TestChain; destination: TestChain },
  ) {}

  static async create(options: ClusterOptions): Promise<Cluster> {
    const dir = await mkdtemp(join(tmpdir(), "mpc-nodes-"));
    const source = await startChain(TEST_SOURCE_CHAIN_ID, TEST_CHAIN_ID, zeroAddress, DEPLOYER_KEY);
    const destination = await startChain(TEST_CHAIN_ID, TEST_SOURCE_CHAIN_ID, zeroAddress, DEPLOYER_KEY);
    const sdk = new MpcRelayClient({ source: { publicClient: source.publicClient, walletClient: source.wallet as never, gateway: source.source } });
    const sent = await sdk.send({ dstChainId: TEST_CHAIN_ID, receiver: TEST_MESSAGE.receiver, payload: TEST_MESSAGE.payload, gasLimit: TEST_MESSAGE.gasLimit });
    if (sent.messageId !== messageId(TEST_MESSAGE) || getAddress(destination.target) !== TEST_TARGET) throw new Error("the test chains did not deploy where relayTx expects them");
    const cluster = new Cluster(dir, options, { source, destination });
    const total = options.size + (options.dormant?.length ?? 0);
    const entries: { index: number; peerId: string; address: string }[] = [];
    for (let index = 1; index <= total; index++) {
      const identity = await createIdentity();
      const identityPath = join(dir, `node${index}.key`);
      await saveIdentity(identityPath, identity);
      const listenPort = await freePort();
      const httpPort = await freePort();
      const address = (await options.peerAddress?.(listenPort)) ?? `/ip4/127.0.0.1/tcp/${listenPort}`;
      entries.push({ index, peerId: identity.peerId, address });
      cluster.nodes.set(index, {
        index,
        identity,
        configPath: join(dir, `node${index}.json`),
        dataDir: join(dir, `data${index}`),
        logPath: join(dir, `node${index}.log`),
        listenPort,
        httpPort,
        process: null,
        client: NodeClient.http(`http://127.0.0.1:${httpPort}`, cluster.token),
      });
    }
    for (const node of cluster.nodes.values()) await cluster.writeConfig(node, entries);
    return cluster;
  }

  async writeConfig(node: ClusterNode, peers: { index: number; peerId: string; address: string }[]): Promise<void> {
    const o = this.options;
    const config = {
      index: node.index,
      dataDir: node.dataDir,
      identityKeyFile: join(this.dir, `node${node.index}.key`),
      listen: [`/ip4/127.0.0.1/tcp/${node.listenPort}`],
      httpPort: node.httpPort,
      peers,
      timeouts: { prepareMs: o.prepareMs ?? 4_000, roundMs: o.roundMs ?? 8_000, keygenRoundMs: o.keygenRoundMs ?? 20_000 },
      // Tests refresh right after a keyGen; the product default spaces refreshes out.
      limits: { minRefreshIntervalMs: 0 },
      ...(o.refreshSchedule === undefined ? {} : { refreshSchedule: o.refreshSchedule }),
      presignPoolSize: o.presignPoolSizeFor?.[node.index] ?? o.presignPoolSize ?? 0,
      signAttempts: 3,
      // Tests trade scrypt cost for speed; the product default is 2^17.
      kdfLog2N: 14,
      logLevel: o.logLevel ?? "info",
      chains: [this.chains.source, this.chains.destination].map((chain) => ({
        chainId: chain.chainId,
        rpcUrls: [chain.rpcUrl],
        sourceGateway: chain.source,
        targetGateway: chain.target,
        fromBlock: chain.deployBlock,
        // A loaded test machine answers slowly: a second of RPC timeout failed a CI run (still below the prepare window).
        rpcTimeoutMs: Math.max(50, Math.min(3_000, (o.prepareMs ?? 4_000) - 500)),
      })),
      policy: { relayTransactions: { [String(TEST_CHAIN_ID)]: { maxFeeWei: "1000000000000000000", budgetWei: "100000000000000000000", maxTransactions: 10_000 } } },
    };
    await writeFile(node.configPath, JSON.stringify(config, null, 2));
  }

  node(index: number): ClusterNode {
    const node = this.nodes.get(index);
    if (node === undefined) throw new Error(`no node ${index}`);
    return node;
  }

  client(index: number): NodeClient {
    return this.node(index).client;
  }

  async startAll(): Promise<void> {
    const dormant = new Set(this.options.dormant ?? []);
    await Promise.all([...this.nodes.keys()].filter((i) => !dormant.has(i)).map((i) => this.start(i)));
  }

  /**
   * Starts a node process and waits for its "listening" line; rejects with its stderr if it exits first.
   * `entry` replaces the CLI's `node start` with a TypeScript script taking `--config` (a dishonest node, in tests),
   * run under the tsx loader.
   */
  async start(index: number, passphrase = this.passphrase, entry?: string): Promise<void> {
    const node = this.node(index);
    if (node.process !== null) throw new Error(`node ${index} is running`);
    let log = this.logs.get(index);
    if (log === undefined) {
      log = createWriteStream(node.logPath, { flags: "a" });
      this.logs.set(index, log);
    }
    const command = entry === undefined ? [await compiledCli(), "node", "start", "--json"] : ["--import", "tsx", entry];
    const child = spawn(process.execPath, [...command, "--config", node.configPath], {
      env: { ...process.env, MPC_RELAY_PASSPHRASE: passphrase, MPC_RELAY_API_TOKEN: this.token },
      stdio: ["ignore", "pipe", "pipe"],
    });
    node.process = child;
    this.children.add(child);
    child.once("close", () => this.children.delete(child));
    let stderr = "";
    const sink = log;
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      sink.write(chunk);
    });
    await new Promise<void>((resolveStart, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        sink.write(line + "\n");
        if (line.includes('"event":"listening"')) resolveStart();
      });
      child.once("close", (code) => {
        // A stopped node's streams may close after its replacement started: forget only this child.
        if (node.process === child) node.process = null;
        reject(new Error(`node ${index} exited with ${code}: ${stderr.trim()}`));
      });
    });
  }

  /** Every running node's operator approves `op` (the operators agreed on it out of band). */
  async approve(op: ApprovableOperation, indices: readonly number[] = [...this.nodes.keys()]): Promise<void> {
    await Promise.all(indices.filter((i) => this.node(i).process !== null).map((i) => this.client(i).approve(op)));
  }

  /** SIGKILL: no cleanup, like a crash. */
  async kill(index: number): Promise<void> {
    const child = this.node(index).process;
    if (child === null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    if (this.node(index).process === child) this.node(index).process = null;
  }

  /** SIGSTOP / SIGCONT: the node stays connected but answers nothing meanwhile. */
  pause(index: number): void {
    this.node(index).process?.kill("SIGSTOP");
  }
  resume(index: number): void {
    this.node(index).process?.kill("SIGCONT");
  }

  async stop(index: number): Promise<void> {
    const child = this.node(index).process;
    if (child === null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
    if (this.node(index).process === child) this.node(index).process = null;
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((i) => this.stop(i)));
    // A test that lost track of a process must not keep the test runner waiting on its pipes.
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise((r) => {
            child.once("close", r);
            child.kill("SIGKILL");
          }),
      ),
    );
    for (const log of this.logs.values()) await new Promise((r) => log.end(r));
    await Promise.all([this.chains.source.close(), this.chains.destination.close()]);
    if (process.env.KEEP_TEST_DIRS === undefined) await rm(this.dir, { recursive: true, force: true });
  }
}
