#!/usr/bin/env node
/** The `mpc-relay` command. */
import { devnet } from "./commands/devnet.ts";
import { approvals, approve, keyDelete, keygen, keyList, refresh, reshare, sign } from "./commands/keys.ts";
import { nodeIdentity, nodeStart } from "./commands/node.ts";
import { relayStart, relayStatus, status } from "./commands/relay.ts";
import { NodeApiError } from "./client.ts";
import { CommandRegistry, UsageError } from "./registry.ts";

export const registry = new CommandRegistry().add(devnet, nodeStart, nodeIdentity, keygen, approve, approvals, sign, refresh, reshare, keyDelete, keyList, status, relayStart, relayStatus);

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "help") {
    process.stdout.write(registry.help() + "\n");
    return argv.length === 0 ? 1 : 0;
  }
  const resolved = registry.resolve(argv);
  if (resolved === null) {
    process.stderr.write(`unknown command: ${argv.join(" ")}\n\n${registry.help()}\n`);
    return 1;
  }
  if (resolved.args.includes("--help")) {
    process.stdout.write(`${resolved.command.summary}\nusage: ${resolved.command.usage}\n`);
    return 0;
  }
  try {
    await resolved.command.run(resolved.args);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) process.stderr.write(`error: ${error.message}\nusage: ${resolved.command.usage}\n`);
    else if (error instanceof NodeApiError) process.stderr.write(`node API error (${error.status}): ${error.message}\n`);
    else process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
