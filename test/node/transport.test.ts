/**
 * The wire: an unknown peer can't connect; malformed, oversized, replayed,
 * wrong-session and wrong-sender frames are dropped and the node keeps
 * serving. The test speaks libp2p itself, as committee member 3 (its identity
 * from the cluster config; node process 3 is never started).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { multiaddr } from "@multiformats/multiaddr";
import * as lp from "it-length-prefixed";
import { pushable } from "it-pushable";
import { createIdentity, type NodeIdentity } from "../../relayer/node/identity.ts";
import { decodeFrame, encodeFrame, FRAME_VERSION, type Frame, type FrameBody } from "../../relayer/node/frames.ts";
import { FRAME_PROTOCOL } from "../../relayer/node/transport.ts";
import { Cluster } from "./cluster.ts";

async function peer(identity: NodeIdentity, port: number): Promise<Libp2p> {
  return createLibp2p({
    privateKey: identity.privateKey,
    addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}`] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
  });
}

function frame(from: number, sessionId: string, body: FrameBody): Frame {
  return { v: FRAME_VERSION, id: randomBytes(16).toString("hex"), ts: Date.now(), from, sessionId, body };
}

async function dropped(cluster: Cluster, index: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${cluster.node(index).httpPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const match of text.matchAll(/^mpc_frames_dropped_total\{reason="([^"]+)"\} (\d+)/gm)) out[match[1]!] = Number(match[2]);
  return out;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("signer nodes: transport", { timeout: 120_000 }, () => {
  let cluster: Cluster;
  let member: Libp2p;
  const received: Frame[] = [];

  before(async () => {
    cluster = await Cluster.create({ size: 2, dormant: [3] });
    await cluster.startAll();
    const three = cluster.node(3);
    member = await peer(three.identity, three.listenPort);
    // Node 1 answers on its own outbound stream to "node 3": collect those frames.
    await member.handle(FRAME_PROTOCOL, async ({ stream }) => {
      for await (const chunk of lp.decode(stream.source)) received.push(decodeFrame(chunk.subarray()));
    });
    await member.start();
  });
  after(async () => {
    await member?.stop();
    await cluster?.destroy();
  });

  it("refuses a peer that is not in the committee", async () => {
    const stranger = await peer(await createIdentity(), 0);
    await stranger.start();
    try {
      const one = cluster.node(1);
      await assert.rejects(
        stranger.dialProtocol(multiaddr(`/ip4/127.0.0.1/tcp/${one.listenPort}/p2p/${one.identity.peerId}`), FRAME_PROTOCOL, {
          signal: AbortSignal.timeout(5_000),
        }),
      );
    } finally {
      await stranger.stop();
    }
  });

  it("drops malformed, oversized, replayed, wrong-session and wrong-sender frames, and keeps serving", async () => {
    const one = cluster.node(1);
    const target = multiaddr(`/ip4/127.0.0.1/tcp/${one.listenPort}/p2p/${one.identity.peerId}`);
    const open = async () => {
      const stream = await member.dialProtocol(target, FRAME_PROTOCOL);
      const queue = pushable<Uint8Array>();
      void stream.sink(lp.encode(queue, { maxDataLength: 8 * 1024 * 1024 })).catch(() => {});
      return queue;
    };

    let queue = await open();
    const sessionId = randomBytes(32).toString("hex");
    const prepare = frame(3, sessionId, {
      kind: "prepare",
      keyId: "wire-key",
      params: { operation: "keygen", parties: [1, 2, 3], threshold: 2 },
      generation: null,
    });
    queue.push(new TextEncoder().encode("this is not json"));
    queue.push(new TextEncoder().encode(JSON.stringify({ ...prepare, v: FRAME_VERSION + 1 })));
    queue.push(encodeFrame(frame(2, randomBytes(32).toString("hex"), { kind: "ready", nonce: "00".repeat(32) })));
    // (A `ready` for an unknown session is kept a while instead: a direct-start signer may be ready before the prepare arrives.)
    queue.push(encodeFrame(frame(3, randomBytes(32).toString("hex"), { kind: "done", ok: true, detail: "" })));
    queue.push(encodeFrame({ ...prepare, ts: Date.now() - 10 * 60_000, id: randomBytes(16).toString("hex") }));
    const bytes = encodeFrame(prepare);
    queue.push(bytes);
    queue.push(bytes);

    // The valid prepare gets exactly one answer (node 1 refuses a keyGen its operator has not approved).
    await until(async () => received.some((f) => f.sessionId === sessionId), "node 1's answer");
    await new Promise((r) => setTimeout(r, 300));
    const answers = received.filter((f) => f.sessionId === sessionId);
    assert.equal(answers.length, 1, "the replayed prepare is not answered again");
    assert.equal(answers[0]!.body.kind, "refuse");
    assert.equal(answers[0]!.from, 1);

    const counts = await dropped(cluster, 1);
    assert.equal(counts["malformed"], 1);
    assert.equal(counts["schema"], 1);
    assert.equal(counts["sender-mismatch"], 1);
    assert.equal(counts["unknown-session"], 1);
    assert.equal(counts["stale"], 1);
    assert.equal(counts["replayed"], 1);

    // A length prefix beyond the 4 MiB limit kills that stream only.
    queue.push(new Uint8Array(4 * 1024 * 1024 + 1));
    await until(async () => ((await dropped(cluster, 1))["oversized"] ?? 0) >= 1, "the oversized frame to be dropped");
    queue.end();

    const health = await cluster.client(1).health();
    assert.equal(health.ok, true);
    queue = await open();
    const second = randomBytes(32).toString("hex");
    queue.push(encodeFrame(frame(3, second, { kind: "prepare", keyId: "wire-key-2", params: { operation: "keygen", parties: [1, 2, 3], threshold: 2 }, generation: null })));
    await until(async () => received.some((f) => f.sessionId === second), "an answer on a new stream");
    queue.end();
  });
});
