/**
 * Proactive security with real node processes (issue 14): keys are refreshed
 * on the nodes' own schedule, with no operator and no fixed coordinator, and
 * signing goes on across the switches.
 */
import assert from "node:assert/strict";
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
