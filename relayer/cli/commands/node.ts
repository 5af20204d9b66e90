/** `mpc-relay node start` and `node identity`: run a signer node, create its identity key. */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadConfig } from "../../node/config.ts";
import { startNode } from "../../node/daemon.ts";
import { createIdentity, saveIdentity } from "../../node/identity.ts";
import { mpcSuite } from "../../node/mpc-suite.ts";
import { UsageError, type Command } from "../registry.ts";

export const nodeStart: Command = {
  path: ["node", "start"],
  summary: "run a signer node",
  usage: "mpc-relay node start --config <file> [--passphrase-file <file>]   (or env MPC_RELAY_PASSPHRASE; token: MPC_RELAY_API_TOKEN or config apiToken)",
  async run(args) {
    const { values } = parseArgs({ args, options: { config: { type: "string" }, "passphrase-file": { type: "string" } } });
    if (values.config === undefined) throw new UsageError("--config is required");
    const config = await loadConfig(values.config);
    const passphrase =
      values["passphrase-file"] !== undefined
        ? (await readFile(values["passphrase-file"], "utf8")).replace(/\r?\n$/, "")
        : process.env.MPC_RELAY_PASSPHRASE;
    if (passphrase === undefined || passphrase === "") throw new UsageError("no passphrase: use --passphrase-file or MPC_RELAY_PASSPHRASE");
    const apiToken = process.env.MPC_RELAY_API_TOKEN ?? config.apiToken;
    if (apiToken === undefined) throw new UsageError("no API token: set MPC_RELAY_API_TOKEN or apiToken in the config");
    const node = await startNode({ config, passphrase, apiToken, suite: mpcSuite });
    // Tools that start nodes read this line to learn the HTTP port.
    process.stdout.write(JSON.stringify({ event: "listening", index: config.index, peerId: node.peerId, httpPort: node.httpPort }) + "\n");
    const shutdown = (): void => {
      void node.stop().then(() => process.exit(0));
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
    await new Promise<never>(() => {});
  },
};

export const nodeIdentity: Command = {
  path: ["node", "identity"],
  summary: "create a node identity key and print its peer id",
  usage: "mpc-relay node identity --out <file>",
  async run(args) {
    const { values } = parseArgs({ args, options: { out: { type: "string" } } });
    if (values.out === undefined) throw new UsageError("--out is required");
    const identity = await createIdentity();
    await saveIdentity(values.out, identity);
    process.stdout.write(JSON.stringify({ peerId: identity.peerId, file: values.out }) + "\n");
  },
};
