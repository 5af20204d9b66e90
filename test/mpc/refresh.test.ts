import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { G, mul, pointsEqual, sum } from "../../packages/mpc/src/curve.ts";
import { createRefresh, createReshare, type KeyShare, type ProtocolMessage, withBan } from "@mpc-relay/mpc";
import { lagrangeAtZero } from "../../packages/mpc/src/vss.ts";
import { digestOf, KEY_ID, keygenOk, run, seededRng, sessionIdFrom, sign, type Tamper } from "./harness.ts";

function refresh(shares: ReadonlyMap<number, KeyShare>, label: string, tamper?: Tamper) {
  const sessionId = sessionIdFrom(`refresh:${label}`);
  return run(new Map([...shares].map(([p, share]) => [p, createRefresh({ sessionId, keyId: KEY_ID, share, rng: seededRng(`${label}:${p}`) })])), tamper);
}

function reshare(
  oldShares: ReadonlyMap<number, KeyShare>,
  dealers: number[],
  newParties: number[],
  newThreshold: number,
  label: string,
  options: { tamper?: Tamper; withOldPublicShares?: boolean } = {},
) {
  const sessionId = sessionIdFrom(`reshare:${label}`);
  const any = [...oldShares.values()][0]!;
  const everyone = [...new Set([...dealers, ...newParties])];
  const instances = new Map(
    everyone.map((self) => [
      self,
      createReshare({
        sessionId,
        keyId: KEY_ID,
        self,
        oldShare: dealers.includes(self) ? oldShares.get(self)! : null,
        oldParties: dealers,
        newParties,
        newThreshold,
        publicKey: any.publicKey,
        ...(options.withOldPublicShares ? { oldPublicShares: any.publicShares } : {}),
        rng: seededRng(`${label}:${self}`),
      }),
    ]),
  );
  return run(instances, options.tamper);
}

function signs(shares: ReadonlyMap<number, KeyShare>, signers: number[], label: string): boolean {
  const digest = digestOf(label);
  const outcome = sign(shares, signers, digest, label);
  const sig = outcome.results.get(signers[0]!);
  if (outcome.aborts.size > 0 || sig === undefined) return false;
  return secp256k1.verify(sig.bytes.subarray(0, 64), digest, shares.get(signers[0]!)!.publicKey, { prehash: false });
}

describe("refresh", () => {
  let shares: Map<number, KeyShare>;
  before(() => {
    shares = keygenOk([1, 2, 3], 2, "refresh-base");
  });

  it("keeps the key and address, changes every share, clears bans, and still signs", () => {
    const banned = new Map([...shares].map(([p, s]) => [p, p === 1 ? withBan(s, 2) : s]));
    const outcome = refresh(banned, "ok");
    assert.equal(outcome.aborts.size, 0);
    const fresh = outcome.results;
    for (const [p, s] of fresh) {
      const old = shares.get(p)!;
      assert.ok(pointsEqual(s.publicKey, old.publicKey));
      assert.equal(s.address, old.address);
      assert.notEqual(s.secretShare, old.secretShare);
      assert.deepEqual(s.banned, []);
      assert.notDeepEqual(s.epoch, old.epoch);
      assert.notDeepEqual(s.zeroSeeds.get(p === 1 ? 2 : 1), old.zeroSeeds.get(p === 1 ? 2 : 1));
    }
    assert.ok(signs(fresh, [1, 2], "refreshed-12"));
    assert.ok(signs(fresh, [2, 3], "refreshed-23"));
  });

  it("old and new shares can't be combined", () => {
    const fresh = refresh(shares, "mix").results;
    const mixed = new Map([
      [1, shares.get(1)!],
      [2, fresh.get(2)!],
    ]);
    assert.ok(!signs(mixed, [1, 2], "mixed"));
    // Even ignoring the epoch check, the Shamir shares no longer interpolate the key.
    const set = [1, 2];
    const X = sum([mul(shares.get(1)!.publicShares.get(1)!, lagrangeAtZero(1, set)), mul(fresh.get(2)!.publicShares.get(2)!, lagrangeAtZero(2, set))]);
    assert.ok(!pointsEqual(X, shares.get(1)!.publicKey));
  });

  it("a dealer whose zero-sharing is inconsistent is named", () => {
    // Round-2 direct from 2 to 1: flags byte, then the share delta.
    const outcome = refresh(shares, "bad-delta", (m: ProtocolMessage, r) =>
      m.from === 2 && m.round === 2 && m.to === 1 && r === 1 ? [{ ...m, payload: Uint8Array.from(m.payload, (b, i) => (i === 32 ? b ^ 1 : b)) }] : [m],
    );
    assert.equal(outcome.aborts.get(1)?.culprit, 2);
    assert.ok(!outcome.results.has(1));
  });
});

