/**
 * A message's one status from the chains (and the relayer, if reachable), and `retry` / `abandon` of
 * a failed one. The chains, their RPC URLs, gateways and deployment blocks come from the relayer's
 * config (--config), as for `relay start`; a wallet key only from a file (chmod 600) or an env var.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { BaseError, createPublicClient, createWalletClient, defineChain, fallback, http, HttpRequestError, type Abi, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { RelayerConfig } from "../../relay/config.ts";
import { targetGatewayAbi, MessageNotFoundError, MpcRelayClient, MpcRelayError, NoMessageInTransactionError, type MessageStatus, type MpcRelayClientOptions, fetchFailureReason } from "@mpc-relay/sdk";
import { readSecret } from "../../shared/secrets.ts";
import { integerArg, messageIdArg, usageError, withJson, type JsonOption } from "../options.ts";
import { emit, fields, time } from "../output.ts";

export interface ChainQuery extends JsonOption {
  config: string;
  api?: string;
  sourceChain?: number;
  errorAbi?: string;
}

/** An RPC failure in one line naming the URL and the cause (viem's message spans many lines). */
class ChainRequestError extends Error {
  constructor(what: string, error: unknown) {
    const http = error instanceof BaseError ? (error.walk((e) => e instanceof HttpRequestError) as HttpRequestError | null) : null;
    // A network failure in words (connection refused, host not found), else the RPC's own answer.
    const cause = http !== null ? fetchFailureReason(http.cause ?? http) : error instanceof BaseError ? error.details || error.shortMessage : error instanceof Error ? error.message : String(error);
    super(`${what}${http === null ? "" : ` (RPC ${http.url})`}: ${cause.split("\n")[0]}`, { cause: error });
    this.name = "ChainRequestError";
  }
}

interface Chains {
  config: RelayerConfig;
  clients: MpcRelayClient[];
}

/** One SDK client per source chain of the config (or only --source-chain), every chain a destination. */
async function chainClients(command: Command, o: ChainQuery, walletKey?: Hex): Promise<Chains> {
  const { loadRelayerConfig, relayerApiUrl } = await import("../../relay/config.ts");
  const config = await loadRelayerConfig(o.config);
  const errorAbi = o.errorAbi === undefined ? undefined : (JSON.parse(await readFile(o.errorAbi, "utf8")) as Abi);
  const account = walletKey === undefined ? undefined : privateKeyToAccount(walletKey);
  const chains = config.chains.map((c) => {
    const chain = defineChain({ id: c.chainId, name: c.name, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: c.rpcUrls } } });
    const transport = fallback(c.rpcUrls.map((url) => http(url, { retryCount: 1 })));
    return { c, chain, publicClient: createPublicClient({ chain, transport }) as PublicClient, walletClient: account === undefined ? undefined : createWalletClient({ account, chain, transport }) };
  });
  const destinations: MpcRelayClientOptions["destinations"] = Object.fromEntries(
    chains.map(({ c, publicClient, walletClient }) => [
      c.chainId,
      { publicClient, gateway: c.targetGateway as Hex, fromBlock: BigInt(c.fromBlock), maxBlockRange: c.maxBlockRange, ...(walletClient === undefined ? {} : { walletClient: walletClient as never }) },
    ]),
  );
  const relayerApi = o.api ?? (config.api === undefined ? process.env.MPC_RELAY_RELAYER_API : relayerApiUrl(config.api));
  const sources = chains.filter(({ c }) => o.sourceChain === undefined || c.chainId === o.sourceChain);
  if (sources.length === 0) usageError(command, `chain ${o.sourceChain} is not in ${o.config}`);
  const clients = sources.map(
    ({ c, publicClient }) =>
      new MpcRelayClient({
        // The relayer's own finality rule, so "final" means what the relayer will act on.
        source: { publicClient, gateway: c.sourceGateway as Hex, fromBlock: BigInt(c.fromBlock), maxBlockRange: c.maxBlockRange, finality: { confirmations: c.confirmations } },
        destinations,
        ...(relayerApi === undefined ? {} : { relayerApi }),
        ...(errorAbi === undefined ? {} : { errorAbi }),
      }),
  );
  return { config, clients };
}

/** The statuses a hash names: the messages of a source transaction, else the message with that id. */
async function lookUp(command: Command, hash: Hex, o: ChainQuery & { index?: number }): Promise<MessageStatus[]> {
  const { clients } = await chainClients(command, o);
  const asTx = await Promise.all(
    clients.map((client) =>
      client
        .statusOfTransaction(hash, o.index === undefined ? {} : { index: o.index })
        .catch((error: unknown) => (error instanceof NoMessageInTransactionError && error.unknownTransaction ? null : rethrow(error, `transaction ${hash}`))),
    ),
  );
  const found = asTx.find((s) => s !== null);
  if (found !== undefined && found !== null) return found;
  const asId = await Promise.all(clients.map((client) => client.status(hash).catch((error: unknown) => (error instanceof MessageNotFoundError ? null : rethrow(error, `message ${hash}`)))));
  const status = asId.find((s) => s !== null);
  if (status === undefined || status === null)
    throw new Error(
      `${hash} is neither a source transaction nor a message id on chain(s) ${clients.length === 1 && o.sourceChain !== undefined ? o.sourceChain : "of the config"} (searched from each chain's fromBlock)`,
    );
  return [status];
}

function rethrow(error: unknown, what: string): never {
  if (error instanceof NoMessageInTransactionError || error instanceof MessageNotFoundError) throw error;
  throw new ChainRequestError(`reading ${what}`, error);
}

