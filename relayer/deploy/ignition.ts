/**
 * Runs the Ignition modules of ignition/modules/ without Hardhat's runtime, so the deploy script, the
 * devnet (compiled CLI) and the tests share one deployment path: @nomicfoundation/ignition-core's `deploy`
 * with an artifact resolver over artifacts/ (what `npx hardhat compile` writes) and an EIP-1193 provider
 * that forwards to a JSON-RPC URL and signs with the deployer's key when there is one.
 *
 * With a deployment directory Ignition journals every step there (ignition/deployments/<id>/journal.jsonl,
 * as `npx hardhat ignition deploy` does), so a deployment that died halfway continues on re-run and a
 * finished one is not redeployed.
 */
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import {
  deploy,
  DeploymentResultType,
  type Artifact,
  type ArtifactResolver,
  type BuildInfo,
  type DeployConfig,
  type DeploymentParameters,
  type DeploymentResult,
  type EIP1193Provider,
  type ExecutionEventListener,
  type IgnitionModule,
  type IgnitionModuleResult,
  type RequestArguments,
} from "@nomicfoundation/ignition-core";
import { getAddress, hexToBigInt, hexToNumber, keccak256, type Address, type Hex, type LocalAccount } from "viem";

/** Ignition's ids: a letter, then letters, digits, dashes and underscores. */
const deploymentIdPattern = /^[a-zA-Z][a-zA-Z0-9_-]*$/;

export function checkDeploymentId(id: string): string {
  if (!deploymentIdPattern.test(id)) throw new TypeError(`"${id}" is not a valid Ignition deployment id (a letter, then letters, digits, - and _)`);
  return id;
}

/** Resolves contract names to Hardhat 3's artifacts (artifacts/<source>/<Name>.json) and their build info. */
export class ArtifactsDirResolver implements ArtifactResolver {
  readonly #dir: string;
  #index: Promise<Map<string, string[]>> | undefined;

  constructor(artifactsDir: string) {
    this.#dir = artifactsDir;
  }

