/** The key store on its own: passphrase check, crash states, presignature consumption, sealing. */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ClassicLevel } from "classic-level";
import { DataKeys } from "../../relayer/node/data-keys.ts";
import { KeyStore, WrongPassphraseError } from "../../relayer/node/keystore.ts";
import { unlock, type Sealed } from "../../relayer/node/sealing.ts";

const KDF = { N: 2 ** 12, r: 8, p: 1 };
const PASS = "operator passphrase 1";

describe("key store", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mpc-keystore-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const facts = (parties: number[], digest = "aa") => ({ threshold: 2, participants: parties, publicKey: "02ab", address: "0x01", digest, origin: "refresh" as const, notify: [] });
  /** A READY key: one committed generation `g` holding `share`. */
  async function ready(store: KeyStore, keyId: string, g: string, share: Uint8Array, parties = [1, 2, 3]): Promise<void> {
    await store.putPending({ keyId, sessionId: g, threshold: 2, participants: parties });
    await store.holdGeneration(keyId, g, g, facts(parties), share);
    await store.commitGeneration(keyId, g);
  }

  it("seals shares, reopens with the passphrase and refuses a wrong one", async () => {
    const path = join(dir, "a");
    const share = new Uint8Array(200).map((_, i) => (i * 7 + 3) & 0xff);
    let store = await KeyStore.open(path, PASS, KDF);
    await store.putPending({ keyId: "k", sessionId: "s1", threshold: 2, participants: [1, 2, 3] });
    assert.equal((await store.getKey("k"))?.status, "PENDING");
    await assert.rejects(store.readShare("k"), /no share READY/);
    await store.holdGeneration("k", "g1", "g1", facts([1, 2, 3]), share);
    assert.equal((await store.getKey("k"))?.status, "PENDING", "held but not committed: not READY");
    assert.deepEqual(await store.readShare("k", "g1"), share, "a held generation's share is readable by id");
    await store.commitGeneration("k", "g1");
    await store.close();

    await assert.rejects(KeyStore.open(path, "a wrong passphrase", KDF), WrongPassphraseError);
    store = await KeyStore.open(path, PASS, KDF);
    assert.deepEqual(await store.readShare("k"), share);
    const record = await store.getKey("k");
    assert.equal(record?.status, "READY");
    assert.equal(record?.generation, "g1");
    assert.equal(JSON.stringify(record).includes('"ct"'), false, "the public record carries no sealed share");
    await store.close();

    for (const file of await readdir(path)) {
      const content = await readFile(join(path, file));
      assert.equal(content.indexOf(Buffer.from(share.subarray(0, 32))), -1, `plaintext share bytes in ${file}`);
    }
  });

  /** Every file of the store (LevelDB folder, KDF file, data-key file) and the needles found in them. */
  async function findOnDisk(path: string, needles: Record<string, Buffer>): Promise<string[]> {
    const files = [...(await readdir(path)).map((f) => join(path, f)), `${path}.kdf.json`, `${path}.keys.json`];
    const found: string[] = [];
    for (const file of files) {
      const content = await readFile(file).catch(() => Buffer.alloc(0));
      for (const [name, needle] of Object.entries(needles)) if (content.indexOf(needle) !== -1) found.push(`${name} in ${file}`);
    }
    return found;
  }

  it("keeps a replaced generation's share nowhere on disk: its data key is destroyed and the store compacted", async () => {
    const path = join(dir, "fs");
    let store = await KeyStore.open(path, PASS, KDF);
    await ready(store, "k", "g1", new Uint8Array(300).fill(0x11));
    await store.close();
    // What an attacker with the passphrase would look for later: g1's ciphertext, its data key and the sealed data key.
    // Opened as the store opens it: a compressing open would rewrite the log into a table the search cannot read.
    const db = new ClassicLevel<string, string>(path, { valueEncoding: "utf8", compression: false });
    const sealedShare = JSON.parse((await db.get("share/k/g1"))!) as Sealed;
    await db.close();
    const storeKey = await unlock(`${path}.kdf.json`, PASS, KDF, false);
    const dataKey = (await DataKeys.load(`${path}.keys.json`, storeKey)).get("share/k/g1")!;
    const wrapped = (JSON.parse(await readFile(`${path}.keys.json`, "utf8")) as { keys: Record<string, Sealed> }).keys["share/k/g1"]!;
    const needles = {
      "the old share's ciphertext": Buffer.from(sealedShare.ct),
      "the old share's raw ciphertext": Buffer.from(sealedShare.ct, "base64").subarray(0, 64),
      "its data key": dataKey,
      "its data key in base64": Buffer.from(dataKey.toString("base64")),
      "its sealed data key": Buffer.from(wrapped.ct),
    };
    const inUse = await findOnDisk(path, needles);
    assert.ok(inUse.includes(`its sealed data key in ${path}.keys.json`), `the search finds the sealed data key while it is in use: ${inUse.join(", ")}`);
    assert.ok(
      inUse.some((hit) => hit.startsWith("the old share's ciphertext in ")),
      `the search finds the share's ciphertext while it is in use: ${inUse.join(", ")}`,
    );

    store = await KeyStore.open(path, PASS, KDF);
    await store.holdGeneration("k", "g2", "g2", facts([1, 2, 3]), new Uint8Array(300).fill(0x22));
    assert.deepEqual(await store.readShare("k", "g1"), new Uint8Array(300).fill(0x11), "the old generation signs until the new one commits");
    await store.commitGeneration("k", "g2");
    assert.deepEqual(await store.readShare("k"), new Uint8Array(300).fill(0x22));
    await store.close();
    assert.deepEqual(await findOnDisk(path, needles), [], "nothing of the replaced generation is left");

    store = await KeyStore.open(path, PASS, KDF);
    assert.deepEqual(await store.readShare("k"), new Uint8Array(300).fill(0x22), "the current generation still opens");
    await store.close();
  });

  it("destroys a deleted key's data keys, and at open the data keys a crash left without a share", async () => {
    const path = join(dir, "fs2");
    let store = await KeyStore.open(path, PASS, KDF);
    await ready(store, "gone", "g1", new Uint8Array(64).fill(0x33));
    await ready(store, "kept", "g1", new Uint8Array(64).fill(0x44));
    assert.equal(await store.deleteKey("gone"), true);
    await store.close();
    const storeKey = await unlock(`${path}.kdf.json`, PASS, KDF, false);
    const orphan = await DataKeys.load(`${path}.keys.json`, storeKey);
    assert.deepEqual(orphan.recordIds(), ["share/kept/g1"]);
    await orphan.create("share/kept/crashed-before-its-share"); // as if the process died right after creating it
    store = await KeyStore.open(path, PASS, KDF);
    await store.close();
    assert.deepEqual((await DataKeys.load(`${path}.keys.json`, storeKey)).recordIds(), ["share/kept/g1"]);
  });

  it("turns a PENDING key left by a crash into ERROR, keeps a held generation, and never downgrades a READY key", async () => {
    const store = await KeyStore.open(join(dir, "b"), PASS, KDF);
    await store.putPending({ keyId: "p", sessionId: "s1", threshold: 2, participants: [1, 2] });
    await store.putPending({ keyId: "h", sessionId: "s3", threshold: 2, participants: [1, 2] });
    await store.holdGeneration("h", "s3", "s3", facts([1, 2]), new Uint8Array(8));
    await ready(store, "r", "s2", new Uint8Array(8), [1, 2]);
    assert.deepEqual(await store.failInterruptedKeys(), ["p"], "only a keyGen that held nothing is interrupted");
    assert.equal((await store.getKey("p"))?.status, "ERROR");
    assert.equal((await store.getKey("h"))?.status, "PENDING", "a held generation waits for its confirmations across a restart");
    await store.markError("r", "s2", "late failure");
    assert.equal((await store.getKey("r"))?.status, "READY");
    await store.close();
  });

  it("keeps the old generation until a newer one commits, then deletes it with its presignatures", async () => {
    const store = await KeyStore.open(join(dir, "e"), PASS, KDF);
    const old = new Uint8Array(16).fill(1);
    const next = new Uint8Array(16).fill(2);
    await ready(store, "k", "g1", old);
    await store.putPresign({ keyId: "k", presignId: "p1", owner: 1, signers: [1, 2], generation: "g1" }, new Uint8Array(4));
    await store.holdGeneration("k", "g2", "g2", facts([1, 2, 3], "bb"), next);
    let record = (await store.getKey("k"))!;
    assert.equal(record.generation, "g1", "the old generation keeps signing while g2 is only held");
    assert.deepEqual(await store.readShare("k"), old);
    assert.equal((await store.listPresigns("k")).length, 1);
    assert.deepEqual(await store.commitGeneration("k", "g2"), { deleted: ["g1"], keyDeleted: false });
    record = (await store.getKey("k"))!;
    assert.equal(record.generation, "g2");
    assert.deepEqual(
      record.generations.map((g) => g.id),
      ["g2"],
    );
    assert.deepEqual(await store.readShare("k"), next);
    await assert.rejects(store.readShare("k", "g1"), /no share/);
    assert.deepEqual(await store.listPresigns("k"), [], "the old sharing's presignatures go at the switch");
    await assert.rejects(store.putPresign({ keyId: "k", presignId: "late", owner: 1, signers: [1, 2], generation: "g1" }, new Uint8Array(4)), /no longer holds/);

    // A ban lands on its own generation; one on a generation that is gone changes nothing.
    assert.equal(await store.addBan("k", "g1", 3), false);
    assert.deepEqual(await store.readShare("k"), next);
    assert.equal(await store.addBan("k", "g2", 3), true);
    assert.deepEqual((await store.getKey("k"))!.generations[0]!.banned, [3]);

    // A leaver's marker: committing it deletes the key here.
    await store.holdGeneration("k", "g3", "g3", { ...facts([4, 5]), publicKey: null, address: null, digest: null }, null);
    assert.deepEqual(await store.commitGeneration("k", "g3"), { deleted: ["g2", "g3"], keyDeleted: true });
    assert.equal(await store.getKey("k"), null);
    await store.close();
  });

  it("serializes concurrent confirmations of one generation", async () => {
    const store = await KeyStore.open(join(dir, "f"), PASS, KDF);
    await ready(store, "k", "g1", new Uint8Array(8), [1, 2, 3, 4, 5, 6, 7, 8]);
    await store.holdGeneration("k", "g2", "g2", facts([1, 2, 3, 4, 5, 6, 7, 8]), new Uint8Array(8));
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((party) => store.addConfirmation("k", "g2", party, `sig-${party}`)));
    const generation = (await store.getKey("k"))!.generations.find((g) => g.id === "g2")!;
    assert.deepEqual(Object.keys(generation.confirmations).sort(), ["1", "2", "3", "4", "5", "6", "7", "8"]);
    await store.close();
  });

  it("uses a presignature once, only with its signer set, even when two calls race", async () => {
    const store = await KeyStore.open(join(dir, "c"), PASS, KDF);
    const presig = new Uint8Array(64).fill(9);
    await ready(store, "k", "s", new Uint8Array(8));
    await store.putPresign({ keyId: "k", presignId: "aa", owner: 1, signers: [1, 2], generation: "s" }, presig);
    await assert.rejects(store.consumePresign("k", "aa", [1, 3]), /another signer set/);
    assert.deepEqual(await store.consumePresign("k", "aa", [2, 1]), presig);
    assert.equal((await store.listPresigns("k"))[0]?.consumed, true, "marked consumed on disk");
    await assert.rejects(store.consumePresign("k", "aa", [1, 2]), /already consumed/);

    await store.putPresign({ keyId: "k", presignId: "bb", owner: 1, signers: [1, 2], generation: "s" }, presig);
    const racing = await Promise.allSettled([store.consumePresign("k", "bb", [1, 2]), store.consumePresign("k", "bb", [1, 2]), store.consumePresign("k", "bb", [2, 1])]);
    assert.equal(racing.filter((r) => r.status === "fulfilled").length, 1, "exactly one concurrent call gets the presignature");
    await store.close();
  });

  it("records a session id once and forgets old ones when pruned", async () => {
    const store = await KeyStore.open(join(dir, "g"), PASS, KDF);
    assert.equal(await store.recordSessionId("ab", 1_000), true);
    assert.equal(await store.recordSessionId("ab", 2_000), false, "a second use of an id is refused");
    assert.equal(await store.recordSessionId("cd", 5_000), true);
    assert.equal(await store.pruneSessionIds(3_000), 1);
    assert.equal(await store.recordSessionId("cd", 6_000), false);
    await store.close();
  });

  it("refuses a store whose KDF file is missing instead of creating a new passphrase", async () => {
    const path = join(dir, "d");
    const store = await KeyStore.open(path, PASS, KDF);
    await store.close();
    await rm(`${path}.kdf.json`);
    await assert.rejects(KeyStore.open(path, PASS, KDF), /KDF file/);
  });
});
