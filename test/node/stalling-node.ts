/**
 * A signer node for crash tests: the real node whose signing instances send
 * their first round and then fall silent, like a machine that dies in the
 * middle of a signature, for as long as it takes the test to kill it.
 *
 * Usage: as `mpc-relay node start` (see Cluster.start's `entry`).
 */
import type { ProtocolInstance } from "@mpc-relay/mpc";
import { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import { runTestNode } from "./node-entry.ts";

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

await runTestNode(import.meta.url, { ...mpcSuite, sign: (p) => silentAfterFirstRound(mpcSuite.sign(p)) });
