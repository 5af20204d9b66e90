/**
 * Five signer-node processes (plus a sixth that joins by resharing):
 * keyGen 3-of-5, sign, 100 concurrent signatures over 3 keys, refresh,
 * reshare to 4 nodes with t=3 keeping the address, key deletion, restart,
 * wrong passphrase, and no plaintext share on disk or in the logs.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getAddress, keccak256, recoverAddress, serializeTransaction, type Hex } from "viem";
import { decodeKeyShare } from "@mpc-relay/mpc";
import { ClassicLevel } from "classic-level";
import { DataKeys } from "../../relayer/node/data-keys.ts";
import { KeyStore } from "../../relayer/node/keystore.ts";
import { unlock, type Sealed } from "../../relayer/node/sealing.ts";
import type { SignView } from "../../relayer/node/api/client.ts";
import { Cluster, eventually, relayTx, TEST_CHAIN_ID, TEST_RELAY_DATA, TEST_TARGET } from "./cluster.ts";

async function assertSignedBy(view: SignView, address: string, nonce: number): Promise<void> {
  const expectedDigest = keccak256(
    serializeTransaction({
      type: "eip1559",
      chainId: TEST_CHAIN_ID,
      nonce,
      to: getAddress(TEST_TARGET),
      data: TEST_RELAY_DATA,
      value: 0n,
      gas: 200000n,
      maxFeePerGas: 2000000000n,
      maxPriorityFeePerGas: 1000000000n,
    }),
  );
  assert.equal(view.digest, expectedDigest, "the node signs the digest of the typed request");
  assert.equal(await recoverAddress({ hash: view.digest, signature: view.signature as Hex }), getAddress(address));
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

async function fingerprint(dir: string): Promise<string> {
  const hash = createHash("sha256");
  for (const file of (await filesUnder(dir)).sort()) {
    if (file.endsWith("/LOCK")) continue;
    hash.update(file).update(await readFile(file));
  }
  return hash.digest("hex");
}

describe("signer nodes: key lifecycle", { timeout: 240_000 }, () => {
  let cluster: Cluster;
  let address: string;

  before(async () => {
    cluster = await Cluster.create({ size: 5, dormant: [6], presignPoolSize: 4 });
    await cluster.startAll();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("generates a 3-of-5 key that every node holds READY, and a repeated keyGen returns it", async () => {
    await cluster.approve({ operation: "keygen", keyId: "k1", parties: [1, 2, 3, 4, 5], threshold: 3 });
    const { key } = await cluster.client(1).keygen("k1", 3, [1, 2, 3, 4, 5]);
    assert.equal(key.status, "READY");
    assert.match(key.address ?? "", /^0x[0-9a-fA-F]{40}$/);
    address = key.address!;
    for (let i = 1; i <= 5; i++) {
      // The coordinator answers once it committed; the others commit as the last confirmations reach them.
      await eventually(async () => assert.equal((await cluster.client(i).getKey("k1")).key.status, "READY"));
      const view = (await cluster.client(i).getKey("k1")).key;
      assert.equal(view.address, address);
      assert.deepEqual(view.participants, [1, 2, 3, 4, 5]);
      assert.equal(view.threshold, 3);
    }
    const again = await cluster.client(3).keygen("k1", 3, [1, 2, 3, 4, 5]);
    assert.equal(again.key.address, address);
    assert.equal(again.key.sessionId, key.sessionId);
  });

  it("signs a typed request from any coordinator; the signature recovers to the key's address", async () => {
    for (const coordinator of [2, 5]) {
      const view = await cluster.client(coordinator).sign("k1", relayTx(coordinator));
      assert.equal(view.signers.length, 3);
      assert.ok(view.signers.includes(coordinator));
      await assertSignedBy(view, address, coordinator);
    }
  });

  it("refuses requests its validators reject (no raw-digest signing)", async () => {
    await assert.rejects(cluster.client(1).sign("k1", { type: "rawDigest", digest: "0x" + "11".repeat(32) }), /invalid signing request/);
    await assert.rejects(cluster.client(1).sign("k1", { ...relayTx(1), to: "0x00000000000000000000000000000000000000b2" }), /is not the target gateway this network serves on chain 31400/);
    await assert.rejects(
      cluster.client(1).sign("k1", { type: "messageAttestation", srcChainId: 1, messageId: "0x" + "22".repeat(32), dstChainId: 2, targetGateway: TEST_TARGET }),
      /is not the target gateway this network serves on chain 2/,
    );
  });

  it("signs 100 concurrent requests across 3 keys, from the presignature pool where it can", async () => {
    for (const keyId of ["k2", "k3"]) await cluster.approve({ operation: "keygen", keyId, parties: [1, 2, 3, 4, 5], threshold: 3 });
    const [k2, k3] = await Promise.all([cluster.client(2).keygen("k2", 3, [1, 2, 3, 4, 5]), cluster.client(4).keygen("k3", 3, [1, 2, 3, 4, 5])]);
    const addresses: Record<string, string> = { k1: address, k2: k2.key.address!, k3: k3.key.address! };
    // Warm the pools of coordinator 1 (a key joins the pool on its first signature there).
    await Promise.all(["k1", "k2", "k3"].map((keyId, i) => cluster.client(1).sign(keyId, relayTx(1000 + i))));
    const started = Date.now();
    const jobs = Array.from({ length: 100 }, (_, i) => {
      const keyId = ["k1", "k2", "k3"][i % 3]!;
      const coordinator = 1 + (i % 5);
      return cluster
        .client(coordinator)
        .sign(keyId, relayTx(i))
        .then(async (view) => {
          await assertSignedBy(view, addresses[keyId]!, i);
          return view;
        });
    });
    const views = await Promise.all(jobs);
    const elapsed = Date.now() - started;
    assert.equal(views.length, 100);
    assert.equal(new Set(views.map((v) => v.sessionId)).size, 100, "every signature ran in its own session");
    assert.ok(
      views.some((v) => v.presigned),
      "some requests used pooled presignatures",
    );
    process.stdout.write(`# 100 concurrent signatures in ${elapsed} ms (${views.filter((v) => v.presigned).length} presigned)\n`);
  });

  it("refreshes k1: same address, and signing still works", async () => {
    const before = (await cluster.client(3).getKey("k1")).key;
    const { key } = await cluster.client(3).refresh("k1");
    assert.equal(key.address, address);
    assert.notEqual(key.generation, before.generation);
    for (let i = 1; i <= 5; i++) await eventually(async () => assert.equal((await cluster.client(i).getKey("k1")).key.generation, key.generation));
    await assertSignedBy(await cluster.client(1).sign("k1", relayTx(7)), address, 7);
    // The share's age starts over, in status and in /metrics.
    const sharing = (await cluster.client(3).status()).sharings.find((s) => s.keyId === "k1")!;
    assert.deepEqual([sharing.generation, sharing.origin], [key.generation, "refresh"]);
    assert.ok(sharing.ageSeconds < 60 && sharing.sharedAt > Date.now() - 60_000);
    const scraped = await (await fetch(`http://127.0.0.1:${cluster.node(3).httpPort}/metrics`)).text();
    const created = /^mpc_sharing_created_timestamp_seconds\{key_id="k1"\} ([0-9.e+]+)$/m.exec(scraped)?.[1];
    assert.equal(Number(created), sharing.sharedAt / 1000);
  });

  it("leaves nothing of a refreshed-away share in a node's data folder: not its ciphertext, not its data key", async () => {
    const node = cluster.node(4);
    const storePath = join(node.dataDir, "keystore");
    const old = (await cluster.client(4).getKey("k1")).key.generation!;
    await cluster.stop(4);
    const db = new ClassicLevel<string, string>(storePath, { valueEncoding: "utf8", compression: false });
    const sealed = JSON.parse((await db.get(`share/k1/${old}`))!) as Sealed;
    await db.close();
    const dataKey = (await DataKeys.load(`${storePath}.keys.json`, await unlock(`${storePath}.kdf.json`, cluster.passphrase, { N: 2 ** 14, r: 8, p: 1 }, false))).get(`share/k1/${old}`)!;
    const needles = [Buffer.from(sealed.ct.slice(0, 64)), Buffer.from(sealed.ct, "base64").subarray(0, 48), dataKey, Buffer.from(dataKey.toString("base64"))];
    const found = async () => {
      const hits: string[] = [];
      for (const file of await filesUnder(node.dataDir)) for (const needle of needles) if ((await readFile(file)).indexOf(needle) !== -1) hits.push(file);
      return hits;
    };
    assert.ok((await found()).length > 0, "the search finds the share in use");
    await cluster.start(4);
    const { key } = await cluster.client(1).refresh("k1");
    await eventually(async () => assert.equal((await cluster.client(4).getKey("k1")).key.generation, key.generation));
    await cluster.stop(4);
    try {
      assert.deepEqual(await found(), [], "the old generation is gone from every file");
    } finally {
      await cluster.start(4);
    }
    await assertSignedBy(await cluster.client(4).sign("k1", relayTx(8)), address, 8);
  });

  it("keeps signing through back-to-back refreshes: no request fails, each signature recovers to the key", async () => {
    let refreshing = true;
    const failures: string[] = [];
    const views: { view: SignView; nonce: number }[] = [];
    let nonce = 5_000;
    const signer = async (index: number) => {
      while (refreshing) {
        const n = nonce++;
        try {
          views.push({ view: await cluster.client(index).sign("k1", relayTx(n)), nonce: n });
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const signing = Promise.all([signer(2), signer(5)]);
    try {
      for (let i = 0; i < 4; i++) {
        // A member still closing the previous refresh refuses the next one: asked again shortly.
        await eventually(async () => void (await cluster.client(1).refresh("k1")), 10_000);
      }
    } finally {
      refreshing = false;
      await signing;
    }
    assert.deepEqual(failures, [], "no signing request failed while the sharing changed");
    assert.ok(views.length >= 2, `signatures were requested during the refreshes (${views.length})`);
    for (const { view, nonce: n } of views) await assertSignedBy(view, address, n);
  });

  it("reshares k1 to {2,3,4,6} with t=3, keeping the address; leavers drop their share", async () => {
    await cluster.start(6);
    const before = (await cluster.client(2).getKey("k1")).key;
    await cluster.approve({ operation: "reshare", keyId: "k1", publicKey: before.publicKey!, oldParties: [1, 2, 3, 4, 5], newParties: [2, 3, 4, 6], newThreshold: 3 });
    const { key } = await cluster.client(2).reshare("k1", [2, 3, 4, 6], 3);
    assert.ok(key !== null);
    assert.equal(key.address, address);
    assert.deepEqual(key.participants, [2, 3, 4, 6]);
    for (const i of [2, 3, 4, 6]) {
      await eventually(async () => assert.equal((await cluster.client(i).getKey("k1")).key.generation, key!.generation));
      const view = (await cluster.client(i).getKey("k1")).key;
      assert.equal(view.status, "READY");
      assert.equal(view.address, address);
      assert.deepEqual(view.participants, [2, 3, 4, 6]);
    }
    // Leavers delete their shares once every new holder confirmed the new sharing.
    for (const i of [1, 5]) await eventually(() => assert.rejects(cluster.client(i).getKey("k1"), /not found/));
    const view = await cluster.client(6).sign("k1", relayTx(66));
    assert.ok(view.signers.every((s) => [2, 3, 4, 6].includes(s)));
    await assertSignedBy(view, address, 66);
  });

  it("deletes a key on a node at its own operator's request only; each operator deletes its own share", async () => {
    assert.deepEqual(await cluster.client(5).deleteKey("k2"), { deleted: true });
    await assert.rejects(cluster.client(5).getKey("k2"), /not found/);
    for (const i of [1, 2, 3, 4]) assert.equal((await cluster.client(i).getKey("k2")).key.status, "READY", `node ${i} keeps its share`);
    for (const i of [1, 2, 3, 4]) assert.deepEqual(await cluster.client(i).deleteKey("k2"), { deleted: true });
    await assert.rejects(cluster.client(1).sign("k2", relayTx(1)), /not found/);
  });

  it("restarts: keys load after the passphrase; a wrong passphrase fails clearly and changes nothing", async () => {
    await cluster.stop(3);
    const dataDir = cluster.node(3).dataDir;
    const before = await fingerprint(dataDir);
    await assert.rejects(cluster.start(3, "not the passphrase at all"), /wrong passphrase/);
    assert.equal(await fingerprint(dataDir), before, "a wrong passphrase leaves the store untouched");
    await cluster.start(3);
    const keys = (await cluster.client(3).listKeys()).keys;
    assert.deepEqual(keys.map((k) => [k.keyId, k.status]).sort(), [
      ["k1", "READY"],
      ["k3", "READY"],
    ]);
    await assertSignedBy(await cluster.client(3).sign("k1", relayTx(33)), address, 33);
  });

  it("never writes a share unencrypted to disk or logs", async () => {
    for (const index of [1, 2, 3, 4, 5, 6]) await cluster.stop(index);
    let checked = 0;
    for (const index of [2, 3, 4, 6]) {
      const node = cluster.node(index);
      const store = await KeyStore.open(join(node.dataDir, "keystore"), cluster.passphrase, { N: 2 ** 14, r: 8, p: 1 });
      const encoded = await store.readShare("k1");
      await store.close();
      const secret = decodeKeyShare(encoded).secretShare.toString(16).padStart(64, "0");
      const needles = [
        Buffer.from(encoded.subarray(0, 64)),
        Buffer.from(encoded.subarray(encoded.length - 64)),
        Buffer.from(secret, "hex"),
        Buffer.from(secret),
        Buffer.from(Buffer.from(secret, "hex").toString("base64").slice(0, 40)),
        Buffer.from(Buffer.from(encoded).toString("base64").slice(8, 72)),
        Buffer.from(Buffer.from(encoded).toString("hex").slice(0, 96)),
      ];
      for (const file of [...(await filesUnder(node.dataDir)), node.logPath]) {
        if ((await stat(file)).size === 0) continue;
        const content = await readFile(file);
        for (const needle of needles) assert.equal(content.indexOf(needle), -1, `share material found in ${file}`);
        checked += 1;
      }
    }
    assert.ok(checked >= 8, "scanned the LevelDB files and logs");
  });
});
