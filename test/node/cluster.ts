/**
 * Test and benchmark helper: n signer-node processes on 127.0.0.1 with
 * ephemeral ports, each started through the compiled CLI (`mpc-relay node start`,
 * built first if the sources changed: relayer/devnet/runtime.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { NodeClient } from "../../relayer/cli/client.ts";
import type { ApprovableOperation } from "../../relayer/node/session/ids.ts";
import { createIdentity, saveIdentity, type NodeIdentity } from "../../relayer/node/identity.ts";
import { freePort } from "../../relayer/devnet/chains.ts";
import { compiledCli } from "../../relayer/devnet/runtime.ts";

export { freePort };

/** A gateway address the test policy allows relay transactions to. */
export const TEST_TARGET = "0x00000000000000000000000000000000000000a1";
export const TEST_CHAIN_ID = 31337;

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
    data: "0x12345678",
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

  private constructor(
    readonly dir: string,
    private readonly options: ClusterOptions,
  ) {}

  static async create(options: ClusterOptions): Promise<Cluster> {
    const dir = await mkdtemp(join(tmpdir(), "mpc-nodes-"));
    const cluster = new Cluster(dir, options);
    const total = options.size + (options.dormant?.length ?? 0);
    const entries: { index: number; peerId: string; address: string }[] = [];
    for (let index = 1; index <= total; index++) {
      const identity = await createIdentity();
      const identityPath = join(dir, `node${index}.key`);
      await saveIdentity(identityPath, identity);
      const listenPort = await freePort();
      const httpPort = await freePort();
      entries.push({ index, peerId: identity.peerId, address: `/ip4/127.0.0.1/tcp/${listenPort}` });
      cluster.nodes.set(index, {
        index,
        identity,
        configPath: join(dir, `node${index}.json`),
        dataDir: join(dir, `data${index}`),
        logPath: join(dir, `node${index}.log`),
        listenPort,
        httpPort,
        process: null,
        client: new NodeClient(`http://127.0.0.1:${httpPort}`, cluster.token),
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
      listenPort: node.listenPort,
      httpPort: node.httpPort,
      peers,
      timeouts: { prepareMs: o.prepareMs ?? 4_000, roundMs: o.roundMs ?? 8_000, keygenRoundMs: o.keygenRoundMs ?? 20_000 },
      // Tests refresh right after a keyGen; the product default spaces refreshes out.
      limits: { minRefreshIntervalMs: 0 },
      presignPoolSize: o.presignPoolSizeFor?.[node.index] ?? o.presignPoolSize ?? 0,
      signAttempts: 3,
      // Tests trade scrypt cost for speed; the product default is 2^17.
      kdfLog2N: 14,
      logLevel: o.logLevel ?? "info",
      policy: { relayTransactionTargets: { [String(TEST_CHAIN_ID)]: [TEST_TARGET] }, maxFeeWei: "1000000000000000000" },
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
        node.process = null;
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
    this.node(index).process = null;
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
    this.node(index).process = null;
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((i) => this.stop(i)));
    for (const log of this.logs.values()) await new Promise((r) => log.end(r));
    if (process.env.KEEP_TEST_DIRS === undefined) await rm(this.dir, { recursive: true, force: true });
  }
}