function describeStatus(s: MessageStatus): string {
  const t = s.target;
  const r = s.relayer;
  const targetText =
    t.kind === "not-configured" ? `chain ${t.chainId} not in the config` : `${t.state}${t.txHash === null ? "" : ` (tx ${t.txHash})`}${t.reason === null ? "" : `: ${t.reason.summary}`}`;
  const relayerText =
    r.kind === "not-configured"
      ? "not asked (no --api, api.port or MPC_RELAY_RELAYER_API)"
      : r.kind === "unavailable"
        ? `unavailable: ${r.reason} (${r.url})`
        : r.kind === "unknown"
          ? `no record (${r.url})`
          : `${r.state}${r.lastError === null ? "" : ` (last error: ${r.lastError})`}`;
  return [
    `message ${s.messageId}: ${s.state}`,
    fields([
      ["route", `chain ${s.message.srcChainId} -> chain ${s.message.dstChainId}, receiver ${s.message.receiver}`],
      ["source tx", `${s.source.txHash} (block ${s.source.blockNumber}, ${s.source.final ? "final" : `not final: final up to ${s.source.finalBlock}`})`],
      ["target", targetText],
      ...(t.kind === "read" && t.retry !== null ? [["retry", t.retry.possible ? "would succeed now (mpc-relay retry)" : `would revert now: ${t.retry.error?.summary ?? "?"}`] as const] : []),
      ["relayer", relayerText],
      ...(r.kind === "known" ? r.history.map((h, i) => [i === 0 ? "history" : "", `${time(h.at)}  ${h.state}${h.detail === undefined ? "" : `  ${h.detail}`}`] as const) : []),
      ...(s.behind === null ? [] : [["behind", `${s.behind} view: ${s.note}`] as const]),
    ]),
  ].join("\n");
}

/** JSON for scripts: bigints as decimal strings. */
function toJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
}

export async function printChainStatus(command: Command, hash: Hex, o: ChainQuery & { index?: number }): Promise<void> {
  const statuses = await lookUp(command, hash, o);
  emit(o, toJson(statuses.length === 1 ? statuses[0] : statuses), () => statuses.map(describeStatus).join("\n\n"));
}

interface WalletQuery extends ChainQuery {
  keyFile?: string;
  keyEnv?: string;
  viaReceiver?: string;
}

async function act(kind: "retry" | "abandon", command: Command, id: Hex, o: WalletQuery): Promise<void> {
  if ((o.keyFile === undefined) === (o.keyEnv === undefined)) usageError(command, "give the destination wallet's key with exactly one of --key-file <file> or --key-env <VAR>");
  const key = await readSecret({ file: o.keyFile, env: o.keyEnv }, "wallet key");
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error("the wallet key must be 32 bytes of 0x-prefixed hex");
  const { clients } = await chainClients(command, o, key as Hex);
  const found = await Promise.all(
    clients.map((client) =>
      client
        .findSent(id)
        .then((m) => (m === null ? null : client))
        .catch((error: unknown) => rethrow(error, `message ${id}`)),
    ),
  );
  const client = found.find((c) => c !== null);
  if (client === undefined || client === null) throw new Error(`message ${id} not found on the source chain(s) of ${o.config} (searched from each chain's fromBlock)`);
  const viaReceiver = o.viaReceiver === undefined ? undefined : receiverFunction(o.viaReceiver);
  const txHash = await (kind === "retry" ? client.retry(id) : client.abandon(id, viaReceiver === undefined ? {} : { viaReceiver })).catch((error: unknown) => {
    if (error instanceof MpcRelayError) throw error; // already one line with the decoded reason
    throw new ChainRequestError(`${kind} ${id}`, error);
  });
  const status = await client.status(id).catch((error: unknown) => rethrow(error, `message ${id}`));
  emit(o, { messageId: id, txHash, state: status.state }, (v) => `message ${v.messageId}: ${kind === "retry" ? "retried" : "abandoned"} in tx ${v.txHash}; now ${v.state}`);
}

/** `name` as a receiver function taking the message, like ProbeReceiver.abandon(Message). */
function receiverFunction(name: string): { abi: Abi; functionName: string } {
  const inputs = targetGatewayAbi.find((i) => i.type === "function" && i.name === "abandonMessage")!.inputs;
  return { abi: [{ type: "function", name, stateMutability: "nonpayable", inputs, outputs: [] }], functionName: name };
}

const chainOptions = (command: Command): Command =>
  withJson(command)
    .requiredOption("--config <file>", "the relayer's config: chains, RPC URLs, gateways, fromBlock (and api.port)")
    .option("--source-chain <chainId>", "only look on this source chain", integerArg(1))
    .option("--error-abi <file>", "a JSON ABI with the receiver's custom errors, to decode its revert reason");

const walletOptions = (command: Command): Command =>
  chainOptions(command).option("--key-file <file>", "the destination wallet's private key (a file, chmod 600)").option("--key-env <VAR>", "the environment variable holding it");

export function registerMessageCommands(program: Command): void {
  walletOptions(
    program.command("retry").description("run a failed message again on its target (anyone may; the wallet pays its gas)").argument("<messageId>", "0x and 64 hex digits", messageIdArg),
  ).action((id: Hex, o: WalletQuery, command: Command) => act("retry", command, id, o));
  walletOptions(program.command("abandon").description("give a failed message up (only its receiver may)").argument("<messageId>", "0x and 64 hex digits", messageIdArg))
    .option("--via-receiver <function>", "call this function of the receiver contract with the message (it calls abandonMessage); else the wallet must be the receiver")
    .action((id: Hex, o: WalletQuery, command: Command) => act("abandon", command, id, o));
}
