/** `mpc-relay relay start`, `relay status <messageId>` and `status [messageId]`: run the relayer, query it or a node. */
import type { Command } from "commander";
import { ApiError, fetchApi } from "@mpc-relay/sdk";
import { httpUrlArg, integerArg, messageIdArg, MESSAGE_ID, nodeClient, usageError, withJson, withOptionalNodeApi, type JsonOption } from "../options.ts";
import { emit, emitEvent, fields, time } from "../output.ts";
import { describeKey, describeNodeStatus } from "./keys.ts";
import type { MessageStatus } from "../../relay/index.ts";

function describeMessage(m: MessageStatus): string {
  return [
    `message ${m.messageId}: ${m.state}`,
    fields([
      ["route", `chain ${m.srcChainId} -> chain ${m.dstChainId}${m.batched ? " (batched)" : ""}`],
      ["source tx", `${m.sourceTxHash} (block ${m.blockNumber})`],
      ["delivery tx", m.deliveryTxHash ?? "none yet"],
      ["attempts", String(m.attempts)],
      ...(m.lastError === null ? [] : [["last error", m.lastError] as const]),
      ...m.history.map((h, i) => [i === 0 ? "history" : "", `${time(h.at)}  ${h.state}${h.detail === undefined ? "" : `  ${h.detail}`}`] as const),
    ]),
  ].join("\n");
}

interface MessageQuery extends JsonOption {
  api?: string;
  config?: string;
}

/** The relayer's API URL: --api, else the relayer config's api.port, else MPC_RELAY_RELAYER_API. */
async function relayerApi(command: Command, o: MessageQuery): Promise<string> {
  if (o.api !== undefined) return o.api;
  if (o.config !== undefined) {
    const { loadRelayerConfig, relayerApiUrl } = await import("../../relay/config.ts");
    const config = await loadRelayerConfig(o.config);
    if (config.api === undefined) usageError(command, `relayer config ${o.config} has no api.port`);
    return relayerApiUrl(config.api);
  }
  const fromEnv = process.env.MPC_RELAY_RELAYER_API;
  if (fromEnv !== undefined) return httpUrlArg(fromEnv);
  usageError(command, "say where the relayer is: --api <url>, --config <relayer config> or MPC_RELAY_RELAYER_API");
}

async function printMessageStatus(command: Command, id: `0x${string}`, o: MessageQuery): Promise<void> {
  const api = await relayerApi(command, o);
  const path = `/v1/messages/${id}`;
  const response = await fetchApi("relayer API", api, path);
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) throw new ApiError("relayer API", api + path, response.status, typeof body.error === "string" ? body.error : response.statusText);
  emit(o, body as unknown as MessageStatus, describeMessage);
}

const messageQueryOptions = (command: Command): Command =>
  withJson(command.option("--api <url>", "the relayer's status API (else env MPC_RELAY_RELAYER_API)", httpUrlArg).option("--config <file>", "the relayer's config (its api.port)"));

export function registerRelayCommands(program: Command): void {
  const relay = program.command("relay").description("run the relayer, ask it about a message");

  withJson(relay.command("start").description("run the relayer (watch sources, get attestations, deliver)"))
    .requiredOption("--config <file>", "the relayer's config (JSON; check it with `mpc-relay config check`)")
    .addHelpText("after", "\nThe submitter key comes from the env var or file the config names.")
    .action(async (o: JsonOption & { config: string }) => {
      const [{ loadRelayerConfig }, { startRelayer }] = await Promise.all([import("../../relay/config.ts"), import("../../relay/index.ts")]);
      const relayer = await startRelayer(await loadRelayerConfig(o.config));
      // Tools that start the relayer (devnet, tests) read this line, with --json, to learn the API port.
      emitEvent(o, { event: "relayer-listening", apiPort: relayer.apiPort }, (l) => `relayer listening${l.apiPort === null ? " (no status API)" : `: status API on port ${l.apiPort}`}`);
      const shutdown = (): void => {
        void relayer.stop().then(() => process.exit(0));
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
      await new Promise<never>(() => {});
    });

  messageQueryOptions(relay.command("status").description("a message's delivery status from the relayer").argument("<messageId>", "0x and 64 hex digits", messageIdArg)).action(
    (id: `0x${string}`, o: MessageQuery, command: Command) => printMessageStatus(command, id, o),
  );

  // `status <hash>` with --config reads the chains (and asks the relayer); with only --api, the relayer; `status` alone (or with --key) asks a node.
  withOptionalNodeApi(
    withJson(program.command("status").description("`status <messageId|txHash>`: a message's one status (chains and relayer); `status`: a node's status"))
      .argument("[hash]", "a message id, or the source transaction that sent it (0x and 64 hex digits)")
      .option("--key <id>", "a node's record of one key")
      .option("--config <file>", "with a hash: the relayer's config (chains, RPC URLs, gateways, fromBlock, api.port)")
      .option("--source-chain <chainId>", "with a hash: only look on this source chain", integerArg(1))
      .option("--index <n>", "with a transaction hash: only its n-th MessageSent (0-based; default all)", integerArg(0))
      .option("--error-abi <file>", "with a hash: a JSON ABI with the receiver's custom errors, to decode its revert reason"),
  )
    .addHelpText(
      "after",
      "\nWith a hash and --config, the status comes from the chains of the relayer config and, if reachable, the relayer\n(--api, else the config's api.port, else MPC_RELAY_RELAYER_API): sent, final, attested, delivered, failed, retryable\nor abandoned, and which view is behind. With a message id and no --config, only the relayer's record (--api).\nWithout a hash, --api and --token are a node's (or MPC_RELAY_API and MPC_RELAY_API_TOKEN).",
    )
    .action(async (hash: string | undefined, o: MessageQuery & { token?: string; key?: string; sourceChain?: number; index?: number; errorAbi?: string }, command: Command) => {
      if (hash !== undefined) {
        if (!MESSAGE_ID.test(hash)) usageError(command, `"${hash}" is not a message id or transaction hash (0x and 64 hex digits)`);
        // MPC_RELAY_API names a node, never the relayer.
        const api = command.getOptionValueSource("api") === "cli" ? o.api : undefined;
        if (o.config !== undefined) {
          const { printChainStatus } = await import("./message.ts");
          return printChainStatus(command, messageIdArg(hash), { ...o, config: o.config, ...(api === undefined ? {} : { api }) });
        }
        return printMessageStatus(command, messageIdArg(hash), { ...o, api });
      }
      if (o.api === undefined) usageError(command, "--api <node API URL> (or MPC_RELAY_API) is required");
      if (o.token === undefined) usageError(command, "--token (or MPC_RELAY_API_TOKEN) is required");
      const client = nodeClient({ api: o.api, token: o.token });
      if (o.key === undefined) emit(o, await client.status(), describeNodeStatus);
      else {
        const answer = await client.getKey(o.key);
        emit(o, answer, ({ key }) => describeKey(key));
      }
    });
}
