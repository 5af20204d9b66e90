#!/usr/bin/env node
/**
 * The `mpc-relay` command (package.json `bin`; compiled to dist/relayer/cli/main.js).
 * Parsing, help and usage errors are commander's; each command group registers itself.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { projectRoot } from "../shared/project.ts";
import { ApiError } from "@mpc-relay/sdk";
import { registerConfigCommands } from "./commands/config.ts";
import { registerDevnetCommand } from "./commands/devnet.ts";
import { registerExplorerCommand } from "./commands/explorer.ts";
import { registerKeyCommands } from "./commands/keys.ts";
import { registerNodeCommands } from "./commands/node.ts";
import { registerMessageCommands } from "./commands/message.ts";
import { registerRelayCommands } from "./commands/relay.ts";
import { EXIT } from "./options.ts";

const { version } = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { version: string };

/** Every runnable command under `command`, so the top-level help lists `node start`, `key list`, ... */
const leaves = (command: Command): Command[] => command.commands.flatMap((sub) => (sub.commands.length === 0 ? [sub] : leaves(sub)));
const pathOf = (command: Command): string => (command.parent?.parent == null ? command.name() : `${pathOf(command.parent)} ${command.name()}`);

const program = new Command("mpc-relay")
  .description("cross-chain messaging verified by a threshold-ECDSA MPC network: run signer nodes and the relayer, manage keys")
  .version(version)
  .helpCommand(false)
  .exitOverride()
  .showHelpAfterError(true)
  .configureHelp({ visibleCommands: leaves, subcommandTerm: (command) => `${pathOf(command)} ${command.usage()}`.trim() })
  .addHelpText(
    "after",
    `
Output is text for people; add --json to a command for JSON.
Environment: MPC_RELAY_API and MPC_RELAY_API_TOKEN (a node's API, for --api and --token),
  MPC_RELAY_RELAYER_API (the relayer's API, for status <messageId|txHash>), MPC_RELAY_PASSPHRASE (node start).
Exit codes: 0 done; 1 failed (refused, unreachable, a config with problems); 2 usage error.
Run \`mpc-relay <command> --help\` for a command's options.`,
  );

registerDevnetCommand(program);
registerNodeCommands(program);
registerKeyCommands(program);
registerRelayCommands(program);
registerMessageCommands(program);
registerExplorerCommand(program);
registerConfigCommands(program);

/** One line naming what failed: which API and URL, and why. */
function explain(error: unknown): string {
  if (error instanceof ApiError) return `${error.api} ${error.url} answered ${error.status}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

// `mpc-relay help <command>` is `mpc-relay <command> --help`.
const argv = process.argv.slice(2);
try {
  await program.parseAsync(argv[0] === "help" ? [...argv.slice(1), "--help"] : argv, { from: "user" });
} catch (error) {
  if (error instanceof CommanderError) {
    // commander has printed the message (and the help, for a usage error).
    process.exitCode = error.code === "commander.helpDisplayed" || error.code === "commander.version" ? EXIT.ok : EXIT.usage;
  } else {
    process.stderr.write(`error: ${explain(error)}\n`);
    process.exitCode = EXIT.failed;
  }
}
