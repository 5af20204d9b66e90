/**
 * The local devnet: two (or more) Hardhat chains, gateways and PingPong on
 * each, an n-node MPC network holding one t-of-n relay key, and a relayer,
 * all as separate processes on 127.0.0.1 under one ProcessSupervisor.
 * Used by `mpc-relay devnet`, the end-to-end tests and bench/e2e.ts.
 *
 * Longer than our ~400-line rule: it is the devnet's start-up script, read top to bottom in the order
 * things start; processes, chains, nodes, placement and the demo live in their own files.
 */
import { confirmSuccess } from "../shared/transactions.ts";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { createPublicClient, createWalletClient, getAddress, http, parseEther, type Account, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { configureRoute, deployAll, viemChainFor, type Deployment } from "../deploy/deploy.ts";
import { NodeApiError, type KeyView } from "../node/api/client.ts";
import { MIN_THRESHOLD } from "@mpc-relay/mpc";
import { createIdentity, loadIdentity, saveIdentity } from "../node/identity.ts";
import type { RelayerConfig } from "../relay/config.ts";
import type { MessageStatus } from "../relay/index.ts";
import { relayStakingAbi, targetGatewayAbi } from "@mpc-relay/sdk";
import { setupStaking, type StakingSetup } from "../staking/setup.ts";
import { launchChain, setMining, type ChainSpec, type LocalChain } from "./chains.ts";
import { startNodeProcess, writeNetwork, type DevnetNode, type NetworkSecrets } from "./network.ts";
import { loopback, urlHost, type Placement } from "./placement.ts";
import { P2pApiClient } from "../node/api/p2p.ts";
import { compiledCli } from "./runtime.ts";
import { projectRoot } from "../shared/project.ts";
import { ManagedProcess, ProcessSupervisor } from "./supervisor.ts";

/** Hardhat's well-known development keys (public test mnemonic): only ever funded on local chains. */
export const devAccounts = {
  deployer: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  submitter: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  user: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
} as const satisfies Record<string, Hex>;

/** Marks a folder as created by the devnet, so a later run may wipe it. */
const MARKER = ".mpc-relay-devnet";

export interface DevnetOptions {
  /** Working folder; wiped at start (only if empty or made by an earlier devnet). */
  dir: string;
  chains: ChainSpec[];
  nodes: number;
  threshold: number;
  keyId: string;
  /** Block interval after setup (0: automine only). */
  blockTimeMs: number;
  /** Also mine a block per transaction after setup. */
  automine: boolean;
  /** Confirmations the relayer and every node wait for. */
  confirmations: number;
  delivery: RelayerConfig["delivery"]["mode"];
  batch: { enabled: boolean; maxMessages: number; maxWaitMs: number };
  relayerPollMs: number;
  presignPoolSize: number;
  /**
   * RelayStaking on the first chain: operators registered and staked, the nodes' committee read from it,
   * the cluster key submitted by every member after keyGen (see relayer/staking).
   */
  staking: boolean;
  /** Serve the web explorer (`mpc-relay explorer`) over the relayer, and print its URL. */
  explorer: boolean;
  /** Run `hardhat compile` first (the CLI does; tests rely on Hardhat's own build). */
  compile: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
  /** Progress lines. */
  report: (line: string) => void;
}

export const defaultDevnetOptions: DevnetOptions = {
  dir: ".devnet",
  chains: [
    { name: "a", chainId: 31337, port: 8545 },
    { name: "b", chainId: 31338, port: 8546 },
  ],
  nodes: 5,
  threshold: 3,
  keyId: "relay",
  blockTimeMs: 1_000,
  automine: false,
  confirmations: 1,
  delivery: "permissionless",
  batch: { enabled: false, maxMessages: 100, maxWaitMs: 250 },
  relayerPollMs: 250,
  presignPoolSize: 8,
  staking: true,
  explorer: false,
  compile: true,
  logLevel: "info",
  report: () => {},
};

export interface DevnetChain extends LocalChain {
  deployment: Deployment;
  publicClient: PublicClient;
  /** Wallet of the demo user (a funded development account). */
  userWallet: WalletClient<Transport, Chain, Account>;
  /** Wallet of the contracts' owner. */
  ownerWallet: WalletClient<Transport, Chain, Account>;
  viemChain: Chain;
}

function checkOptions(o: DevnetOptions): void {
  if (!Number.isInteger(o.nodes) || o.nodes < 2 || o.nodes > 32) throw new Error(`--nodes must be an integer in [2, 32], got ${o.nodes}`);
  if (!Number.isInteger(o.threshold) || o.threshold < MIN_THRESHOLD || o.threshold > o.nodes)
    throw new Error(`--threshold must be an integer in [${MIN_THRESHOLD}, nodes=${o.nodes}], got ${o.threshold}`);
  if (o.chains.length < 2) throw new Error("a devnet needs at least two chains");
  if (new Set(o.chains.map((c) => c.chainId)).size !== o.chains.length) throw new Error("chain ids must differ");
  if (new Set(o.chains.map((c) => c.port)).size !== o.chains.length) throw new Error("chain ports must differ");
  for (const c of o.chains) {
    if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) throw new Error(`invalid port ${c.port} for chain ${c.name}`);
    if (!Number.isInteger(c.chainId) || c.chainId < 1) throw new Error(`invalid chain id ${c.chainId} for chain ${c.name}`);
  }
  if (o.confirmations < 1) throw new Error("confirmations must be at least 1");
  if (o.blockTimeMs < 0) throw new Error("block time must not be negative");
  if (o.blockTimeMs === 0 && !o.automine) throw new Error("with no block interval, automine must stay on");
}

