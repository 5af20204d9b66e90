/**
 * OT layer: bit helpers, the prefixed SHA-256, VSOT base OT (through the
 * pairwise setup state machine) and the KOS extension, honest and malicious.
 */
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mulBase, pointToUncompressed } from "../../packages/mpc/src/curve.ts";
import { createMulSetup, MulSetupError, OtExtensionCheckError, type AliceSetup, type BobSetup } from "../../packages/mpc/src/multiply.ts";
import { ChiTables, columnCombination, getBit, gfMul, transposeColumns, words } from "../../packages/mpc/src/ot/bits.ts";
import { NONCE_BYTES, OTE_BATCH, OTE_MESSAGE_BYTES, oteReceive, oteSend, receiverPads } from "../../packages/mpc/src/ot/extension.ts";
import { KeyedBlake3 } from "../../packages/mpc/src/ot/blake3-keyed.ts";
import { blake3 } from "@noble/hashes/blake3.js";
import { flipByte, labelHash, shakeRng } from "./harness.ts";

const TAG = 16;

/** Packs 0/1 values into bytes, LSB-first. */
function packBits(bits: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  for (let j = 0; j < bits.length; j++) out[j >> 3]! |= (bits[j]! & 1) << (j & 7);
  return out;
}
type Tamper = (flow: number, bytes: Uint8Array) => Uint8Array;

/** Runs the 5-flow setup; `tamper` may rewrite any flow in transit. Returns the error thrown, if any. */
function runSetup(sid: Uint8Array, seed: string, tamper?: Tamper, bobSid = sid) {
  const rng = shakeRng(seed);
  const alice = createMulSetup("alice", sid, rng);
  const bob = createMulSetup("bob", bobSid, rng);
  assert.equal(alice.start(), null);
  let flow: Uint8Array | null = bob.start();
  let n = 1;
  let receiver = alice;
  let error: unknown = null;
  try {
    while (flow) {
      const delivered = tamper ? tamper(n, flow) : flow;
      flow = receiver.receive(delivered);
      receiver = receiver === alice ? bob : alice;
      n++;
    }
  } catch (e) {
    error = e;
  }
  return { alice, bob, error, failedAtFlow: n, aliceFailed: error !== null && receiver === alice };
}

describe("OT bit helpers", () => {
  it("transposes a bit matrix like the naive definition", () => {
    const rng = shakeRng("transpose");
    const rows = 64;
    const rowWords = 3;
    const m = words(rng(rows * rowWords * 4).slice());
    const t = transposeColumns(m, rows, rowWords, 2);
    const mBytes = new Uint8Array(m.buffer);
    const tBytes = new Uint8Array(t.buffer);
    for (let j = 0; j < 64; j++) {
      for (let i = 0; i < rows; i++) {
        assert.equal(getBit(tBytes.subarray((j * rows) / 8), i), getBit(mBytes.subarray(i * rowWords * 4), j));
      }
    }
  });

  it("multiplies in GF(2^256): identity, commutativity, distributivity, reduction", () => {
    const rng = shakeRng("gf");
    const a = words(rng(32).slice());
    const b = words(rng(32).slice());
    const c = words(rng(32).slice());
    const one = new Uint32Array(8);
    one[0] = 1;
    assert.deepEqual(gfMul(a, one), a);
    assert.deepEqual(gfMul(a, b), gfMul(b, a));
    const bc = b.map((w, i) => w ^ c[i]!);
    const lhs = gfMul(a, bc);
    const rhs = gfMul(a, b).map((w, i) => w ^ gfMul(a, c)[i]!);
    assert.deepEqual(lhs, rhs);
    // X^255 * X = X^256 = X^10 + X^5 + X^2 + 1
    const x255 = new Uint32Array(8);
    x255[7] = 0x80000000;
    const x1 = new Uint32Array(8);
    x1[0] = 2;
    const expected = new Uint32Array(8);
    expected[0] = 0x425;
    assert.deepEqual(gfMul(x255, x1), expected);
  });

  it("computes the KOS combination sum chi_j * col_j like the naive sum", () => {
    const rng = shakeRng("combination");
    const rows = 256;
    const cols = 64;
    const chi = words(rng(cols * 32).slice());
    const matrix = rng(rows * (cols / 8)).slice();
    const fast = columnCombination(new ChiTables(chi, cols), matrix, rows);
    const naive = new Uint32Array(8);
    for (let j = 0; j < cols; j++) {
      const col = packBits(Array.from({ length: rows }, (_, i) => getBit(matrix.subarray(i * (cols / 8)), j)));
      const prod = gfMul(chi.subarray(j * 8, j * 8 + 8), words(col));
      for (let w = 0; w < 8; w++) naive[w]! ^= prod[w]!;
    }
    assert.deepEqual(fast, naive);
  });

  it("keyed BLAKE3 equals @noble/hashes blake3 with the derived key, for 32 to 128 output bytes", () => {
    const rng = shakeRng("blake3");
    const context = rng(32);
    const value = rng(64);
    const h = new KeyedBlake3("test/domain", context);
    const key = new Uint8Array(createHash("sha256").update("mpc-relay/v1/ot/test/domain").update(context).digest());
    const message = new Uint8Array(36);
    message.set([0xde, 0xad, 0xbe, 0xef]);
    message.set(value.subarray(32), 4);
    for (const length of [32, 96, 128]) {
      const out = new Uint8Array(length + 8);
      h.hash(0xdeadbeef, value, 32, out, 8, length);
      assert.deepEqual(out.subarray(8), blake3(message, { key, dkLen: length }));
    }
  });
});

