/**
 * A signer node for crash tests: the real node whose signing instances send
 * their first round and then fall silent, like a machine that dies in the
 * middle of a signature, for as long as it takes the test to kill it.
 *
 * Usage: as `mpc-relay node start` (see Cluster.start's `entry`).
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { ProtocolInstance } from "../../relayer/mpc/types.ts";
import { loadConfig } from "../../relayer/node/config.ts";
import { startNode } from "../../relayer/node/daemon.ts";
import { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import { stakingPlugin } from "../../relayer/staking/plugin.ts";

/** Sends what start() sends, then nothing more. */
function silentAfterFirstRound<R>(instance: ProtocolInstance<R>): ProtocolInstance<R> {
  return new Proxy(instance, {
    get(target, prop, receiver) {
      if (prop === "receive") return (message: Parameters<ProtocolInstance<R>["receive"]>[0]) => (target.receive(message), []);
      if (prop === "done") return false;
      return Reflect.get(target, prop, receiver);
    },
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: "string" } } });
  const config = await loadConfig(values.config!);
  const node = await startNode({
    config,
    passphrase: process.env.MPC_RELAY_PASSPHRASE!,
    apiToken: process.env.MPC_RELAY_API_TOKEN!,
    suite: { ...mpcSuite, sign: (p) => silentAfterFirstRound(mpcSuite.sign(p)) },
    plugin: stakingPlugin,
  });
  process.stdout.write(JSON.stringify({ event: "listening", index: config.index, peerId: node.peerId, httpPort: node.httpPort }) + "\n");
  process.once("SIGTERM", () => void node.stop().then(() => process.exit(0)));
}

// The test runner imports every file under test/; only a process started on this script runs a node.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