/** Empties `dir` for a fresh devnet, refusing to touch a non-empty folder no devnet made. */
async function prepareDir(dir: string): Promise<void> {
  const entries: string[] = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  if (entries.length > 0) {
    if (!entries.includes(MARKER)) throw new Error(`${dir} is not empty and was not made by a devnet: choose another --dir`);
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, MARKER), "created by `mpc-relay devnet`; wiped by the next run\n");
}

async function compileContracts(report: (line: string) => void): Promise<void> {
  report("compiling contracts (hardhat compile)");
  const hardhatCli = join(projectRoot, "node_modules", "hardhat", "dist", "src", "cli.js");
  await promisify(execFile)(process.execPath, [hardhatCli, "compile", "--quiet", "--no-tests"], { cwd: projectRoot, maxBuffer: 16 << 20 });
}

export class Devnet {
  readonly supervisor = new ProcessSupervisor();
  readonly chains: DevnetChain[] = [];
  nodes: DevnetNode[] = [];
  relayAddress: Address | null = null;
  /** RelayStaking on the first chain, when `staking` is on. */
  staking: StakingSetup | null = null;
  relayer: ManagedProcess | null = null;
  explorer: ManagedProcess | null = null;
  /** Where the web explorer answers, once started. */
  explorerUrl: string | null = null;
  relayerApiUrl: string | null = null;
  /** The devnet's own libp2p client of the nodes' API (it is their operator). */
  private operator: P2pApiClient | null = null;
  private stopped = false;
  readonly secrets: NetworkSecrets = { apiToken: randomBytes(24).toString("hex"), passphrase: randomBytes(24).toString("hex") };

  constructor(
    readonly options: DevnetOptions,
    /** Where each process runs; the devnet's own choice is every process on this machine's loopback. */
    readonly placement: Placement = loopback,
  ) {}

  get dir(): string {
    return resolve(this.options.dir);
  }
  private get report(): (line: string) => void {
    return this.options.report;
  }

  node(index: number): DevnetNode {
    const node = this.nodes.find((n) => n.index === index);
    if (node === undefined) throw new Error(`no node ${index}`);
    return node;
  }

