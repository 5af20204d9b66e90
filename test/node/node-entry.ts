/**
 * The body of a test node script (a real node with one protocol altered, e.g. stalling-node.ts):
 * does what `mpc-relay node start --json` does, with the given protocol suite.
 * Usage from a script: `node --import tsx <script> --config <file>` (env as for `mpc-relay node start`).
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig } from "../../relayer/node/config.ts";
import { startNode } from "../../relayer/node/daemon.ts";
import type { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import { stakingPlugin } from "../../relayer/staking/plugin.ts";

/** Runs the node when `scriptUrl` (the caller's import.meta.url) is the process's entry: the test runner imports every file under test/. */
export async function runTestNode(scriptUrl: string, suite: typeof mpcSuite): Promise<void> {
  if (process.argv[1] === undefined || resolve(process.argv[1]) !== fileURLToPath(scriptUrl)) return;
  const { values } = parseArgs({ options: { config: { type: "string" } } });
  const config = await loadConfig(values.config!);
  const node = await startNode({
    config,
    passphrase: process.env.MPC_RELAY_PASSPHRASE!,
    apiToken: process.env.MPC_RELAY_API_TOKEN!,
    suite,
    ...(config.staking === undefined ? {} : { plugin: stakingPlugin }),
  });
  process.stdout.write(JSON.stringify({ event: "listening", index: config.index, peerId: node.peerId, httpPort: node.httpPort }) + "\n");
  process.once("SIGTERM", () => void node.stop().then(() => process.exit(0)));
}