  async #files(): Promise<Map<string, string[]>> {
    this.#index ??= (async () => {
      const index = new Map<string, string[]>();
      let entries: string[];
      try {
        entries = await readdir(this.#dir, { recursive: true });
      } catch (error) {
        throw new Error(`cannot read ${this.#dir}: run \`npx hardhat compile\` first`, { cause: error });
      }
      for (const entry of entries) {
        const parts = entry.split(path.sep);
        // <source>.sol/<Name>.json; not build-info/ nor the generated artifacts.d.ts files.
        if (parts[0] === "build-info" || parts.length < 2 || !parts.at(-2)!.endsWith(".sol") || !entry.endsWith(".json")) continue;
        const name = path.basename(entry, ".json");
        index.set(name, [...(index.get(name) ?? []), path.join(this.#dir, entry)]);
      }
      return index;
    })();
    return this.#index;
  }

  async loadArtifact(contractName: string): Promise<Artifact> {
    const found = (await this.#files()).get(contractName) ?? [];
    if (found.length !== 1) {
      throw new Error(found.length === 0 ? `no artifact for ${contractName} in ${this.#dir}: run \`npx hardhat compile\` first` : `${contractName} is ambiguous: ${found.join(", ")}`);
    }
    return JSON.parse(await readFile(found[0]!, "utf8")) as Artifact;
  }

  async getBuildInfo(contractName: string): Promise<BuildInfo | undefined> {
    const { buildInfoId } = await this.loadArtifact(contractName);
    if (buildInfoId === undefined) return undefined;
    try {
      return JSON.parse(await readFile(path.join(this.#dir, "build-info", `${buildInfoId}.json`), "utf8")) as BuildInfo;
    } catch {
      return undefined;
    }
  }
}

/** A JSON-RPC error as EIP-1193 providers throw it: Ignition reads revert data from `data`. */
class JsonRpcError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

interface TransactionParams {
  from?: string;
  to?: Hex;
  data?: Hex;
  value?: Hex;
  nonce?: Hex;
  gas?: Hex;
  gasPrice?: Hex;
  maxFeePerGas?: Hex;
  maxPriorityFeePerGas?: Hex;
}

/**
 * An EIP-1193 provider over a JSON-RPC URL. With `account` it answers eth_accounts with that account and
 * signs eth_sendTransaction itself (sent as eth_sendRawTransaction); without, the node's unlocked accounts
 * sign (`hardhat node`).
 */
export function rpcProvider(rpcUrl: string, account?: LocalAccount): EIP1193Provider {
  let nextId = 1;
  let chainId: number | undefined;
  const call = async (method: string, params: unknown[] = []): Promise<unknown> => {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
    });
    if (!response.ok) throw new Error(`${method} at ${rpcUrl}: HTTP ${response.status} ${response.statusText}`);
    const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (body.error) throw new JsonRpcError(body.error.message, body.error.code, body.error.data);
    return body.result;
  };
  const sign = async (local: LocalAccount, tx: TransactionParams): Promise<Hex> => {
    chainId ??= hexToNumber((await call("eth_chainId")) as Hex);
    const common = {
      chainId,
      ...(tx.to ? { to: tx.to } : {}),
      data: tx.data ?? "0x",
      value: tx.value ? hexToBigInt(tx.value) : 0n,
      nonce: tx.nonce ? hexToNumber(tx.nonce) : hexToNumber((await call("eth_getTransactionCount", [local.address, "pending"])) as Hex),
      gas: tx.gas ? hexToBigInt(tx.gas) : hexToBigInt((await call("eth_estimateGas", [{ ...tx, from: local.address }])) as Hex),
    } as const;
    const signTransaction = local.signTransaction.bind(local);
    if (tx.gasPrice !== undefined) return signTransaction({ ...common, type: "legacy", gasPrice: hexToBigInt(tx.gasPrice) });
    if (tx.maxFeePerGas === undefined || tx.maxPriorityFeePerGas === undefined) throw new Error("eth_sendTransaction without fees");
    return signTransaction({ ...common, type: "eip1559", maxFeePerGas: hexToBigInt(tx.maxFeePerGas), maxPriorityFeePerGas: hexToBigInt(tx.maxPriorityFeePerGas) });
  };
  return {
    async request({ method, params }: RequestArguments): Promise<unknown> {
      const args = (params ?? []) as unknown[];
      if (account !== undefined) {
        if (method === "eth_accounts" || method === "eth_requestAccounts") return [account.address];
        if (method === "eth_sendTransaction") {
          const tx = args[0] as TransactionParams;
          if (tx.from !== undefined && getAddress(tx.from) !== account.address) throw new Error(`cannot sign for ${tx.from}, only for ${account.address}`);
          const raw = await sign(account, tx);
          try {
            return await call("eth_sendRawTransaction", [raw]);
          } catch (error) {
            if (error instanceof JsonRpcError) throw error; // the node answered: refused
            // No answer: the transaction may or may not have reached the node. Ignition takes a `transactionHash`
            // on the error as sent, journals it, and on the next run finds it mined, pending or dropped (then
            // resends), instead of stopping at a transaction it cannot identify.
            throw Object.assign(new Error(`eth_sendRawTransaction to ${rpcUrl} got no answer`, { cause: error }), { transactionHash: keccak256(raw) });
          }
        }
      }
      return call(method, args);
    },
  };
}

export interface DeployedModule {
  /** Addresses of the module's results (the futures it returns) by their keys, checksummed. */
  contracts: Record<string, Address>;
  /** Every confirmed transaction of the deployment (this run and earlier ones), with its block. */
  transactions: { futureId: string; hash: Hex; blockNumber: number }[];
}

export interface RunModuleOptions {
  provider: EIP1193Provider;
  /** Ignition's deployment directory (journal, artifacts); undefined deploys in memory (nothing to resume). */
  deploymentDir?: string;
  /** Artifacts directory (artifacts/ of the project). */
  artifactsDir: string;
  parameters?: DeploymentParameters;
  /** Sender of every transaction; default: the provider's first account. */
  defaultSender?: string;
  config?: Partial<DeployConfig>;
  /** One line per confirmed transaction, for progress output. */
  progress?: (line: string) => void;
}

/** Explains a failed Ignition deployment in one message. */
export function deploymentError(moduleId: string, result: Exclude<DeploymentResult, { type: DeploymentResultType.SUCCESSFUL_DEPLOYMENT }>, deploymentDir?: string): Error {
  const lines: string[] = [];
  if (result.type === DeploymentResultType.EXECUTION_ERROR) {
    for (const f of result.failed) lines.push(`${f.futureId} failed: ${f.error}`);
    for (const f of result.timedOut) lines.push(`${f.futureId} timed out (re-run to continue waiting or bump fees)`);
    for (const f of result.held) lines.push(`${f.futureId} held: ${f.reason}`);
    if (result.started.length > 0) lines.push(`still running: ${result.started.join(", ")}`);
  } else {
    for (const [futureId, errors] of Object.entries(result.errors)) for (const error of errors) lines.push(`${futureId}: ${error}`);
  }
  const where = deploymentDir === undefined ? "" : ` (journal in ${deploymentDir})`;
  return new Error(`Ignition deployment of ${moduleId} ended with ${result.type}${where}:\n  ${lines.join("\n  ")}`);
}

/** Confirmed transactions recorded in a deployment directory's journal. */
export async function journalTransactions(deploymentDir: string): Promise<DeployedModule["transactions"]> {
  let text: string;
  try {
    text = await readFile(path.join(deploymentDir, "journal.jsonl"), "utf8");
  } catch {
    return [];
  }
  const found: DeployedModule["transactions"] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const message = JSON.parse(line) as { type?: string; futureId?: string; hash?: Hex; receipt?: { blockNumber?: number } };
    if (message.type === "TRANSACTION_CONFIRM" && message.futureId && message.hash && typeof message.receipt?.blockNumber === "number") {
      found.push({ futureId: message.futureId, hash: message.hash, blockNumber: message.receipt.blockNumber });
    }
  }
  return found;
}

/** Deploys (or resumes) `module`; throws with Ignition's errors unless every future succeeded. */
export async function runModule<ModuleIdT extends string, ContractNameT extends string, ResultsT extends IgnitionModuleResult<ContractNameT>>(
  module: IgnitionModule<ModuleIdT, ContractNameT, ResultsT>,
  options: RunModuleOptions,
): Promise<DeployedModule> {
  const accounts = (await options.provider.request({ method: "eth_accounts" })) as string[];
  if (accounts.length === 0) throw new Error("no deployer: the provider has no account (set a deployer key)");
  // In memory, transactions are only known from the events of this run.
  const seen: { futureId: string; hash: Hex }[] = [];
  const listener = new Proxy({} as ExecutionEventListener, {
    get:
      (_target, name) =>
      (event: { futureId?: string; hash?: string }): void => {
        if (name === "transactionConfirm" && event.futureId && event.hash) {
          seen.push({ futureId: event.futureId, hash: event.hash as Hex });
          options.progress?.(`${event.futureId} confirmed (${event.hash})`);
        }
      },
  });
  let automined = false;
  try {
    automined = Boolean(await options.provider.request({ method: "hardhat_getAutomine" }));
  } catch {
    // not a Hardhat node
  }
  const result = await deploy({
    ignitionModule: module,
    provider: options.provider,
    artifactResolver: new ArtifactsDirResolver(options.artifactsDir),
    deploymentParameters: options.parameters ?? {},
    accounts,
    executionEventListener: listener,
    // A local automining node confirms at once: poll it often rather than once a second.
    config: { ...(automined ? { blockPollingInterval: 50 } : {}), ...options.config },
    ...(options.deploymentDir !== undefined ? { deploymentDir: options.deploymentDir } : {}),
    ...(options.defaultSender !== undefined ? { defaultSender: options.defaultSender } : {}),
  });
  if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) throw deploymentError(module.id, result, options.deploymentDir);

  let transactions: DeployedModule["transactions"];
  if (options.deploymentDir !== undefined) {
    transactions = await journalTransactions(options.deploymentDir);
  } else {
    transactions = [];
    for (const { futureId, hash } of seen) {
      const receipt = (await options.provider.request({ method: "eth_getTransactionReceipt", params: [hash] })) as { blockNumber: Hex } | null;
      if (receipt === null) throw new Error(`no receipt for ${hash} (${futureId})`);
      transactions.push({ futureId, hash, blockNumber: hexToNumber(receipt.blockNumber) });
    }
  }
  // Ignition reports every contract of the deployment by future id; pick the module's results.
  const contracts: Record<string, Address> = {};
  for (const [key, future] of Object.entries(module.results)) {
    const deployed = result.contracts[future.id];
    if (deployed === undefined) throw new Error(`Ignition reported no address for ${future.id}`);
    contracts[key] = getAddress(deployed.address);
  }
  return { contracts, transactions };
}