  /** Chains, contracts, nodes, keyGen, relay address on every target, relayer. */
  async start(): Promise<void> {
    const o = this.options;
    checkOptions(o);
    await prepareDir(this.dir);
    await writeFile(join(this.dir, "secrets.json"), JSON.stringify(this.secrets, null, 2) + "\n", { mode: 0o600 });
    if (o.compile) await compileContracts(this.report);

    this.report(`starting ${o.chains.length} Hardhat chains: ${o.chains.map((c) => `${c.name} (chain id ${c.chainId}, 127.0.0.1:${c.port})`).join(", ")}`);
    const launched = await Promise.all(o.chains.map((spec) => launchChain(this.supervisor, spec, projectRoot, this.dir, this.placement)));
    for (const chain of launched) this.report(`  chain ${chain.name} ready at ${chain.rpcUrl} (pid ${chain.process.pid})`);

    this.report("deploying SourceGateway, TargetGateway and PingPong on every chain (Hardhat Ignition modules in ignition/modules)");
    const deployments = await Promise.all(
      launched.map((chain) => deployAll({ rpcUrl: chain.rpcUrl, deployerKey: devAccounts.deployer, networkName: chain.name, outDir: join(this.dir, "deployments") })),
    );
    for (const [i, chain] of launched.entries()) this.chains.push(this.connectChain(chain, deployments[i]!));
    for (const chain of this.chains) {
      const c = chain.deployment.contracts;
      this.report(`  chain ${chain.name}: SourceGateway ${c.SourceGateway}  TargetGateway ${c.TargetGateway}  PingPong ${c.PingPong}  (block ${chain.deployment.deployBlock})`);
    }
    await Promise.all(
      this.chains.map(async (chain) => {
        for (const remote of this.chains)
          if (remote !== chain) await configureRoute({ rpcUrl: chain.rpcUrl, deployerKey: devAccounts.deployer, deployment: chain.deployment, remote: remote.deployment });
        // PingPong pays the pong's fee from its own balance.
        await this.transfer(chain, chain.deployment.contracts.PingPong, parseEther("1"));
      }),
    );
    this.report(`  routes open between every pair of chains; PingPong peers set and funded`);

    await this.startNetwork();
    await this.keygenAndTrust();
    await this.writeRelayerConfig();
    await this.startRelayer();
    if (o.explorer) await this.startExplorer();
    for (const chain of this.chains) await setMining(chain.rpcUrl, { automine: o.automine, intervalMs: o.blockTimeMs });
    this.report(`mining: ${o.blockTimeMs > 0 ? `a block every ${o.blockTimeMs} ms` : "no interval"}${o.automine ? ", plus one per transaction" : ""}; ${o.confirmations} confirmation(s)`);
    await this.writeSummary();
  }

  private connectChain(chain: LocalChain, deployment: Deployment): DevnetChain {
    const viemChain = viemChainFor(chain.chainId, chain.rpcUrl, `devnet-${chain.name}`);
    const transport = http(chain.rpcUrl);
    return {
      ...chain,
      deployment,
      viemChain,
      publicClient: createPublicClient({ chain: viemChain, transport, pollingInterval: 100 }) as PublicClient,
      userWallet: createWalletClient({ chain: viemChain, transport, account: privateKeyToAccount(devAccounts.user) }),
      ownerWallet: createWalletClient({ chain: viemChain, transport, account: privateKeyToAccount(devAccounts.deployer) }),
    };
  }

  private async transfer(chain: DevnetChain, to: Address, value: bigint): Promise<Hex> {
    const hash = await chain.ownerWallet.sendTransaction({ to, value });
    await confirmSuccess(chain.publicClient, hash, `transfer to ${to} on chain ${chain.name}`);
    return hash;
  }

  private async startNetwork(): Promise<void> {
    const o = this.options;
    // The relayer and the devnet itself (the nodes' operator) speak to the nodes over libp2p, each with its
    // own peer id, which every node admits in its role.
    const relayerDir = join(this.dir, "relayer");
    await mkdir(relayerDir, { recursive: true, mode: 0o700 });
    const relayerIdentity = await createIdentity();
    await saveIdentity(join(relayerDir, "relayer.key"), relayerIdentity);
    const operatorIdentity = await createIdentity();
    await saveIdentity(join(this.dir, "operator.key"), operatorIdentity);
    this.operator = await P2pApiClient.start(operatorIdentity, []);
    this.nodes = await writeNetwork(
      join(this.dir, "nodes"),
      {
        size: o.nodes,
        chains: this.chains.map((chain) => ({
          chainId: chain.chainId,
          name: chain.name,
          rpcUrls: [chain.rpcUrl],
          quorum: 1,
          // Hardhat answers the "finalized" tag with the latest block, so it proves nothing here: the devnet
          // asks for its own --confirmations instead.
          finality: { confirmations: o.confirmations },
          sourceGateway: chain.deployment.contracts.SourceGateway,
          targetGateway: chain.deployment.contracts.TargetGateway,
          fromBlock: chain.deployment.deployBlock,
          // Inside the 2 s prepare window, with room for a laptop busy with five nodes and two chains.
          rpcTimeoutMs: 1_500,
        })),
        presignPoolSize: o.presignPoolSize,
        logLevel: o.logLevel,
        apiPeers: [
          { peerId: relayerIdentity.peerId, role: "relayer", name: "devnet relayer" },
          { peerId: operatorIdentity.peerId, role: "operator", name: "the devnet" },
        ],
      },
      this.placement,
      this.operator,
    );
    if (o.staking) await this.setupStaking();
    this.report(`starting ${o.nodes} MPC signer nodes (configs in ${join(this.dir, "nodes")})`);
    await Promise.all(this.nodes.map((node) => this.startNode(node.index)));
    for (const node of this.nodes) this.report(`  node ${node.index}: API ${node.apiUrl}  peer ${node.peerId}  (pid ${node.process?.pid})`);
  }