describe("base OT (VSOT) through the pairwise setup", () => {
  let honest: ReturnType<typeof runSetup>;
  before(() => {
    honest = runSetup(labelHash("base-ot"), "honest");
  });

  it("delivers seed k_{delta_i} to alice for every OT and both seeds to bob", () => {
    assert.equal(honest.error, null);
    assert.ok(honest.alice.done && honest.bob.done);
    const a = honest.alice.result() as AliceSetup;
    const b = honest.bob.result() as BobSetup;
    let ones = 0;
    for (let i = 0; i < 256; i++) {
      const bit = getBit(a.delta, i);
      ones += bit;
      const mine = a.seeds.subarray(i * 32, i * 32 + 32);
      const chosen = (bit ? b.seeds1 : b.seeds0).subarray(i * 32, i * 32 + 32);
      const other = (bit ? b.seeds0 : b.seeds1).subarray(i * 32, i * 32 + 32);
      assert.deepEqual(mine, chosen);
      assert.notDeepEqual(mine, other);
    }
    assert.ok(ones > 90 && ones < 166, "choice bits look random");
  });

  it("rejects a tampered Schnorr proof (commitment or response)", () => {
    for (const index of [TAG + 33 + 5, TAG + 66 + 31]) {
      const r = runSetup(labelHash("base-ot"), "proof", (n, f) => (n === 1 ? flipByte(f, index) : f));
      assert.ok(r.error instanceof MulSetupError, String(r.error));
      assert.equal(r.failedAtFlow, 1);
    }
  });

  it("rejects invalid sender points: off-curve, identity encoding, wrong length", () => {
    const offCurve = (f: Uint8Array) => {
      const out = f.slice();
      out.set(new Uint8Array(33).fill(0xff), TAG); // x >= p: not a curve point
      return out;
    };
    const zero = (f: Uint8Array) => {
      const out = f.slice();
      out.set(new Uint8Array(33), TAG); // no encoding of the identity is accepted
      return out;
    };
    const uncompressed = (f: Uint8Array) => {
      const B = f.subarray(TAG, TAG + 33);
      const out = new Uint8Array(f.length + 32);
      out.set(f.subarray(0, TAG));
      out.set(pointToUncompressed(B as never), TAG);
      out.set(f.subarray(TAG + 33), TAG + 65);
      return out;
    };
    for (const mutate of [offCurve, zero, uncompressed]) {
      const r = runSetup(labelHash("base-ot"), "points", (n, f) => (n === 1 ? mutate(f) : f));
      assert.ok(r.error instanceof MulSetupError, String(r.error));
      assert.equal(r.failedAtFlow, 1);
    }
  });

  it("rejects invalid receiver points and a point equal to B", () => {
    const r1 = runSetup(labelHash("base-ot"), "apoints", (n, f) => (n === 2 ? flipByte(f, TAG + 33 * 7 + 10) : f));
    // flipping a byte of x usually leaves the curve; if not, the keys no longer match and flow 4 fails
    assert.ok(r1.error instanceof MulSetupError, String(r1.error));
    assert.ok(r1.failedAtFlow === 2 || r1.failedAtFlow === 4);
    const r2 = runSetup(labelHash("base-ot"), "apoints-bad", (n, f) => {
      if (n !== 2) return f;
      const out = f.slice();
      out[TAG + 33 * 3] = 0x05; // invalid prefix byte
      return out;
    });
    assert.ok(r2.error instanceof MulSetupError);
    assert.equal(r2.failedAtFlow, 2);
    let B: Uint8Array | null = null;
    const r3 = runSetup(labelHash("base-ot"), "apoints-B", (n, f) => {
      if (n === 1) B = f.slice(TAG, TAG + 33);
      if (n !== 2) return f;
      const out = f.slice();
      out.set(B!, TAG);
      return out;
    });
    assert.ok(r3.error instanceof MulSetupError);
    assert.match(String(r3.error), /equals the sender's point/);
  });

  it("a receiver point swapped for another valid point fails bob's response check", () => {
    const r = runSetup(labelHash("base-ot"), "swap", (n, f) => {
      if (n !== 2) return f;
      const out = f.slice();
      out.set(mulBase(12345n), TAG + 33 * 9);
      return out;
    });
    assert.ok(r.error instanceof MulSetupError);
    assert.equal(r.failedAtFlow, 4);
    assert.match(String(r.error), /verification response/);
  });

  it("a tampered challenge is caught by one side whatever alice's choice bit", () => {
    const a = honest.alice.result() as AliceSetup;
    const zeroBit = [...Array(256).keys()].find((i) => getBit(a.delta, i) === 0)!;
    const oneBit = [...Array(256).keys()].find((i) => getBit(a.delta, i) === 1)!;
    // same seed as the honest run, so alice's choice bits are the same
    const withOne = runSetup(labelHash("base-ot"), "honest", (n, f) => (n === 3 ? flipByte(f, TAG + 32 * oneBit) : f));
    assert.ok(withOne.error instanceof MulSetupError);
    assert.equal(withOne.failedAtFlow, 4); // bob sees a wrong response
    const withZero = runSetup(labelHash("base-ot"), "honest", (n, f) => (n === 3 ? flipByte(f, TAG + 32 * zeroBit) : f));
    assert.ok(withZero.error instanceof MulSetupError);
    assert.equal(withZero.failedAtFlow, 5); // alice sees openings that don't match the challenge
  });

  it("rejects tampered responses and tampered openings", () => {
    const resp = runSetup(labelHash("base-ot"), "resp", (n, f) => (n === 4 ? flipByte(f, TAG + 32 * 100 + 3) : f));
    assert.ok(resp.error instanceof MulSetupError);
    assert.equal(resp.failedAtFlow, 4);
    for (const offset of [0, 32]) {
      const open = runSetup(labelHash("base-ot"), "open", (n, f) => (n === 5 ? flipByte(f, TAG + 64 * 200 + offset) : f));
      assert.ok(open.error instanceof MulSetupError);
      assert.equal(open.failedAtFlow, 5);
      assert.ok(!open.alice.done);
    }
  });

  it("rejects truncated and oversized flows with a clear error", () => {
    for (const flowNo of [1, 2, 3, 4, 5]) {
      const short = runSetup(labelHash("base-ot"), "len", (n, f) => (n === flowNo ? f.subarray(0, f.length - 1) : f));
      assert.ok(short.error instanceof MulSetupError);
      assert.match(String(short.error), /expected \d+ bytes/);
      const long = runSetup(labelHash("base-ot"), "len", (n, f) => {
        if (n !== flowNo) return f;
        const out = new Uint8Array(f.length + 1);
        out.set(f);
        return out;
      });
      assert.ok(long.error instanceof MulSetupError);
    }
    const empty = runSetup(labelHash("base-ot"), "len", (n, f) => (n === 1 ? new Uint8Array(0) : f));
    assert.match(String(empty.error), /too short/);
  });

  it("rejects flows of another session or pair, even re-tagged", () => {
    const other = runSetup(labelHash("other-pair"), "other");
    assert.equal(other.error, null);
    // bob runs under another sid: the very first flow is rejected by its tag
    const mixed = runSetup(labelHash("base-ot"), "mixed", undefined, labelHash("other-pair"));
    assert.ok(mixed.error instanceof MulSetupError);
    assert.match(String(mixed.error), /another session/);
    // an attacker re-tags another session's flow 1: the proof is bound to the sid and fails
    const otherRng = shakeRng("other");
    const otherBob = createMulSetup("bob", labelHash("other-pair"), otherRng);
    const foreign = otherBob.start()!;
    const replay = runSetup(labelHash("base-ot"), "replay", (n, f) => {
      if (n !== 1) return f;
      const out = f.slice();
      out.set(foreign.subarray(TAG), TAG);
      return out;
    });
    assert.ok(replay.error instanceof MulSetupError);
    assert.match(String(replay.error), /proof of knowledge/);
  });

  it("a setup party is dead after a failed check and refuses flows out of order", () => {
    const r = runSetup(labelHash("base-ot"), "dead", (n, f) => (n === 1 ? flipByte(f, TAG + 70) : f));
    assert.ok(r.error instanceof MulSetupError);
    assert.throws(() => r.alice.receive(new Uint8Array(100)), /already aborted/);
    const bob = createMulSetup("bob", labelHash("x"), shakeRng("order"));
    assert.throws(() => bob.receive(new Uint8Array(100)), /unexpected flow/);
    assert.throws(() => bob.result(), /not finished/);
    assert.throws(() => createMulSetup("alice", new Uint8Array(31), shakeRng("x")), /32 bytes/);
  });
});

describe("KOS OT extension", () => {
  let a: AliceSetup;
  let b: BobSetup;
  before(() => {
    const r = runSetup(labelHash("ote"), "ote");
    assert.equal(r.error, null);
    a = r.alice.result() as AliceSetup;
    b = r.bob.result() as BobSetup;
  });
  const ctx = labelHash("ote-context");

  it("receiver pads equal the sender pad selected by each choice bit", () => {
    const rng = shakeRng("ote-honest");
    const choices = rng(OTE_BATCH / 8);
    const r = oteReceive(b.seeds0, b.seeds1, ctx, choices, rng);
    assert.equal(r.message.length, OTE_MESSAGE_BYTES);
    const nonce = rng(NONCE_BYTES);
    const s = oteSend(a.seeds, a.delta, ctx, r.message, nonce, 3);
    const pads = receiverPads(r.columns, ctx, nonce, 3);
    for (let j = 0; j < OTE_BATCH; j++) {
      const bit = getBit(choices, j);
      for (let k = 0; k < 3; k++) {
        const n = j * 3 + k;
        assert.equal(pads[n], bit ? s.pads1[n] : s.pads0[n]);
        assert.notEqual(pads[n], bit ? s.pads0[n] : s.pads1[n]);
      }
    }
    // another sender nonce gives unrelated pads (answering twice never repeats pads)
    const again = oteSend(a.seeds, a.delta, ctx, r.message, rng(NONCE_BYTES), 3);
    assert.notEqual(again.pads0[0], s.pads0[0]);
    assert.notEqual(again.pads1[0], s.pads1[0]);
  });

  it("fails the consistency check on a tampered nonce, matrix row, check value or context", () => {
    const rng = shakeRng("ote-bad");
    const choices = rng(OTE_BATCH / 8);
    const r = oteReceive(b.seeds0, b.seeds1, ctx, choices, rng);
    const nonce = rng(NONCE_BYTES);
    const rowBytes = (OTE_MESSAGE_BYTES - NONCE_BYTES - 64) / 256;
    const row = (i: number) => NONCE_BYTES + i * rowBytes;
    // a flipped bit in one row is an inconsistent choice bit in that row (the selective-failure attack)
    for (const index of [3, row(17) + 5, row(255) + rowBytes - 1, OTE_MESSAGE_BYTES - 64, OTE_MESSAGE_BYTES - 1]) {
      assert.throws(() => oteSend(a.seeds, a.delta, ctx, flipByte(r.message, index), nonce, 3), OtExtensionCheckError);
    }
    assert.throws(() => oteSend(a.seeds, a.delta, labelHash("another-use"), r.message, nonce, 3), /consistency check/);
    assert.throws(() => oteSend(a.seeds, a.delta, ctx, r.message.subarray(1), nonce, 3), /must be \d+ bytes/);
  });
});
