/**
 * Deploys SourceGateway, TargetGateway and the PingPong example to one chain and records the result in
 * deployments/<network>.json.
 *
 * Programmatic (the devnet calls this against `hardhat node` processes):
 *   const a = await deployAll({ rpcUrl, networkName: "localA", relayAddress });
 *   await configureRoute({ rpcUrl, deployment: a, remote: b });
 *
 * CLI:
 *   npx tsx scripts/deploy.ts --rpc http://127.0.0.1:8545 --network localA [--relay 0x..] [--owner 0x..] [--guardian 0x..]
 *     signs with DEPLOYER_PRIVATE_KEY if set, else with the node's first unlocked account (hardhat node).
 *   npx hardhat run scripts/deploy.ts --network sepolia
 *     uses the network's configured account (configVariable: env or the Hardhat keystore).
 *   RELAY_ADDRESS, OWNER_ADDRESS, GUARDIAN_ADDRESS, FEE_RECIPIENT may replace the flags. Without a relay address
 *   the target gateway starts with none and the owner sets it with setRelay after the MPC network's keyGen.
 *   The guardian (pause and revoke at once, nothing else) is appointed here only while the deployer owns the
 *   gateways; with another owner (a timelock), that owner appoints it (setGuardian).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  isAddress,
  isHex,
  zeroAddress,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { projectRoot as repoRoot } from "../relayer/shared/project.ts";
import { pingPongAbi, sourceGatewayAbi, targetGatewayAbi } from "@mpc-relay/sdk";

export const deploymentsDir = path.join(repoRoot, "deployments");

const artifactPaths = {
  SourceGateway: "contracts/gateway/SourceGateway.sol/SourceGateway.json",
  TargetGateway: "contracts/gateway/TargetGateway.sol/TargetGateway.json",
  PingPong: "contracts/examples/PingPong.sol/PingPong.json",
} as const;

type ContractName = keyof typeof artifactPaths;

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
  const chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport }) as PublicClient;
  let account: Account;
  if (options.walletClient) {
    account = options.walletClient.account;
  } else if (options.deployerKey) {
    account = privateKeyToAccount(options.deployerKey);
  } else {
    const [unlocked] = await createWalletClient({ chain, transport }).getAddresses();
    if (!unlocked) throw new Error(`no deployer: set DEPLOYER_PRIVATE_KEY (${options.rpcUrl} has no unlocked account)`);
    account = { address: unlocked, type: "json-rpc" };
  }
  const walletClient = options.walletClient ? (options.walletClient as WalletClient<Transport, Chain, Account>) : createWalletClient({ chain, transport, account });
  return { publicClient, walletClient, chain };
}

async function loadArtifact(name: ContractName): Promise<{ abi: Abi; bytecode: Hex }> {
  const file = path.join(repoRoot, "artifacts", artifactPaths[name]);
  try {
    const artifact = JSON.parse(await readFile(file, "utf8")) as { abi: Abi; bytecode: Hex };
    return { abi: artifact.abi, bytecode: artifact.bytecode };
  } catch (error) {
    throw new Error(`cannot read ${file}: run \`npx hardhat compile\` first`, { cause: error });
  }
}

async function deployContract(clients: Clients, name: ContractName, args: readonly unknown[]) {
  const { abi, bytecode } = await loadArtifact(name);
  const hash = await clients.walletClient.deployContract({ abi, bytecode, args, account: clients.walletClient.account, chain: clients.chain });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deploying ${name} failed (${hash})`);
  return { address: getAddress(receipt.contractAddress), blockNumber: receipt.blockNumber };
}

async function send(clients: Clients, request: Parameters<Clients["walletClient"]["writeContract"]>[0]) {
  const hash = await clients.walletClient.writeContract(request);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
}

/** Deploys the gateways and PingPong on one chain; writes deployments/<networkName>.json unless outDir is null. */
export async function deployAll(options: DeployOptions): Promise<Deployment> {
  const clients = await connect(options);
  const deployer = clients.walletClient.account.address;
  const owner = getAddress(options.owner ?? deployer);
  const relayAddress = getAddress(options.relayAddress ?? zeroAddress);
  const minRotationDelay = options.minRotationDelay ?? 86_400n;
  const retentionWindow = options.retentionWindow ?? 3_600n;
  if (retentionWindow > minRotationDelay) throw new RangeError("retentionWindow must not exceed minRotationDelay");
  if (options.guardian !== undefined && owner !== getAddress(deployer)) {
    throw new Error(`the owner ${owner} must appoint the guardian (setGuardian); the deployer cannot`);
  }

  const source = await deployContract(clients, "SourceGateway", [owner, getAddress(options.feeRecipient ?? owner), options.maxPayloadBytes ?? 10_000]);
  const target = await deployContract(clients, "TargetGateway", [owner, relayAddress, minRotationDelay, retentionWindow]);
  const pingPong = await deployContract(clients, "PingPong", [source.address, target.address, owner]);
  if (options.guardian !== undefined) {
    const account = clients.walletClient.account;
    for (const [address, abi] of [
      [source.address, sourceGatewayAbi],
      [target.address, targetGatewayAbi],
    ] as const) {
      await send(clients, { address, abi, functionName: "setGuardian", args: [options.guardian], account, chain: clients.chain });
    }
  }

  const deployment: Deployment = {
    network: options.networkName,
    chainId: clients.chain.id,
    deployBlock: Number(source.blockNumber),
    relayAddress,
    owner,
    contracts: { SourceGateway: source.address, TargetGateway: target.address, PingPong: pingPong.address },
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

function optionalAddress(value: string | undefined, name: string): Address | undefined {
  if (value === undefined || value === "") return undefined;
  if (!isAddress(value)) throw new TypeError(`${name} is not an address: ${value}`);
  return getAddress(value);
}

async function main(): Promise<void> {
  // Not strict: under `hardhat run` the process arguments also hold Hardhat's own.
  const { values } = parseArgs({
    options: {
      rpc: { type: "string" },
      network: { type: "string" },
      relay: { type: "string" },
      owner: { type: "string" },
      guardian: { type: "string" },
      "fee-recipient": { type: "string" },
    },
    strict: false,
    allowPositionals: true,
  });
  const flag = (name: string): string | undefined => {
    const value = values[name];
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw new TypeError(`--${name} needs a value`);
    return value;
  };
  const relayAddress = optionalAddress(flag("relay") ?? process.env.RELAY_ADDRESS, "relay address");
  const owner = optionalAddress(flag("owner") ?? process.env.OWNER_ADDRESS, "owner");
  const guardian = optionalAddress(flag("guardian") ?? process.env.GUARDIAN_ADDRESS, "guardian");
  const feeRecipient = optionalAddress(flag("fee-recipient") ?? process.env.FEE_RECIPIENT, "fee recipient");

  let deployment: Deployment;
  const rpcUrl = flag("rpc");
  if (rpcUrl) {
    const deployerKey = process.env.DEPLOYER_PRIVATE_KEY;
    if (deployerKey !== undefined && !isHex(deployerKey)) throw new TypeError("DEPLOYER_PRIVATE_KEY must be 0x-hex");
    deployment = await deployAll({
      rpcUrl,
      networkName: flag("network") ?? "custom",
      ...(deployerKey ? { deployerKey } : {}),
      ...(relayAddress ? { relayAddress } : {}),
      ...(owner ? { owner } : {}),
      ...(guardian ? { guardian } : {}),
      ...(feeRecipient ? { feeRecipient } : {}),
    });
  } else {
    // Under `npx hardhat run --network <name>`: use that network's URL and configured account.
    const { network } = await import("hardhat");
    const connection = await network.create();
    const config = connection.networkConfig;
    if (config.type !== "http") throw new Error("pass --rpc <url>, or run with `npx hardhat run --network <http network>`");
    const [walletClient] = await connection.viem.getWalletClients();
    if (!walletClient) throw new Error(`network ${connection.networkName} has no account configured`);
    deployment = await deployAll({
      rpcUrl: await config.url.getUrl(),
      walletClient,
      networkName: connection.networkName,
      ...(relayAddress ? { relayAddress } : {}),
      ...(owner ? { owner } : {}),
      ...(guardian ? { guardian } : {}),
      ...(feeRecipient ? { feeRecipient } : {}),
    });
  }
  console.log(JSON.stringify(deployment, null, 2));
}

// Run as a script (tsx, or imported by `hardhat run`), not when imported as a library.
const thisFile = fileURLToPath(import.meta.url);
if (process.argv.slice(1).some((arg) => path.resolve(arg) === thisFile)) {
  await main();
}
