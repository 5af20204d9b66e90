/**
 * `mpc-relay node start` and `node identity`: run a signer node, create its identity key.
 * The node's modules load only when `node start` runs, so other commands start light.
 */
import { open, readFile, rm } from "node:fs/promises";
import type { Command } from "commander";
import { usageError, withJson, type JsonOption } from "../options.ts";
import { emit, emitEvent } from "../output.ts";

/** The graceful stop's own grace (30 s for signing under way) plus time to close the API, transport and store. */
const STOP_DEADLINE_MS = 45_000;

export function registerNodeCommands(program: Command): void {
  const node = program.command("node").description("run a signer node, create its identity");

  withJson(node.command("start").description("run a signer node"))
    .requiredOption("--config <file>", "the node's config (JSON; check it with `mpc-relay config check`)")
    .option("--passphrase-file <file>", "the key-store passphrase (else env MPC_RELAY_PASSPHRASE)")
    .addHelpText("after", "\nThe API token comes from env MPC_RELAY_API_TOKEN or the config's apiToken.")
    .action(async (o: JsonOption & { config: string; passphraseFile?: string }, command: Command) => {
      const [{ loadConfig }, { startNode }, { mpcSuite }] = await Promise.all([import("../../node/config.ts"), import("../../node/daemon.ts"), import("../../node/mpc-suite.ts")]);
      const config = await loadConfig(o.config);
      const passphrase = o.passphraseFile !== undefined ? (await readFile(o.passphraseFile, "utf8")).replace(/\r?\n$/, "") : process.env.MPC_RELAY_PASSPHRASE;
      if (passphrase === undefined || passphrase === "") usageError(command, "no passphrase: use --passphrase-file or MPC_RELAY_PASSPHRASE");
      const apiToken = process.env.MPC_RELAY_API_TOKEN ?? config.apiToken;
      if (apiToken === undefined) usageError(command, "no API token: set MPC_RELAY_API_TOKEN or apiToken in the config");
      const plugin = config.staking === undefined ? undefined : (await import("../../staking/plugin.ts")).stakingPlugin;
      const running = await startNode({ config, passphrase, apiToken, suite: mpcSuite, ...(plugin === undefined ? {} : { plugin }) });
      // Tools that start nodes (devnet, tests) read this line, with --json, to learn the HTTP port.
      const listening = { event: "listening", index: config.index, peerId: running.peerId, httpPort: running.httpPort };
      emitEvent(o, listening, (l) => `node ${l.index} listening: peer id ${l.peerId}, HTTP API on port ${l.httpPort}`);
      const shutdown = (): void => {
        // A stop that hangs past its grace (a step that never settles) still ends the process, and says so.
        const deadline = setTimeout(() => {
          process.stderr.write(`node ${config.index}: the graceful stop did not finish within ${STOP_DEADLINE_MS} ms; exiting\n`);
          process.exit(1);
        }, STOP_DEADLINE_MS);
        void running.stop().then(() => {
          clearTimeout(deadline);
          process.exit(0);
        });
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
      await new Promise<never>(() => {});
    });

  withJson(node.command("identity").description("create a node identity key (Ed25519) and print its peer id"))
    .requiredOption("--out <file>", "where to write the key (mode 600); an existing file is never overwritten")
    .action(async (o: JsonOption & { out: string }) => {
      const { createIdentity, saveIdentity } = await import("../../node/identity.ts");
      const identity = await createIdentity();
      await writeNewFile(o.out, (path) => saveIdentity(path, identity));
      emit(o, { peerId: identity.peerId, file: o.out }, (r) => `wrote a new node identity to ${r.file} (mode 600)\npeer id ${r.peerId}`);
    });
}

/**
 * Creates `path` exclusively (fails if anything exists there, even between a check and
 * the write), then lets `write` fill it; a failed write removes the file again.
 */
async function writeNewFile(path: string, write: (path: string) => Promise<void>): Promise<void> {
  try {
    await (await open(path, "wx", 0o600)).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST")
      throw new Error(`${path} already exists: not overwriting it (a node's identity is its peer id; move the old key away first if you mean to replace it)`);
    throw error;
  }
  try {
    await write(path);
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
}
