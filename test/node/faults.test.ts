/**
 * Crashes: a node killed while signatures are running (the tasks finish with
 * the others, absences are recorded), and a node killed during keyGen (the
 * key ends in ERROR and a new keyGen succeeds).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getAddress, recoverAddress, type Hex } from "viem";
import { resolve } from "node:path";
import { Cluster, eventually, relayTx } from "./cluster.ts";

const STALLING_NODE = resolve(import.meta.dirname, "stalling-node.ts");

describe("signer nodes: crashes", { timeout: 180_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    // Short round timeouts so a dead peer is noticed quickly.
    cluster = await Cluster.create({ size: 5, presignPoolSize: 0, roundMs: 2_500, keygenRoundMs: 5_000, prepareMs: 2_000 });
    await cluster.startAll();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("completes every signing task when a signer is killed mid-sign, and records it absent", async () => {
    await cluster.approve({ operation: "keygen", keyId: "crash-sign", parties: [1, 2, 3, 4, 5], threshold: 3 });
    const { key } = await cluster.client(1).keygen("crash-sign", 3, [1, 2, 3, 4, 5]);
    // Node 5 comes back as a node that falls silent in the middle of a signature; with 3 and 4 frozen,
    // node 1 can only pick {1, 2, 5}, so node 5 is surely a signer, and is killed while it is mid-sign.
    await cluster.stop(5);
    await cluster.start(5, undefined, STALLING_NODE);
    // The others notice the restart when they next talk to it: a signature from each settles the connections.
    for (const index of [1, 2]) await cluster.client(index).sign("crash-sign", relayTx(index + 1_000));
    const framesAt5 = async (): Promise<number> => Number(/^mpc_frames_received_total (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${cluster.node(5).httpPort}/metrics`)).text())?.[1] ?? 0);
    const framesBefore = await framesAt5();
    cluster.pause(3);
    cluster.pause(4);
    const task = cluster.client(1).sign("crash-sign", relayTx(1));
    try {
      // Past `prepare` and `start`, with protocol messages arriving: node 5 is mid-sign (and stays silent there).
      for (let i = 0; i < 2_000 && (await framesAt5()) < framesBefore + 3; i++) await new Promise((r) => setTimeout(r, 5));
      await cluster.kill(5);
    } finally {
      cluster.resume(3);
      cluster.resume(4);
    }
    const view = await task;
    assert.equal(await recoverAddress({ hash: view.digest, signature: view.signature as Hex }), getAddress(key.address!));
    assert.ok(view.attempts >= 2, `the task was retried (signers ${view.signers.join(",")}, attempt ${view.attempts})`);
    assert.ok(!view.signers.includes(5), "the retry avoids the dead node");
    const absences = (await cluster.client(1).absences()).absences;
    assert.ok(
      absences.some((a) => a.operation === "sign" && a.absentees.includes(5)),
      "the dead node is recorded absent",
    );
    const later = await cluster.client(2).sign("crash-sign", relayTx(100));
    assert.ok(!later.signers.includes(5));
  });

  it("marks a keyGen interrupted by a crash ERROR everywhere, then a new keyGen succeeds", async () => {
    await cluster.start(5);
    await cluster.approve({ operation: "keygen", keyId: "crash-keygen", parties: [1, 2, 3, 4, 5], threshold: 3 });
    const pending = cluster
      .client(1)
      .keygen("crash-keygen", 3, [1, 2, 3, 4, 5])
      .then(
        () => null,
        (error: Error) => error,
      );
    // Kill as soon as node 5 holds the PENDING record, i.e. the protocol is under way.
    for (let i = 0; i < 100; i++) {
      const status = await cluster
        .client(5)
        .getKey("crash-keygen")
        .then((r) => r.key.status)
        .catch(() => null);
      if (status === "PENDING") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await cluster.kill(5);
    const error = await pending;
    assert.ok(error instanceof Error, "the keyGen fails");
    for (const i of [1, 2, 3, 4]) {
      await eventually(async () => assert.equal((await cluster.client(i).getKey("crash-keygen")).key.status, "ERROR", `node ${i}`));
    }
    const absences = (await cluster.client(1).absences()).absences;
    assert.ok(absences.some((a) => a.keyId === "crash-keygen" && a.absentees.includes(5)));
    // The killed node finds its PENDING record at restart and marks it ERROR too.
    await cluster.start(5);
    assert.equal((await cluster.client(5).getKey("crash-keygen")).key.status, "ERROR");
    await cluster.approve({ operation: "keygen", keyId: "crash-keygen", parties: [1, 2, 3, 4, 5], threshold: 3 }, [5]);
    const { key } = await cluster.client(2).keygen("crash-keygen", 3, [1, 2, 3, 4, 5]);
    assert.equal(key.status, "READY");
    for (let i = 1; i <= 5; i++) assert.equal((await cluster.client(i).getKey("crash-keygen")).key.address, key.address);
  });

  it("a graceful stop finishes the signing requests under way before the node exits", async () => {
    for (const i of [1, 2, 3, 4, 5]) if (cluster.node(i).process === null) await cluster.start(i);
    // With 2, 3 and 4 frozen, node 1's request waits for a second co-signer; node 1 is told to stop meanwhile.
    for (const i of [2, 3, 4]) cluster.pause(i);
    const task = cluster.client(1).sign("crash-sign", relayTx(500));
    await new Promise((r) => setTimeout(r, 300));
    const stopped = cluster.stop(1);
    await new Promise((r) => setTimeout(r, 300));
    for (const i of [2, 3, 4]) cluster.resume(i);
    const view = await task;
    assert.match(view.signature, /^0x[0-9a-f]{130}$/, "the request under way was answered");
    await stopped;
    assert.equal(cluster.node(1).process, null, "then the node exited");
    await cluster.start(1);
  });
});
