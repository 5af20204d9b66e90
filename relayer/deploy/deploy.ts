/**
 * Deploys SourceGateway, TargetGateway and the PingPong example to one chain with Hardhat Ignition (the
 * modules in ignition/modules/) and records the result in deployments/<network>.json; opens routes.
 *
 * Ignition journals each step in ignition/deployments/<deployment id>/ (default id: the network name), so a
 * deploy that died halfway continues where it stopped when run again, and a finished one is not redeployed:
 * re-running only rewrites deployments/<network>.json from the journal.
 *
 *   const a = await deployAll({ rpcUrl, networkName: "localA", relayAddress });   // the devnet, tests, scripts/deploy.ts
 *   await configureRoute({ rpcUrl, deployment: a, remote: b });
 *
 * The guardian (pause and revoke at once, nothing else) is appointed here only while the deployer owns the
 * gateways; with another owner (a timelock), that owner appoints it (setGuardian).
 *
 * configureRoute stays a plain owner transaction (viem), not an Ignition module: a route is mutable
 * administration (fees change, peers are added as chains join), while an Ignition future is executed once and
 * a changed argument on re-run is a reconciliation error; with a timelock owner these calls are scheduled.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildModule, type DeploymentParameters, type EIP1193Provider } from "@nomicfoundation/ignition-core";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  hexToNumber,
  http,
  zeroAddress,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { projectRoot as repoRoot } from "../shared/project.ts";
import { confirmSuccess } from "../shared/transactions.ts";
import { pingPongAbi, sourceGatewayAbi } from "@mpc-relay/sdk";
import { GATEWAY_DEFAULTS } from "../../ignition/modules/Gateways.ts";
import GuardianModule from "../../ignition/modules/Guardian.ts";
import PingPongModule from "../../ignition/modules/PingPong.ts";
import { checkDeploymentId, rpcProvider, runModule } from "./ignition.ts";

export const deploymentsDir = path.join(repoRoot, "deployments");
/** Where Ignition keeps its deployments (journal, artifacts), as `npx hardhat ignition deploy` does. */
export const ignitionDeploymentsDir = path.join(repoRoot, "ignition", "deployments");
const artifactsDir = path.join(repoRoot, "artifacts");

type ContractName = "SourceGateway" | "TargetGateway" | "PingPong";

export interface Deployment {
  network: string;
  chainId: number;
  /** Block of the first deployment transaction: watchers start scanning here. */
  deployBlock: number;
  /** Relay address the target gateway trusts (zero address until set after keyGen). */
  relayAddress: Address;
  owner: Address;
  contracts: Record<ContractName, Address>;
}

export interface RouteFee {
  /** Flat fee per message, in wei. */
  baseFee: bigint;
  /** Wei per unit of destination gas limit. */
  gasPrice: bigint;
  /** Wei per payload byte. */
  byteFee: bigint;
  /** Highest gas limit a message may ask for. */
  maxGasLimit: number;
}

/** Fee defaults for local chains: small but non-zero so fee paths are exercised. */
export const defaultRouteFee: RouteFee = {
  baseFee: 10n ** 12n,
  gasPrice: 10n ** 9n,
  byteFee: 10n ** 8n,
  maxGasLimit: 5_000_000,
};

export interface SignerOptions {
  /** JSON-RPC endpoint of the chain. */
  rpcUrl: string;
  /** Deployer key; without it (and without walletClient) the node's first unlocked account signs. */
  deployerKey?: Hex;
  /** Ready wallet client (e.g. from Hardhat's network connection); takes precedence over deployerKey. */
  walletClient?: WalletClient<Transport, Chain | undefined, Account>;
}

export interface DeployOptions extends SignerOptions {
  /** Name of the deployments/<networkName>.json file. */
  networkName: string;
  relayAddress?: Address;
  /** Owner of all contracts (a timelock in production); defaults to the deployer. */
  owner?: Address;
  /** Guardian of both gateways (pause, revoke at once); needs the deployer to be the owner. */
  guardian?: Address;
  /** Receiver of message fees; defaults to the owner. */
  feeRecipient?: Address;
  maxPayloadBytes?: number;
  /** Seconds between signed relay rotations. */
  minRotationDelay?: bigint;
  /** Seconds the previous relay stays valid after a rotation (at most minRotationDelay). */
  retentionWindow?: bigint;
  /** Where to write <networkName>.json; null writes nothing. */
  outDir?: string | null;
  /** Ignition deployment id (journal directory name); default: networkName. */
  deploymentId?: string;
  /**
   * Ignition's deployment directory (journal), where a re-run resumes. Default: ignition/deployments/<id> when
   * writing to deployments/, <outDir>/ignition/<id> with another outDir, and none (in memory, nothing to
   * resume) when outDir is null.
   */
  ignitionDir?: string | null;
  /** EIP-1193 provider that signs (e.g. a Hardhat network connection's); takes precedence over the signer options. */
  provider?: EIP1193Provider;
}

