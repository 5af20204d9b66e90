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
import type { ProtocolInstance, ProtocolMessage } from "../../relayer/mpc/types.ts";
import { loadConfig } from "../../relayer/node/config.ts";
import { startNode } from "../../relayer/node/daemon.ts";
import { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import { flipByte } from "../mpc/harness.ts";

const VICTIM = 1;

function corruptShares<R>(instance: ProtocolInstance<R>): ProtocolInstance<R> {
  // Direct round-2 payload: a flags byte, then the 32-byte share.
  const corrupt = (messages: ProtocolMessage[]) =>
    messages.map((m) => (m.round === 2 && m.to === VICTIM ? { ...m, payload: flipByte(m.payload, 32) } : m));
  return {
    get protocol() {
      return instance.protocol;
    },
    get sessionId() {
      return instance.sessionId;
    },
    get keyId() {
      return instance.keyId;
    },
    get self() {
      return instance.self;
    },
    get parties() {
      return instance.parties;
    },
    get done() {
      return instance.done;
    },
    start: () => corrupt(instance.start()),
    receive: (message) => corrupt(instance.receive(message)),
    result: () => instance.result(),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: "string" } } });
  const config = await loadConfig(values.config!);
  const node = await startNode({
    config,
    passphrase: process.env.MPC_RELAY_PASSPHRASE!,
    apiToken: process.env.MPC_RELAY_API_TOKEN!,
    suite: { ...mpcSuite, keygen: (p) => corruptShares(mpcSuite.keygen(p)) },
  });
  process.stdout.write(JSON.stringify({ event: "listening", index: config.index, peerId: node.peerId, httpPort: node.httpPort }) + "\n");
  process.once("SIGTERM", () => void node.stop().then(() => process.exit(0)));
}

// The test runner imports every file under test/; only a process started on this script runs a node.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
