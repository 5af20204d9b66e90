/**
 * Proactive security with real node processes (issue 14): keys are refreshed
 * on the nodes' own schedule, with no operator and no fixed coordinator, and
 * signing goes on across the switches; a member killed before a refresh
 * recovers its share when it comes back.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Cluster, eventually, relayTx } from "./cluster.ts";

const metric = async (cluster: Cluster, index: number, name: string): Promise<string> =>
  (await (await fetch(`http://127.0.0.1:${cluster.node(index).httpPort}/metrics`)).text()).split("\n").find((line) => line.startsWith(name)) ?? "";

describe("signer nodes: scheduled refresh", { timeout: 180_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await Cluster.create({ size: 3, presignPoolSize: 2, refreshSchedule: { periodMs: 6_000, graceMs: 1_500 } });
    await cluster.startAll();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("refreshes a key by itself every slot, keeps its address, and signs across the refreshes", async () => {
    await cluster.approve({ operation: "keygen", keyId: "sched", parties: [1, 2, 3], threshold: 2 });
    const { key } = await cluster.client(1).keygen("sched", 2, [1, 2, 3]);
    const address = key.address!;
    const first = key.generation;
    // Sign continuously (round-robin coordinators) while at least two slots go by.
    const generations = new Set<string>();
    let nonce = 0;
    const deadline = Date.now() + 60_000;
    while (generations.size < 2 && Date.now() < deadline) {
      const coordinator = (nonce % 3) + 1;
      const signed = await cluster.client(coordinator).sign("sched", relayTx(nonce++));
      assert.equal(signed.address, address);
      const now = (await cluster.client(coordinator).getKey("sched")).key;
      if (now.generation !== first && now.generation !== null) generations.add(now.generation);
    }
    assert.ok(generations.size >= 2, `two scheduled refreshes within a minute (saw ${generations.size}, ${nonce} signatures)`);
    for (const i of [1, 2, 3]) {
      await eventually(async () => {
        const status = await cluster.client(i).status();
        const sharing = status.sharings.find((s) => s.keyId === "sched");
        assert.equal(sharing?.origin, "refresh");
        assert.ok((sharing?.refreshedAt ?? 0) > 0);
        assert.equal(status.keys.find((k) => k.keyId === "sched")?.address, address);
      }, 10_000);
      assert.match(await metric(cluster, i, 'mpc_refresh_last_success_timestamp_seconds{key_id="sched"}'), /\} \d+/);
    }
    // Still signing after the last refresh, from every coordinator.
    for (const i of [1, 2, 3]) assert.equal((await cluster.client(i).sign("sched", relayTx(nonce++))).address, address);
  });
});

describe("signer nodes: refresh with a member down, and its recovery", { timeout: 240_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await Cluster.create({ size: 4, refreshSchedule: { periodMs: 12_000, graceMs: 3_000 } });
    await cluster.startAll();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("refreshes without a killed member; restarted, it recovers its share, rejoins, signs, and its old share is gone from disk", async () => {
    await cluster.approve({ operation: "keygen", keyId: "kp", parties: [1, 2, 3, 4], threshold: 2 });
    const { key } = await cluster.client(1).keygen("kp", 2, [1, 2, 3, 4]);
    const address = key.address!;
    const old = key.generation!;
    await eventually(async () => assert.equal((await cluster.client(4).getKey("kp")).key.generation, old));
    await cluster.kill(4);
    // The next slot's refresh finds member 4 silent and goes ahead with the other three (2t-1 = 3).
    await eventually(async () => {
      const now = (await cluster.client(1).getKey("kp")).key;
      assert.deepEqual(now.participants, [1, 2, 3]);
      assert.deepEqual(now.generations.find((g) => g.id === now.generation)?.awaiting, [4]);
    }, 60_000);
    assert.equal((await cluster.client(2).sign("kp", relayTx(1))).address, address);
    // Member 4 comes back: it learns what it missed, recovers its share from two holders and rejoins.
    await cluster.start(4);
    await eventually(async () => {
      const now = (await cluster.client(4).getKey("kp")).key;
      assert.equal(now.status, "READY");
      assert.notEqual(now.generation, old);
      assert.deepEqual(now.participants, [1, 2, 3, 4]);
    }, 60_000);
    const signed = await cluster.client(4).sign("kp", relayTx(2));
    assert.equal(signed.address, address);
    assert.ok(signed.signers.includes(4));
    const generations = (await cluster.client(4).getKey("kp")).key.generations.map((g) => g.id);
    assert.ok(!generations.includes(old));
    const dataKeys = JSON.parse(await readFile(join(cluster.node(4).dataDir, "keystore.keys.json"), "utf8")) as { keys: Record<string, unknown> };
    assert.equal(dataKeys.keys[`share/kp/${old}`], undefined, "the old share's data key is gone: its ciphertext decrypts under no key");
  });
});
