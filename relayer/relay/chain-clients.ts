/**
 * SDK clients for every chain of a relayer's config, and the one status of a message or of a source
 * transaction's messages through them. The CLI's status/retry/abandon/add-gas commands and the
 * explorer use this, so both answer from the chains (and the relayer's API) the same way.
 */
import { readFile } from "node:fs/promises";
import { BaseError, createPublicClient, createWalletClient, defineChain, fallback, http, HttpRequestError, type Abi, type Hex, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { fetchFailureReason, MessageNotFoundError, MpcRelayClient, NoMessageInTransactionError, type MessageStatus, type MpcRelayClientOptions } from "@mpc-relay/sdk";
import { relayerApiUrl, type RelayerChainConfig, type RelayerConfig } from "./config.ts";

/** An RPC failure in one line naming the URL and the cause (viem's message spans many lines). */
export class ChainRequestError extends Error {
  constructor(what: string, error: unknown) {
    const http = error instanceof BaseError ? (error.walk((e) => e instanceof HttpRequestError) as HttpRequestError | null) : null;
    // A network failure in words (connection refused, host not found), else the RPC's own answer.
    const cause = http !== null ? fetchFailureReason(http.cause ?? http) : error instanceof BaseError ? error.details || error.shortMessage : error instanceof Error ? error.message : String(error);
    super(`${what}${http === null ? "" : ` (RPC ${http.url})`}: ${cause.split("\n")[0]}`, { cause: error });
    this.name = "ChainRequestError";
  }
}

/** Neither a source transaction nor a message id on any configured source chain. */
export class HashNotFoundError extends Error {
  constructor(
    readonly hash: Hex,
    chains: number,
  ) {
    super(`${hash} is neither a source transaction nor a message id on ${chains === 1 ? "the source chain" : `the ${chains} source chains`} of the config (searched from each chain's fromBlock)`);
    this.name = "HashNotFoundError";
  }
}

export interface ChainClientOptions {
  /** The relayer API to merge in; default: the config's api, else MPC_RELAY_RELAYER_API. */
  api?: string;
  /** Only this source chain (it must be in the config). */
  sourceChain?: number;
  /** A JSON ABI file with receivers' custom errors. */
  errorAbiFile?: string;
  /** A wallet for retry, abandon and addGas on every chain. */
  walletKey?: Hex;
}

/** A config chain's viem clients (the wallet's when a key is given): one rule for how this package reads a chain of the config. */
export interface ConfigChain {
  c: RelayerChainConfig;
  publicClient: PublicClient;
  walletClient: WalletClient | undefined;
}

export function configChains(config: RelayerConfig, walletKey?: Hex): ConfigChain[] {
  const account = walletKey === undefined ? undefined : privateKeyToAccount(walletKey);
  return config.chains.map((c) => {
    const chain = defineChain({ id: c.chainId, name: c.name, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: c.rpcUrls } } });
    const transport = fallback(c.rpcUrls.map((url) => http(url, { retryCount: 1 })));
    return { c, publicClient: createPublicClient({ chain, transport }) as PublicClient, walletClient: account === undefined ? undefined : createWalletClient({ account, chain, transport }) };
  });
}

/** One SDK client per source chain of the config (or only `sourceChain`), every chain a destination; over `chains` when the caller built them. */
export async function chainClients(config: RelayerConfig, o: ChainClientOptions = {}, chains: readonly ConfigChain[] = configChains(config, o.walletKey)): Promise<MpcRelayClient[]> {
  const errorAbi = o.errorAbiFile === undefined ? undefined : (JSON.parse(await readFile(o.errorAbiFile, "utf8")) as Abi);
  const destinations: MpcRelayClientOptions["destinations"] = Object.fromEntries(
    chains.map(({ c, publicClient, walletClient }) => [
      c.chainId,
      { publicClient, gateway: c.targetGateway as Hex, fromBlock: BigInt(c.fromBlock), maxBlockRange: c.maxBlockRange, ...(walletClient === undefined ? {} : { walletClient: walletClient as never }) },
    ]),
  );
  const relayerApi = o.api ?? (config.api === undefined ? process.env.MPC_RELAY_RELAYER_API : relayerApiUrl(config.api));
  const sources = chains.filter(({ c }) => o.sourceChain === undefined || c.chainId === o.sourceChain);
  if (sources.length === 0) throw new Error(`chain ${o.sourceChain} is not in the config`);
  return sources.map(
    ({ c, publicClient, walletClient }) =>
      new MpcRelayClient({
        // The relayer's own finality rule, so "final" means what the relayer will act on.
        source: {
          publicClient,
          gateway: c.sourceGateway as Hex,
          fromBlock: BigInt(c.fromBlock),
          maxBlockRange: c.maxBlockRange,
          finality: { confirmations: c.confirmations },
          ...(walletClient === undefined ? {} : { walletClient: walletClient as never }),
        },
        destinations,
        ...(relayerApi === undefined ? {} : { relayerApi }),
        ...(errorAbi === undefined ? {} : { errorAbi }),
      }),
  );
}

/** The one status of the message with this id, from whichever source chain sent it; null if none did. */
export async function statusById(clients: readonly MpcRelayClient[], id: Hex): Promise<MessageStatus | null> {
  const found = await Promise.all(clients.map((client) => client.status(id).catch((error: unknown) => (error instanceof MessageNotFoundError ? null : rethrow(error, `message ${id}`)))));
  return found.find((s) => s !== null) ?? null;
}

/** The statuses of a source transaction's messages (or only its `index`th), null if no source chain has the transaction. */
export async function statusesOfTransaction(clients: readonly MpcRelayClient[], hash: Hex, index?: number): Promise<MessageStatus[] | null> {
  const found = await Promise.all(
    clients.map((client) =>
      client
        .statusOfTransaction(hash, index === undefined ? {} : { index })
        .catch((error: unknown) => (error instanceof NoMessageInTransactionError && error.unknownTransaction ? null : rethrow(error, `transaction ${hash}`))),
    ),
  );
  return found.find((s) => s !== null) ?? null;
}

/** The statuses a hash names: the messages of a source transaction, else the message with that id. */
export async function lookUp(clients: readonly MpcRelayClient[], hash: Hex, index?: number): Promise<MessageStatus[]> {
  const ofTransaction = await statusesOfTransaction(clients, hash, index);
  if (ofTransaction !== null) return ofTransaction;
  const status = await statusById(clients, hash);
  if (status === null) throw new HashNotFoundError(hash, clients.length);
  return [status];
}

/** SDK errors that already say what is wrong pass through; anything else is an RPC failure in one line. */
export function rethrow(error: unknown, what: string): never {
  if (error instanceof NoMessageInTransactionError || error instanceof MessageNotFoundError) throw error;
  throw new ChainRequestError(`reading ${what}`, error);
}
