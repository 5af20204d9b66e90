/**
 * Simultaneous dials: 7 transports on 127.0.0.1 all send to all at the same
 * instant, over fresh nodes each round so every pair races to connect. Two
 * crossing dials can break a Noise handshake; every frame must still arrive
 * exactly once.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createIdentity, type NodeIdentity } from "../../relayer/node/identity.ts";
import { StaticPeerDirectory, type PeerEntry } from "../../relayer/node/directory.ts";
import { FRAME_VERSION, type Frame } from "../../relayer/node/frames.ts";
import { createLogger } from "../../relayer/shared/log.ts";
import { Transport } from "../../relayer/node/transport.ts";
import { freePort } from "./cluster.ts";

const NODES = 7;
const ROUNDS = 5;
const FRAMES_PER_PEER = 3;

function frame(from: number, round: number, seq: number): Frame {
  return {
    v: FRAME_VERSION,
    id: randomBytes(16).toString("hex"),
    ts: Date.now(),
    from,
    sessionId: randomBytes(32).toString("hex"),
    body: { kind: "protocol", protocol: "keygen", round, to: seq, sid: "00".repeat(32), payload: "", sig: null },
  };
}

describe("transport: simultaneous dials", { timeout: 30_000 }, () => {
  it("delivers every frame when all nodes dial each other at once", async () => {
    const identities: NodeIdentity[] = await Promise.all(Array.from({ length: NODES }, () => createIdentity()));
    const log = createLogger({}, "error");
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const ports = await Promise.all(identities.map(() => freePort()));
      const entries: PeerEntry[] = identities.map((id, i) => ({ index: i + 1, peerId: id.peerId, address: `/ip4/127.0.0.1/tcp/${ports[i]}` }));
      const directory = new StaticPeerDirectory(entries);
      const received = new Map<string, number>();
      const transports = await Promise.all(
        identities.map((identity, i) =>
          Transport.start({
            identity,
            directory,
            listen: [`/ip4/127.0.0.1/tcp/${ports[i]!}`],
            log,
            events: {
              onFrame: (from, f) => {
                const key = `${from}->${i + 1}#${f.body.kind === "protocol" ? f.body.to : "?"}`;
                received.set(key, (received.get(key) ?? 0) + 1);
              },
              onDrop: (reason, peerId) => failures.push(`round ${round}: dropped ${reason} from ${peerId}`),
              onUndelivered: (to, frames) => failures.push(`round ${round}: ${frames} frames ${i + 1}->${to} undeliverable`),
            },
          }),
        ),
      );
      try {
        for (let from = 1; from <= NODES; from++)
          for (let to = 1; to <= NODES; to++) if (from !== to) for (let seq = 1; seq <= FRAMES_PER_PEER; seq++) transports[from - 1]!.send(to, frame(from, round, seq));
        const expected = NODES * (NODES - 1) * FRAMES_PER_PEER;
        const deadline = Date.now() + 3_000;
        while (received.size < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        const missing: string[] = [];
        for (let from = 1; from <= NODES; from++)
          for (let to = 1; to <= NODES; to++) if (from !== to) for (let seq = 1; seq <= FRAMES_PER_PEER; seq++) if (!received.has(`${from}->${to}#${seq}`)) missing.push(`${from}->${to}#${seq}`);
        if (missing.length > 0) failures.push(`round ${round}: ${missing.length}/${expected} frames lost: ${missing.slice(0, 8).join(" ")}`);
        for (const [key, count] of received) if (count !== 1) failures.push(`round ${round}: ${key} delivered ${count} times`);
      } finally {
        await Promise.all(transports.map((t) => t.stop()));
      }
    }
    assert.deepEqual(failures, []);
  });
});