  /**
   * Deploys RelayStaking on the first chain, registers and stakes one generated operator account per node
   * (key file nodes/operator<i>.key), elects them in node order, and points every node config at it.
   */
  private async setupStaking(): Promise<void> {
    const o = this.options;
    const chain = this.chains[0]!;
    const dir = join(this.dir, "nodes");
    this.report(`staking on chain ${chain.name}: RelayStaking, ${o.nodes} operators, committee of epoch 1`);
    const operators = await Promise.all(
      this.nodes.map(async (node) => {
        const key = generatePrivateKey();
        await writeFile(join(dir, `operator${node.index}.key`), `${key}\n`, { mode: 0o600 });
        // The node's libp2p key signs the registration's identity proof.
        return { account: privateKeyToAccount(key), identity: await loadIdentity(join(dir, `node${node.index}.key`)), stake: parseEther("1000") };
      }),
    );
    this.staking = await setupStaking({
      rpcUrl: chain.rpcUrl,
      projectRoot,
      deployerKey: devAccounts.deployer,
      operators,
      threshold: o.threshold,
      progress: (line) => this.report(`  ${line}`),
    });
    const hash = await chain.ownerWallet.writeContract({
      address: this.staking.staking,
      abi: relayStakingAbi,
      functionName: "setSourceGateway",
      args: [chain.deployment.contracts.SourceGateway],
    });
    if ((await chain.publicClient.waitForTransactionReceipt({ hash })).status !== "success") throw new Error(`setSourceGateway reverted (${hash})`);
    for (const node of this.nodes) {
      const config = JSON.parse(await readFile(node.configPath, "utf8")) as { peers: { peerId: string; address: string }[]; staking?: unknown };
      config.staking = {
        rpcUrl: chain.rpcUrl,
        contract: this.staking.staking,
        operatorKeyFile: `./operator${node.index}.key`,
        peerAddresses: Object.fromEntries(config.peers.map((peer) => [peer.peerId, peer.address])),
        keyId: o.keyId,
        pollMs: 500,
      };
      await writeFile(node.configPath, JSON.stringify(config, null, 2) + "\n");
    }
  }

