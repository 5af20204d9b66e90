/** The key store on its own: passphrase check, crash states, presignature consumption, sealing. */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KeyStore, WrongPassphraseError } from "../../relayer/node/keystore.ts";

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

  it("seals shares, reopens with the passphrase and refuses a wrong one", async () => {
    const path = join(dir, "a");
    const share = new Uint8Array(200).map((_, i) => (i * 7 + 3) & 0xff);
    let store = await KeyStore.open(path, PASS, KDF);
    await store.putPending({ keyId: "k", sessionId: "s1", threshold: 2, participants: [1, 2, 3] });
    assert.equal((await store.getKey("k"))?.status, "PENDING");
    await assert.rejects(store.readShare("k"), /not READY/);
    await store.putReady({ keyId: "k", sessionId: "s1", threshold: 2, participants: [1, 2, 3], publicKey: "02ab", address: "0x01" }, share);
    await store.close();

    await assert.rejects(KeyStore.open(path, "a wrong passphrase", KDF), WrongPassphraseError);
    store = await KeyStore.open(path, PASS, KDF);
    assert.deepEqual(await store.readShare("k"), share);
    const record = await store.getKey("k");
    assert.equal(record?.status, "READY");
    assert.equal("share" in (record as object), false, "the public record carries no sealed share");
    await store.close();

    for (const file of await readdir(path)) {
      const content = await readFile(join(path, file));
      assert.equal(content.indexOf(Buffer.from(share.subarray(0, 32))), -1, `plaintext share bytes in ${file}`);
    }
  });

  it("turns a PENDING key left by a crash into ERROR, and never downgrades a READY key", async () => {
    const store = await KeyStore.open(join(dir, "b"), PASS, KDF);
    await store.putPending({ keyId: "p", sessionId: "s1", threshold: 2, participants: [1, 2] });
    await store.putReady({ keyId: "r", sessionId: "s2", threshold: 2, participants: [1, 2], publicKey: "02", address: "0x" }, new Uint8Array(8));
    assert.deepEqual(await store.failInterruptedKeys(), ["p"]);
    assert.equal((await store.getKey("p"))?.status, "ERROR");
    await store.markError("r", "s2", "late failure");
    assert.equal((await store.getKey("r"))?.status, "READY");
    await store.close();
  });

  it("uses a presignature once, only with its signer set, and drops it when the share changes", async () => {
    const store = await KeyStore.open(join(dir, "c"), PASS, KDF);
    const presig = new Uint8Array(64).fill(9);
    await store.putReady({ keyId: "k", sessionId: "s", threshold: 2, participants: [1, 2, 3], publicKey: "02", address: "0x" }, new Uint8Array(8));
    await store.putPresign({ keyId: "k", presignId: "aa", owner: 1, signers: [1, 2] }, presig);
    await assert.rejects(store.consumePresign("k", "aa", [1, 3]), /another signer set/);
    assert.deepEqual(await store.consumePresign("k", "aa", [2, 1]), presig);
    assert.equal((await store.listPresigns("k"))[0]?.consumed, true, "marked consumed on disk");
    await assert.rejects(store.consumePresign("k", "aa", [1, 2]), /already consumed/);

    await store.putPresign({ keyId: "k", presignId: "bb", owner: 1, signers: [1, 2] }, presig);
    await store.putReady({ keyId: "k", sessionId: "s2", threshold: 2, participants: [1, 2, 3], publicKey: "02", address: "0x" }, new Uint8Array(8));
    assert.deepEqual(await store.listPresigns("k"), [], "a new share voids the old presignatures");
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
