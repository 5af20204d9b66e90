/** `mpc-relay relay start`, `relay status <messageId>` and `status <messageId>`: run the relayer, query it. */
import { parseArgs } from "node:util";
import { loadRelayerConfig } from "../../relay/config.ts";
import { startRelayer } from "../../relay/index.ts";
import { UsageError, type Command } from "../registry.ts";
import { status as nodeStatus } from "./keys.ts";

const MESSAGE_ID = /^0x[0-9a-fA-F]{64}$/;

export const relayStart: Command = {
  path: ["relay", "start"],
  summary: "run the relayer (watch sources, get attestations, deliver)",
  usage: "mpc-relay relay start --config <file>   (submitter key from the env var or file the config names)",
  async run(args) {
    const { values } = parseArgs({ args, options: { config: { type: "string" } } });
    if (values.config === undefined) throw new UsageError("--config is required");
    const config = await loadRelayerConfig(values.config);
    const relayer = await startRelayer(config);
    // Tools that start the relayer read this line to learn the API port.
    process.stdout.write(JSON.stringify({ event: "relayer-listening", apiPort: relayer.apiPort }) + "\n");
    const shutdown = (): void => {
      void relayer.stop().then(() => process.exit(0));
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
    await new Promise<never>(() => {});
  },
};

async function printMessageStatus(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { api: { type: "string" }, config: { type: "string" } } });
  const id = positionals[0];
  if (id === undefined || !MESSAGE_ID.test(id)) throw new UsageError("a 32-byte 0x message id is required");
  let api = values.api ?? process.env.MPC_RELAY_RELAYER_API;
  if (api === undefined && values.config !== undefined) {
    const config = await loadRelayerConfig(values.config);
    if (config.api === undefined) throw new UsageError(`relayer config ${values.config} has no api.port`);
    api = `http://127.0.0.1:${config.api.port}`;
  }
  if (api === undefined) throw new UsageError("say where the relayer is: --api <url>, --config <relayer config> or MPC_RELAY_RELAYER_API");
  const response = await fetch(`${api.replace(/\/$/, "")}/v1/messages/${id.toLowerCase()}`);
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(typeof body.error === "string" ? body.error : `relayer API answered ${response.status}`);
  process.stdout.write(JSON.stringify(body, null, 2) + "\n");
}

export const relayStatus: Command = {
  path: ["relay", "status"],
  summary: "a message's delivery status from the relayer",
  usage: "mpc-relay relay status <messageId> [--api <url> | --config <relayer config>]",
  run: printMessageStatus,
};

/** `status <messageId>` asks the relayer; `status` without a message id is the node status. */
export const status: Command = {
  path: ["status"],
  summary: "`status <messageId>`: a message's delivery status; otherwise a node's status",
  usage: `mpc-relay status <messageId> [--api <url> | --config <relayer config>]  |  ${nodeStatus.usage}`,
  run(args) {
    return args[0] !== undefined && MESSAGE_ID.test(args[0]) ? printMessageStatus(args) : nodeStatus.run(args);
  },
};