describe("reshare", () => {
  let shares: Map<number, KeyShare>;
  before(() => {
    shares = keygenOk([1, 2, 3], 2, "reshare-base");
  });

  it("(2,3) -> (3,5) with new indices keeps the address; leavers get null", () => {
    const newParties = [2, 4, 5, 6, 7];
    const outcome = reshare(shares, [1, 2], newParties, 3, "grow", { withOldPublicShares: true });
    assert.equal(outcome.aborts.size, 0, [...outcome.aborts.values()].map((a) => a.message).join("; "));
    assert.equal(outcome.results.get(1), null, "old member 1 is not in the new committee");
    const fresh = new Map([...outcome.results].filter(([, s]) => s !== null) as [number, KeyShare][]);
    assert.deepEqual([...fresh.keys()].sort(), newParties);
    for (const s of fresh.values()) {
      assert.equal(s.address, shares.get(1)!.address);
      assert.equal(s.threshold, 3);
      assert.deepEqual(s.parties, newParties);
    }
    assert.ok(signs(fresh, [4, 6, 7], "grown-467"));
    assert.ok(signs(fresh, [2, 5, 7], "grown-257"));
  });

  it("(2,3) -> (2,2) without public shares for the new members", () => {
    const outcome = reshare(shares, [2, 3], [8, 9], 2, "shrink");
    assert.equal(outcome.aborts.size, 0);
    const fresh = new Map([...outcome.results].filter(([, s]) => s !== null) as [number, KeyShare][]);
    assert.ok(signs(fresh, [8, 9], "shrunk"));
  });

  it("a dealer that deals anything but lambda_i * x_i is named, or at least stopped", () => {
    // A dealer holding (or claiming) a wrong old share commits consistently to a wrong constant.
    const cheater = shares.get(2)!;
    const bad = new Map(shares).set(2, { ...cheater, secretShare: cheater.secretShare + 1n });
    const checked = reshare(bad, [1, 2], [4, 5, 6], 2, "bad-constant", { withOldPublicShares: true });
    for (const p of [1, 4, 5, 6]) {
      assert.equal(checked.aborts.get(p)?.culprit, 2, `party ${p} names the dealer`);
      assert.match(checked.aborts.get(p)!.reason, /lambda \* X/);
    }
    // New members without the old public shares still refuse a sharing of another key.
    const unchecked = reshare(bad, [1, 2], [4, 5, 6], 2, "bad-constant-2");
    assert.equal(unchecked.results.size, 0);
    assert.match(unchecked.aborts.get(4)!.reason, /changes the public key/);
  });

  it("rejects bad parameters", () => {
    const base = {
      sessionId: sessionIdFrom("reshare-params"),
      keyId: KEY_ID,
      self: 1,
      oldShare: shares.get(1)!,
      oldParties: [1, 2],
      newParties: [1, 2, 3],
      newThreshold: 2,
      publicKey: shares.get(1)!.publicKey,
    };
    assert.throws(() => createReshare({ ...base, oldParties: [1] }), /at least 2 dealers/);
    assert.throws(() => createReshare({ ...base, newThreshold: 4 }), /exceeds/);
    assert.throws(() => createReshare({ ...base, publicKey: G }), /does not match/);
    assert.throws(() => createReshare({ ...base, oldShare: null }), /needs its old share/);
    assert.throws(() => createReshare({ ...base, oldParties: [1, 9] }), /not in the old committee/);
    assert.throws(() => createReshare({ ...base, self: 5, oldShare: null }), /neither a dealer nor a new member/);
    assert.throws(() => createReshare({ ...base, publicKey: new Uint8Array(33) }), /invalid secp256k1 point/);
  });
});
