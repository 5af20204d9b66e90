import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addScalars, G, mul, mulBase, pointsEqual, randomScalar, sum } from "../../packages/mpc/src/curve.ts";
import { DecodeError, Reader, Writer } from "../../packages/mpc/src/encoding.ts";
import { proveKnowledge, verifyKnowledge } from "../../packages/mpc/src/schnorr.ts";
import { checkThreshold, evaluateCommitments, evaluatePolynomial, InvalidPartiesError, lagrangeAtZero, normalizeParties, randomPolynomial, verifyShare } from "../../packages/mpc/src/vss.ts";
import { deriveZeroShare } from "../../packages/mpc/src/zero-shares.ts";
import { seededRng, subsets } from "./harness.ts";

const rng = seededRng("primitives");

describe("Feldman VSS", () => {
  const t = 3;
  const secret = randomScalar(rng);
  const poly = randomPolynomial(secret, t, rng);
  const commitments = poly.map((c) => mulBase(c));

  it("shares verify against the commitments; wrong shares or indices do not", () => {
    for (const x of [1, 2, 7]) {
      const share = evaluatePolynomial(poly, x);
      assert.ok(verifyShare(commitments, x, share));
      assert.ok(!verifyShare(commitments, x, addScalars(share, 1n)));
      assert.ok(!verifyShare(commitments, x + 1, share));
    }
    assert.ok(!verifyShare(commitments, 1, 0n), "zero share is refused");
  });

  it("any t shares interpolate the committed constant in the exponent; t-1 do not", () => {
    const parties = [1, 2, 3, 4, 5];
    const publicShares = new Map(parties.map((x) => [x, evaluateCommitments(commitments, x)]));
    for (const set of subsets(parties, t)) {
      const combined = sum(set.map((j) => mul(publicShares.get(j)!, lagrangeAtZero(j, set))));
      assert.ok(pointsEqual(combined, commitments[0]!));
    }
    for (const set of subsets(parties, t - 1)) {
      const combined = sum(set.map((j) => mul(publicShares.get(j)!, lagrangeAtZero(j, set))));
      assert.ok(!pointsEqual(combined, commitments[0]!));
    }
  });

  it("party sets and thresholds are validated", () => {
    assert.deepEqual(normalizeParties([3, 1, 2]), [1, 2, 3]);
    assert.throws(() => normalizeParties([1, 1]), InvalidPartiesError);
    assert.throws(() => normalizeParties([0, 1]), InvalidPartiesError);
    assert.throws(() => normalizeParties([1.5]), InvalidPartiesError);
    assert.throws(() => normalizeParties([]), InvalidPartiesError);
    assert.throws(() => normalizeParties([70000]), InvalidPartiesError);
    assert.throws(() => checkThreshold(4, 3), /exceeds/);
    assert.throws(() => checkThreshold(0, 3), />= 2/);
    // t = 1 makes every share the private key: refused everywhere (one rule, MIN_THRESHOLD).
    assert.throws(() => checkThreshold(1, 3), />= 2/);
    assert.throws(() => lagrangeAtZero(4, [1, 2, 3]), InvalidPartiesError);
  });
});

describe("Schnorr proof of knowledge", () => {
  const secret = randomScalar(rng);
  const statement = mulBase(secret);
  const context = new TextEncoder().encode("context-A");

  it("verifies in its context only", () => {
    const proof = proveKnowledge(secret, statement, context, rng);
    assert.ok(verifyKnowledge(proof, statement, context));
    assert.ok(!verifyKnowledge(proof, statement, new TextEncoder().encode("context-B")));
    assert.ok(!verifyKnowledge(proof, G, context));
    assert.ok(!verifyKnowledge({ ...proof, response: addScalars(proof.response, 1n) }, statement, context));
    assert.ok(!verifyKnowledge({ ...proof, commitment: G }, statement, context));
  });
});

describe("zero sharing", () => {
  it("the zeta values of any signer set sum to zero and differ per session", () => {
    const parties = [1, 2, 3, 4];
    const seeds = new Map<string, Uint8Array>();
    const seedOf = (a: number, b: number) => {
      const key = `${Math.min(a, b)}-${Math.max(a, b)}`;
      if (!seeds.has(key)) seeds.set(key, rng(32));
      return seeds.get(key)!;
    };
    const seedMap = (self: number) => new Map(parties.filter((p) => p !== self).map((p) => [p, seedOf(self, p)]));
    for (const signers of [[1, 2], [1, 3, 4], parties]) {
      const session = rng(32);
      const zetas = signers.map((i) => deriveZeroShare(i, signers, seedMap(i), session));
      assert.equal(zetas.reduce(addScalars, 0n), 0n);
      assert.ok(zetas.every((z) => z !== 0n));
      const otherSession = signers.map((i) => deriveZeroShare(i, signers, seedMap(i), rng(32)));
      assert.notEqual(otherSession[0], zetas[0]);
    }
  });
});

describe("encoding", () => {
  it("rejects truncation, trailing bytes, off-curve points and unreduced scalars", () => {
    const bytes = new Writer().u32(7).point(G).scalar(5n).finish();
    const r = new Reader(bytes, "test");
    assert.equal(r.u32(), 7);
    assert.ok(pointsEqual(r.point(), G));
    assert.equal(r.scalar(), 5n);
    r.end();
    assert.throws(() => new Reader(bytes.subarray(0, 10), "test").raw(20), DecodeError);
    const trailing = new Reader(new Uint8Array([0, 0, 0, 1, 9]), "test");
    trailing.u32();
    assert.throws(() => trailing.end(), /trailing/);
    const offCurve = Uint8Array.from(G);
    offCurve[1] = offCurve[1]! ^ 0xff;
    offCurve[32] = 0x07;
    assert.throws(() => new Reader(offCurve, "test").point(), DecodeError);
    assert.throws(() => new Reader(new Uint8Array(32).fill(0xff), "test").scalar(), /not reduced/);
    assert.throws(() => new Reader(new Uint8Array(32), "test").scalar(), /zero/);
  });
});
