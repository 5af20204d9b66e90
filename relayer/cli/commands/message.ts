/**
 * A message's one status from the chains (and the relayer, if reachable), and `retry` / `abandon` of
 * a failed one. The chains, their RPC URLs, gateways and deployment blocks come from the relayer's
 * config (--config), as for `relay start`; a wallet key only from a file (chmod 600) or an env var.
 */
import type { Command } from "commander";
import type { Abi, Hex } from "viem";
import { targetGatewayAbi, MpcRelayClient, MpcRelayError, type MessageStatus } from "@mpc-relay/sdk";
import { readSecret } from "../../shared/secrets.ts";
import { integerArg, messageIdArg, usageError, withJson, type JsonOption } from "../options.ts";
import { emit, fields, time } from "../output.ts";

export interface ChainQuery extends JsonOption {
  config: string;
  api?: string;
  sourceChain?: number;
  errorAbi?: string;
}

/** The SDK clients of the config's chains, through the relayer package's one chain-client rule. */
async function clientsFor(command: Command, o: ChainQuery, walletKey?: Hex): Promise<MpcRelayClient[]> {
  const [{ loadRelayerConfig }, { chainClients }] = await Promise.all([import("../../relay/config.ts"), import("../../relay/chain-clients.ts")]);
  const config = await loadRelayerConfig(o.config);
  if (o.sourceChain !== undefined && !config.chains.some((c) => c.chainId === o.sourceChain)) usageError(command, `chain ${o.sourceChain} is not in ${o.config}`);
  return chainClients(config, {
    ...(o.api === undefined ? {} : { api: o.api }),
    ...(o.sourceChain === undefined ? {} : { sourceChain: o.sourceChain }),
    ...(o.errorAbi === undefined ? {} : { errorAbiFile: o.errorAbi }),
    ...(walletKey === undefined ? {} : { walletKey }),
  });
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
  const { lookUp } = await import("../../relay/chain-clients.ts");
  const statuses = await lookUp(await clientsFor(command, o), hash, o.index);
  emit(o, toJson(statuses.length === 1 ? statuses[0] : statuses), () => statuses.map(describeStatus).join("\n\n"));
}

interface WalletQuery extends ChainQuery {
  keyFile?: string;
  keyEnv?: string;
  viaReceiver?: string;
}

async function act(kind: "retry" | "abandon" | "add-gas", command: Command, id: Hex, o: WalletQuery, extraGas?: bigint): Promise<void> {
  if ((o.keyFile === undefined) === (o.keyEnv === undefined))
    usageError(command, `give the ${kind === "add-gas" ? "source" : "destination"} wallet's key with exactly one of --key-file <file> or --key-env <VAR>`);
  const key = await readSecret({ file: o.keyFile, env: o.keyEnv }, "wallet key");
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error("the wallet key must be 32 bytes of 0x-prefixed hex");
  const { ChainRequestError, rethrow } = await import("../../relay/chain-clients.ts");
  const clients = await clientsFor(command, o, key as Hex);
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
  const sent = kind === "retry" ? client.retry(id) : kind === "abandon" ? client.abandon(id, viaReceiver === undefined ? {} : { viaReceiver }) : client.addGas(id, extraGas!);
  const txHash = await sent.catch((error: unknown) => {
    if (error instanceof MpcRelayError) throw error; // already one line with the decoded reason
    throw new ChainRequestError(`${kind} ${id}`, error);
  });
  const status = await client.status(id).catch((error: unknown) => rethrow(error, `message ${id}`));
  const done = { retry: "retried", abandon: "abandoned", "add-gas": `given ${extraGas} more gas (the relayer retries with it)` }[kind];
  emit(o, { messageId: id, txHash, state: status.state }, (v) => `message ${v.messageId}: ${done} in tx ${v.txHash}; now ${v.state}`);
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
  chainOptions(command)
    .option("--key-file <file>", "the wallet's private key, a file (chmod 600): the destination chain's for retry and abandon, the source chain's for add-gas")
    .option("--key-env <VAR>", "the environment variable holding it");

export function registerMessageCommands(program: Command): void {
  walletOptions(
    program.command("retry").description("run a failed message again on its target (anyone may; the wallet pays its gas)").argument("<messageId>", "0x and 64 hex digits", messageIdArg),
  ).action((id: Hex, o: WalletQuery, command: Command) => act("retry", command, id, o));
  walletOptions(program.command("abandon").description("give a failed message up (only its receiver may)").argument("<messageId>", "0x and 64 hex digits", messageIdArg))
    .option("--via-receiver <function>", "call this function of the receiver contract with the message (it calls abandonMessage); else the wallet must be the receiver")
    .action((id: Hex, o: WalletQuery, command: Command) => act("abandon", command, id, o));
  walletOptions(
    program
      .command("add-gas")
      .description("buy more destination gas for a message on its source chain (the sender pays; the relayer delivers or retries with it)")
      .argument("<messageId>", "0x and 64 hex digits", messageIdArg)
      .argument("<gas>", "extra gas units", integerArg(1)),
  ).action((id: Hex, gas: number, o: WalletQuery, command: Command) => act("add-gas", command, id, o, BigInt(gas)));
}
