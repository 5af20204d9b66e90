/**
 * A dishonest signer node for tests: the real node (daemon, transport,
 * operator signatures) whose keyGen instance corrupts the round-2 share it
 * deals to party 1 before the node signs and sends it. The honest members
 * must prove the fault and remove it (nodes.test.ts).
 *
 * Usage: node --import tsx dishonest-node.ts --config <file>  (env as for `mpc-relay node start`)
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig } from "../../relayer/node/config.ts";
import { startNode } from "../../relayer/node/daemon.ts";
import { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import { stakingPlugin } from "../../relayer/staking/plugin.ts";
import { withBadShareTo } from "../mpc/harness.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: "string" } } });
  const config = await loadConfig(values.config!);
  const node = await startNode({
    config,
    passphrase: process.env.MPC_RELAY_PASSPHRASE!,
    apiToken: process.env.MPC_RELAY_API_TOKEN!,
    suite: { ...mpcSuite, keygen: (p) => withBadShareTo(1, mpcSuite.keygen(p)) },
    plugin: stakingPlugin,
  });
  process.stdout.write(JSON.stringify({ event: "listening", index: config.index, peerId: node.peerId, httpPort: node.httpPort }) + "\n");
  process.once("SIGTERM", () => void node.stop().then(() => process.exit(0)));
}

// The test runner imports every file under test/; only a process started on this script runs a node.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
