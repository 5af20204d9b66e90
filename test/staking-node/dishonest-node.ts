/**
 * A dishonest signer node for tests: the real node (daemon, transport,
 * operator signatures) whose keyGen instance corrupts the round-2 share it
 * deals to party 1 before the node signs and sends it. The honest members
 * must prove the fault and remove it (nodes.test.ts).
 *
 * Usage: node --import tsx dishonest-node.ts --config <file>  (env as for `mpc-relay node start`)
 */
import { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import { withBadShareTo } from "../mpc/harness.ts";
import { runTestNode } from "../node/node-entry.ts";

await runTestNode(import.meta.url, { ...mpcSuite, keygen: (p) => withBadShareTo(1, mpcSuite.keygen(p)) });