/** The provider Ignition deploys through: the given one, or one over rpcUrl signing as the options say. */
function signingProvider(options: SignerOptions & { provider?: EIP1193Provider }): EIP1193Provider {
  if (options.provider) return options.provider;
  const account = options.walletClient?.account ?? (options.deployerKey ? privateKeyToAccount(options.deployerKey) : undefined);
  if (account === undefined) return rpcProvider(options.rpcUrl);
  if (account.type === "local") return rpcProvider(options.rpcUrl, account as LocalAccount);
  // A JSON-RPC account of a wallet client: the wallet's transport signs.
  const base = rpcProvider(options.rpcUrl);
  const wallet = options.walletClient!;
  return {
    request: async (args) =>
      args.method === "eth_accounts" ? [account.address] : args.method === "eth_sendTransaction" ? wallet.request(args as Parameters<typeof wallet.request>[0]) : base.request(args),
  };
}

/** Gateways, PingPong and the guardian's appointment, as one root module (a single journal entry point). */
const GuardedPingPongModule = buildModule("GuardedPingPong", (m) => ({ ...m.useModule(PingPongModule), ...m.useModule(GuardianModule) }));

/**
 * A Hardhat node restarted from scratch is a new chain under the same chain id: forget a journal written for
 * an earlier instance, or Ignition would report contracts that are gone. Instances are recorded as
 * `npx hardhat ignition deploy` records them (cache/.hardhat-network-instances.json, by deployment id) for
 * ignition/deployments/, so either command resumes the other's deployment on the same node.
 */
const instanceFileLocks = new Map<string, Promise<void>>();

