/**
 * The node API over libp2p (relayer/node/api/p2p.ts): only the peer ids a node's operator admitted
 * (`apiPeers`) reach it, each in its role. An admitted relayer that lies or turns hostile can read
 * keys and ask for signatures, nothing else: it cannot create, change, delete or approve, cannot
 * speak the members' frame protocol, and the honest members' key stays as it was.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import * as lp from "it-length-prefixed";
import { createLibp2p } from "libp2p";
import { recoverAddress, type Hex } from "viem";
import { P2pApiClient, type NodeAddress } from "../../relayer/node/api/p2p.ts";
import { encodeFrame, FRAME_VERSION } from "../../relayer/node/frames.ts";
import { createIdentity, type NodeIdentity } from "../../relayer/node/identity.ts";
import { FRAME_PROTOCOL } from "../../relayer/node/transport.ts";
import { Cluster, eventually, relayTx } from "./cluster.ts";

async function dropped(cluster: Cluster, index: number, reason: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${cluster.node(index).httpPort}/metrics`)).text();
  return Number(new RegExp(`^mpc_frames_dropped_total\\{reason="${reason}"\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);
}

describe("node API over libp2p: admission by peer id and role", { timeout: 180_000 }, () => {
  let cluster: Cluster;
  let relayer: NodeIdentity;
  let operator: NodeIdentity;
  let nodeOne: NodeAddress;
  const clients: P2pApiClient[] = [];
  const client = async (identity: NodeIdentity): Promise<P2pApiClient> => {
    const started = await P2pApiClient.start(identity, [nodeOne]);
    clients.push(started);
    return started;
  };

  before(async () => {
    cluster = await Cluster.create({ size: 3 });
    [relayer, operator] = await Promise.all([createIdentity(), createIdentity()]);
    const one = cluster.node(1);
    const config = JSON.parse(await readFile(one.configPath, "utf8")) as Record<string, unknown>;
    config.apiPeers = [
      { peerId: relayer.peerId, role: "relayer", name: "test relayer" },
      { peerId: operator.peerId, role: "operator", name: "remote operator" },
    ];
    await writeFile(one.configPath, JSON.stringify(config, null, 2));
    await cluster.startAll();
    nodeOne = { peerId: one.identity.peerId, address: `/ip4/127.0.0.1/tcp/${one.listenPort}` };
    await cluster.approve({ operation: "keygen", keyId: "k1", parties: [1, 2, 3], threshold: 2 });
    await cluster.client(1).keygen("k1", 2);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await cluster?.destroy();
  });

  it("serves an admitted relayer its key and signatures, and refuses it every other route", async () => {
    const api = await client(relayer);
    const ask = (method: "GET" | "POST" | "DELETE", path: string, body?: unknown) => api.request(nodeOne, { method, path, ...(body === undefined ? {} : { body }) }, AbortSignal.timeout(30_000));
    // The keyGen's commit reaches every member a moment after it returns: start from the committed key everywhere.
    let before = (await cluster.client(1).getKey("k1")).key;
    await eventually(async () => {
      before = (await cluster.client(1).getKey("k1")).key;
      for (const index of [2, 3]) assert.equal((await cluster.client(index).getKey("k1")).key.generation, before.generation);
      assert.notEqual(before.generation, null);
    }, 15_000);

    const key = await ask("GET", "/v1/keys/k1");
    assert.equal(key.status, 200);
    const signed = await ask("POST", "/v1/keys/k1/sign", { request: relayTx(1) });
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    const { digest, signature } = signed.body as { digest: Hex; signature: Hex };
    assert.equal(await recoverAddress({ hash: digest, signature }), before.address);

    const forbidden: [method: "GET" | "POST" | "DELETE", path: string, body?: unknown][] = [
      ["POST", "/v1/keys", { keyId: "k2", threshold: 2 }],
      ["POST", "/v1/keys/k1/refresh"],
      ["POST", "/v1/keys/k1/reshare", { newParties: [1, 2], newThreshold: 2 }],
      ["DELETE", "/v1/keys/k1"],
      ["GET", "/v1/keys"],
      ["GET", "/v1/approvals"],
      ["POST", "/v1/approvals", { operation: { operation: "keygen", keyId: "k3", parties: [1, 2, 3], threshold: 2 } }],
      ["GET", "/v1/absences"],
      ["GET", "/v1/staking"],
    ];
    for (const [method, path, body] of forbidden) {
      const answer = await ask(method, path, body);
      assert.equal(answer.status, 403, `${method} ${path}: ${JSON.stringify(answer.body)}`);
    }

    // What an honest member cares about: the key is where it was, at the same generation, and signs.
    for (const index of [1, 2, 3]) {
      const now = (await cluster.client(index).getKey("k1")).key;
      assert.equal(now.status, "READY");
      assert.equal(now.generation, before.generation, `node ${index} kept its generation`);
    }
    assert.deepEqual(
      (await cluster.client(1).approvals()).approvals.filter((a) => a.operation.keyId === "k3"),
      [],
    );
    await cluster.client(3).sign("k1", relayTx(2));
  });

  it("does not let an admitted relayer speak the members' frame protocol", async () => {
    const host = await createLibp2p({ privateKey: relayer.privateKey, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionMonitor: { enabled: false } });
    await host.start();
    try {
      const droppedBefore = await dropped(cluster, 1, "unknown-peer");
      // The connection is admitted (it is an API peer); the frame stream is not (it is not a member).
      const stream = await host.dialProtocol(multiaddr(`${nodeOne.address}/p2p/${nodeOne.peerId}`), FRAME_PROTOCOL);
      const frame = { v: FRAME_VERSION, id: randomBytes(16).toString("hex"), ts: Date.now(), from: 2, sessionId: randomBytes(16).toString("hex"), body: { kind: "abort", reason: "forged" } } as const;
      await stream.sink(lp.encode([encodeFrame(frame)])).catch(() => {});
      for (const until = Date.now() + 10_000; (await dropped(cluster, 1, "unknown-peer")) === droppedBefore && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await dropped(cluster, 1, "unknown-peer"), droppedBefore + 1);
    } finally {
      await host.stop();
    }
    assert.equal((await cluster.client(1).getKey("k1")).key.status, "READY");
  });

  it("gives an admitted operator the operator's routes, and a stranger nothing", async () => {
    const api = await client(operator);
    const approvals = await api.request(nodeOne, { method: "GET", path: "/v1/approvals" }, AbortSignal.timeout(10_000));
    assert.equal(approvals.status, 200);
    const listed = await api.request(nodeOne, { method: "GET", path: "/v1/keys" }, AbortSignal.timeout(10_000));
    assert.equal(listed.status, 200);

    const stranger = await client(await createIdentity());
    await assert.rejects(stranger.request(nodeOne, { method: "GET", path: "/v1/status" }, AbortSignal.timeout(10_000)), /cannot reach node/);
  });
});