  /** Waits until RelayStaking confirmed `relay` as the epoch's relay (every member submitted the cluster key). */
  private async awaitStakingConfirmation(relay: Address): Promise<void> {
    const setup = this.staking!;
    const chain = this.chains[0]!;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const confirmed = await chain.publicClient.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "relayAddress", args: [setup.epoch] });
      if (getAddress(confirmed) === relay) break;
      if (Date.now() > deadline) throw new Error(`RelayStaking did not confirm relay ${relay} for epoch ${setup.epoch} within 30 s (confirmed: ${confirmed})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    this.report(`  RelayStaking epoch ${setup.epoch}: every member submitted the cluster key; relay ${relay} confirmed`);
  }

  async startNode(index: number): Promise<void> {
    await startNodeProcess(this.supervisor, this.node(index), this.secrets, projectRoot, join(this.dir, "nodes"), this.placement);
  }

  /**
   * Starts again a node or the relayer that exited on its own (a chain is not restarted: its state
   * would be gone) and returns its new pid. Rejects when the process is not one of those, or would not start.
   */
  async restart(name: string): Promise<number> {
    if (name === "relayer") {
      this.relayer = null;
      await this.startRelayer();
      return this.relayer!.pid;
    }
    if (name === "explorer") {
      this.explorer = null;
      await this.startExplorer();
      return this.explorer!.pid;
    }
    const match = /^node-(\d+)$/.exec(name);
    if (match === null) throw new Error(`${name} cannot be restarted: its state would be lost`);
    const node = this.node(Number(match[1]));
    node.process = null;
    await this.startNode(node.index);
    return node.process!.pid;
  }

  /** SIGTERM (graceful) or SIGKILL (crash) one node. */
  async stopNode(index: number, crash = false): Promise<void> {
    const node = this.node(index);
    if (node.process === null) return;
    if (crash) await node.process.kill();
    else await node.process.stop();
    node.process = null;
  }

  /**
   * keyGen through node 1's API. A session can time out while the nodes' first
   * connections to each other are still settling; the failed key is left in
   * ERROR, which a new keyGen may replace, so it is tried up to three times.
   */
  private async keygen(): Promise<KeyView> {
    const o = this.options;
    // Without staking each node's operator approves the keyGen (here one operator runs them all);
    // with staking the nodes check it against the committee RelayStaking elected.
    if (this.staking === null) {
      const parties = this.nodes.map((node) => node.index);
      await Promise.all(this.nodes.map((node) => node.client.approve({ operation: "keygen", keyId: o.keyId, parties, threshold: o.threshold })));
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.nodes[0]!.client.keygen(o.keyId, o.threshold)).key;
      } catch (error) {
        if (attempt === 3 || !(error instanceof NodeApiError) || error.status < 500) throw error;
        this.report(`  keyGen attempt ${attempt} failed (${error.message}); trying again`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  private async keygenAndTrust(): Promise<void> {
    const o = this.options;
    this.report(`keyGen: ${o.threshold}-of-${o.nodes} key "${o.keyId}" (DKLs23), coordinated by node 1`);
    const started = Date.now();
    const key = await this.keygen();
    if (key.status !== "READY" || key.address === null) throw new Error(`keyGen ended in state ${key.status}: ${key.error ?? "no address"}`);
    this.relayAddress = getAddress(key.address);
    this.report(`  relay address ${this.relayAddress} (parties ${key.participants.join(",")}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    if (this.staking !== null) await this.awaitStakingConfirmation(this.relayAddress);
    for (const chain of this.chains) {
      const hash = await chain.ownerWallet.writeContract({
        address: chain.deployment.contracts.TargetGateway,
        abi: targetGatewayAbi,
        functionName: "setRelay",
        args: [this.relayAddress],
      });
      const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`setRelay on chain ${chain.name} reverted (${hash})`);
      chain.deployment = { ...chain.deployment, relayAddress: this.relayAddress };
      this.report(`  chain ${chain.name}: TargetGateway.setRelay(${this.relayAddress})  tx ${hash}`);
    }
    if (o.delivery === "relayAddress") {
      for (const chain of this.chains) {
        const hash = await this.transfer(chain, this.relayAddress, parseEther("10"));
        this.report(`  chain ${chain.name}: funded the relay address with 10 ETH for its own transactions  tx ${hash}`);
      }
    }
  }

  private async writeRelayerConfig(): Promise<void> {
    const o = this.options;
    const dir = join(this.dir, "relayer");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, "submitter.key"), devAccounts.submitter + "\n", { mode: 0o600 });
    const site = { kind: "relayer" } as const;
    const apiHost = this.placement.host(site);
    this.relayerApiUrl ??= `http://${urlHost(apiHost)}:${await this.placement.port(site, "relayer API")}`;
    const apiPort = Number(new URL(this.relayerApiUrl).port);
    const config = {
      chains: this.chains.map((chain) => ({
        chainId: chain.chainId,
        name: chain.name,
        rpcUrls: [chain.rpcUrl],
        confirmations: o.confirmations,
        sourceGateway: chain.deployment.contracts.SourceGateway,
        targetGateway: chain.deployment.contracts.TargetGateway,
        fromBlock: chain.deployment.deployBlock,
        pollIntervalMs: o.relayerPollMs,
      })),
      mpc: { keyId: o.keyId, identityKeyFile: "./relayer.key", nodes: this.nodes.map((node) => ({ peerId: node.peerId, address: node.address })) },
      delivery: o.delivery === "permissionless" ? { mode: "permissionless", submitterKeyFile: "./submitter.key" } : { mode: "relayAddress" },
      batch: o.batch,
      retry: { initialBackoffMs: 500, maxBackoffMs: 10_000, maxAttempts: 8 },
      storePath: "./db",
      api: { host: apiHost, port: apiPort },
      logLevel: o.logLevel,
    };
    await writeFile(this.relayerConfigPath, JSON.stringify(config, null, 2) + "\n");
  }

  get relayerConfigPath(): string {
    return join(this.dir, "relayer", "relayer.json");
  }

  /** Starts the relayer process (`mpc-relay relay start`), e.g. again after killRelayer. */
  async startRelayer(): Promise<void> {
    if (this.relayer?.running === true) throw new Error("the relayer is already running");
    this.report(`starting the relayer (${this.options.delivery} delivery${this.options.batch.enabled ? ", batches" : ""}; status API ${this.relayerApiUrl})`);
    this.relayer = await this.supervisor.start({
      name: "relayer",
      ...this.placement.command({ kind: "relayer" }, process.execPath, [await compiledCli(), "relay", "start", "--json", "--config", this.relayerConfigPath]),
      cwd: projectRoot,
      logPath: join(this.dir, "relayer", "relayer.log"),
      readyLine: (line) => line.includes('"event":"relayer-listening"'),
      readyTimeoutMs: 60_000,
    });
    this.report(`  relayer running (pid ${this.relayer.pid})`);
  }

  /** Starts the web explorer (`mpc-relay explorer`) over the relayer's config, with the staking contract when there is one. */
  async startExplorer(): Promise<void> {
    if (this.explorer?.running === true) throw new Error("the explorer is already running");
    const site = { kind: "relayer" } as const;
    const host = this.placement.host(site);
    const port = this.explorerUrl === null ? await this.placement.port(site, "web explorer") : Number(new URL(this.explorerUrl).port);
    const staking = this.staking === null ? [] : ["--staking", `${this.chains[0]!.chainId}:${this.staking.staking}`];
    this.explorer = await this.supervisor.start({
      name: "explorer",
      ...this.placement.command(site, process.execPath, [await compiledCli(), "explorer", "--json", "--config", this.relayerConfigPath, "--host", host, "--port", String(port), ...staking]),
      cwd: projectRoot,
      logPath: join(this.dir, "relayer", "explorer.log"),
      readyLine: (line) => line.includes('"event":"explorer-listening"'),
      readyTimeoutMs: 30_000,
    });
    this.explorerUrl = `http://${urlHost(host)}:${port}/`;
    this.report(`web explorer: ${this.explorerUrl}  (messages, timelines, nodes, committee, performance; pid ${this.explorer.pid})`);
  }

  /** Switches batch mode for the next relayer start (same store, same API port). */
  async setBatchMode(batch: DevnetOptions["batch"]): Promise<void> {
    if (this.relayer?.running === true) throw new Error("stop the relayer before changing its configuration");
    this.options.batch = batch;
    await this.writeRelayerConfig();
  }

  /** The relayer's record of a message (GET /v1/messages/<id>), or null if it has none. */
  async relayerStatus(messageId: Hex): Promise<MessageStatus | null> {
    if (this.relayerApiUrl === null) throw new Error("the relayer was never started");
    const response = await fetch(`${this.relayerApiUrl}/v1/messages/${messageId}`);
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`relayer status ${messageId}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as MessageStatus;
  }

  /** Stops the relayer: SIGKILL (crash) or SIGTERM (graceful). */
  async stopRelayer(crash = false): Promise<void> {
    if (this.relayer === null) return;
    if (crash) await this.relayer.kill();
    else await this.relayer.stop();
    this.relayer = null;
  }

  private async writeSummary(): Promise<void> {
    const summary = {
      chains: this.chains.map((c) => ({ name: c.name, chainId: c.chainId, rpcUrl: c.rpcUrl, contracts: c.deployment.contracts, deployBlock: c.deployment.deployBlock })),
      relayAddress: this.relayAddress,
      keyId: this.options.keyId,
      threshold: this.options.threshold,
      nodes: this.nodes.map((n) => ({ index: n.index, apiUrl: n.apiUrl, peerId: n.peerId, config: n.configPath })),
      relayer: { apiUrl: this.relayerApiUrl, config: this.relayerConfigPath },
      explorer: this.explorerUrl,
      staking:
        this.staking === null
          ? null
          : { chain: this.chains[0]!.name, contract: this.staking.staking, court: this.staking.court, token: this.staking.token, epoch: this.staking.epoch.toString(), members: this.staking.members },
      secrets: join(this.dir, "secrets.json"),
    };
    await writeFile(join(this.dir, "devnet.json"), JSON.stringify(summary, null, 2) + "\n");
  }

  /** Stops every process (relayer, nodes, chains); idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.supervisor.stopAll();
    await this.operator?.stop();
  }
}