async function forgetOtherHardhatInstance(provider: EIP1193Provider, ignitionDir: string): Promise<void> {
  let instanceId: string;
  try {
    instanceId = ((await provider.request({ method: "hardhat_metadata" })) as { instanceId: string }).instanceId;
  } catch {
    return; // not a Hardhat node
  }
  const parent = path.dirname(ignitionDir);
  const file = path.join(parent === ignitionDeploymentsDir ? path.join(repoRoot, "cache") : parent, ".hardhat-network-instances.json");
  // One read-modify-write of the file at a time (the devnet deploys its chains in parallel).
  const previous = instanceFileLocks.get(file) ?? Promise.resolve();
  const update = previous.then(async () => {
    const instances = JSON.parse(await readFile(file, "utf8").catch(() => "{}")) as Record<string, string>;
    const id = path.basename(ignitionDir);
    if (instances[id] === instanceId) return;
    await rm(ignitionDir, { recursive: true, force: true });
    instances[id] = instanceId;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(instances, null, 2)}\n`);
  });
  instanceFileLocks.set(
    file,
    update.catch(() => {}),
  );
  await update;
}

/** Ignition parameters for deployAll's options (the deployer's own defaults already applied). */
export function gatewayParameters(p: {
  owner: Address;
  feeRecipient: Address;
  relayAddress: Address;
  maxPayloadBytes: number;
  minRotationDelay: bigint;
  retentionWindow: bigint;
  guardian?: Address;
}): DeploymentParameters {
  return {
    Gateways: {
      owner: p.owner,
      feeRecipient: p.feeRecipient,
      relay: p.relayAddress,
      maxPayloadBytes: p.maxPayloadBytes,
      rotationDelay: p.minRotationDelay,
      retentionWindow: p.retentionWindow,
    },
    ...(p.guardian !== undefined ? { GatewayGuardian: { guardian: p.guardian } } : {}),
  };
}

/**
 * Deploys (or resumes deploying) the gateways and PingPong on one chain through Ignition; writes
 * deployments/<networkName>.json unless outDir is null.
 */
export async function deployAll(options: DeployOptions): Promise<Deployment> {
  const provider = signingProvider(options);
  const [first] = (await provider.request({ method: "eth_accounts" })) as string[];
  if (first === undefined) throw new Error(`no deployer: set DEPLOYER_PRIVATE_KEY (${options.rpcUrl} has no unlocked account)`);
  const deployer = getAddress(first);
  const chainId = hexToNumber((await provider.request({ method: "eth_chainId" })) as Hex);
  const owner = getAddress(options.owner ?? deployer);
  const relayAddress = getAddress(options.relayAddress ?? zeroAddress);
  const minRotationDelay = options.minRotationDelay ?? GATEWAY_DEFAULTS.rotationDelay;
  const retentionWindow = options.retentionWindow ?? GATEWAY_DEFAULTS.retentionWindow;
  if (retentionWindow > minRotationDelay) throw new RangeError("retentionWindow must not exceed minRotationDelay");
  if (options.guardian !== undefined && owner !== deployer) {
    throw new Error(`the owner ${owner} must appoint the guardian (setGuardian); the deployer cannot`);
  }

  const deploymentId = checkDeploymentId(options.deploymentId ?? options.networkName);
  const ignitionDir =
    options.ignitionDir !== undefined
      ? (options.ignitionDir ?? undefined)
      : options.outDir === null
        ? undefined
        : options.outDir === undefined || path.resolve(options.outDir) === deploymentsDir
          ? path.join(ignitionDeploymentsDir, deploymentId)
          : path.join(options.outDir, "ignition", deploymentId);
  if (ignitionDir !== undefined) await forgetOtherHardhatInstance(provider, ignitionDir);

  const guardian = options.guardian === undefined ? undefined : getAddress(options.guardian);
  const { contracts, transactions } = await runModule(guardian === undefined ? PingPongModule : GuardedPingPongModule, {
    provider,
    artifactsDir,
    defaultSender: deployer,
    ...(ignitionDir !== undefined ? { deploymentDir: ignitionDir } : {}),
    parameters: gatewayParameters({
      owner,
      feeRecipient: getAddress(options.feeRecipient ?? owner),
      relayAddress,
      maxPayloadBytes: options.maxPayloadBytes ?? GATEWAY_DEFAULTS.maxPayloadBytes,
      minRotationDelay,
      retentionWindow,
      ...(guardian !== undefined ? { guardian } : {}),
    }),
  });
  const blocks = transactions.filter((t) => /^(Gateways|PingPong)#/.test(t.futureId)).map((t) => t.blockNumber);
  if (blocks.length === 0) throw new Error(`the Ignition deployment ${deploymentId} records no deployment transaction`);

  const deployment: Deployment = {
    network: options.networkName,
    chainId,
    deployBlock: Math.min(...blocks),
    relayAddress,
    owner,
    contracts: { SourceGateway: contracts.sourceGateway!, TargetGateway: contracts.targetGateway!, PingPong: contracts.pingPong! },
  };
  if (options.outDir !== null) await writeDeployment(deployment, options.outDir ?? deploymentsDir);
  return deployment;
}

export async function writeDeployment(deployment: Deployment, outDir: string = deploymentsDir): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, `${deployment.network}.json`);
  await writeFile(file, `${JSON.stringify(deployment, null, 2)}\n`);
  return file;
}

export async function readDeployment(networkName: string, dir: string = deploymentsDir): Promise<Deployment> {
  return JSON.parse(await readFile(path.join(dir, `${networkName}.json`), "utf8")) as Deployment;
}

/** A viem chain for an RPC endpoint with this chain id (Ether as its currency). */
export function viemChainFor(chainId: number, rpcUrl: string, name = `chain-${chainId}`): Chain {
  return defineChain({
    id: chainId,
    name,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

interface Clients {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain, Account>;
  chain: Chain;
}

async function connect(options: SignerOptions): Promise<Clients> {
  const transport = http(options.rpcUrl);
  const probe = createPublicClient({ transport });
  const chainId = await probe.getChainId();
  const chain = viemChainFor(chainId, options.rpcUrl);
  const publicClient = createPublicClient({ chain, transport }) as PublicClient;
  let account: Account;
  if (options.walletClient) {
    account = options.walletClient.account;
  } else if (options.deployerKey) {
    account = privateKeyToAccount(options.deployerKey);
  } else {
    const [unlocked] = await createWalletClient({ chain, transport }).getAddresses();
    if (!unlocked) throw new Error(`no signer: set DEPLOYER_PRIVATE_KEY (${options.rpcUrl} has no unlocked account)`);
    account = { address: unlocked, type: "json-rpc" };
  }
  const walletClient = options.walletClient ? (options.walletClient as WalletClient<Transport, Chain, Account>) : createWalletClient({ chain, transport, account });
  return { publicClient, walletClient, chain };
}

async function send(clients: Clients, request: Parameters<Clients["walletClient"]["writeContract"]>[0]) {
  await confirmSuccess(clients.publicClient, await clients.walletClient.writeContract(request), request.functionName);
}

export interface RouteOptions extends SignerOptions {
  /** Deployment on the chain `rpcUrl` points to; the signer must own its contracts. */
  deployment: Deployment;
  /** Deployment on the remote chain messages go to. */
  remote: Deployment;
  fee?: RouteFee;
}

/**
 * Opens the route deployment -> remote: the source gateway accepts the remote chain and PingPong trusts its
 * peer. The signer must be the contracts' owner (with a timelock owner, schedule these calls instead).
 */
export async function configureRoute(options: RouteOptions): Promise<void> {
  const clients = await connect(options);
  if (clients.chain.id !== options.deployment.chainId) {
    throw new Error(`${options.rpcUrl} is chain ${clients.chain.id}, the deployment is for ${options.deployment.chainId}`);
  }
  const remoteChainId = BigInt(options.remote.chainId);
  const account = clients.walletClient.account;
  await send(clients, {
    address: options.deployment.contracts.SourceGateway,
    abi: sourceGatewayAbi,
    functionName: "setDestination",
    args: [remoteChainId, options.fee ?? defaultRouteFee],
    account,
    chain: clients.chain,
  });
  await send(clients, {
    address: options.deployment.contracts.PingPong,
    abi: pingPongAbi,
    functionName: "setPeer",
    args: [remoteChainId, options.remote.contracts.PingPong],
    account,
    chain: clients.chain,
  });
}
