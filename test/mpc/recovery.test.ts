/** Share recovery (packages/mpc/src/recovery.ts): masked Lagrange contributions checked against the public shares. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addScalars, mulBase, randomScalar, type Point } from "../../packages/mpc/src/curve.ts";
import { Reader, Writer } from "../../packages/mpc/src/encoding.ts";
import { createRecovery, publicShareAt, RecoveryMaskMismatch } from "../../packages/mpc/src/recovery.ts";
import { ProtocolAbort, type PartyIndex, type ProtocolMessage } from "../../packages/mpc/src/types.ts";
import { evaluatePolynomial, randomPolynomial } from "../../packages/mpc/src/vss.ts";
import { createRefresh, sharingDigest, type KeyShare } from "../../packages/mpc/src/index.ts";
import { createShareRecovery, decodeRecoveredShare, encodeRecoveredShare, withMembers } from "../../packages/mpc/src/recovery.ts";
import { digestOf, KEY_ID, keygenOk, run, seededRng, sessionIdFrom, sign, type Tamper } from "./harness.ts";

const T = 3;
const COMMITTEE = [1, 2, 3, 4, 5];
const TARGET = 4;
const HELPERS = [1, 2, 5];

function sharing(seed: string): { shares: Map<PartyIndex, bigint>; publicShares: Map<PartyIndex, Point> } {
  const f = randomPolynomial(randomScalar(seededRng(`${seed}/secret`)), T, seededRng(seed));
  const shares = new Map(COMMITTEE.map((p) => [p, evaluatePolynomial(f, p)] as const));
  return { shares, publicShares: new Map([...shares].map(([p, x]) => [p, mulBase(x)] as const)) };
}

/** The holders' public shares as the target accepts them (the node checks the certified sharing digest). */
const certified = (s: ReturnType<typeof sharing>) => (shares: ReadonlyMap<PartyIndex, Point>) =>
  [...s.publicShares].filter(([p]) => p !== TARGET).every(([p, X]) => shares.has(p) && Buffer.from(shares.get(p)!).equals(Buffer.from(X))) && !shares.has(TARGET);

function recover(s: ReturnType<typeof sharing>, label: string, tamper?: Tamper) {
  const holders = new Map([...s.publicShares].filter(([p]) => p !== TARGET));
  const instances = new Map(
    [...HELPERS, TARGET].map((self) => [
      self,
      createRecovery({
        sessionId: sessionIdFrom(label),
        keyId: "k",
        self,
        target: TARGET,
        helpers: HELPERS,
        threshold: T,
        holder: self === TARGET ? null : { secret: s.shares.get(self)!, publicShares: holders },
        acceptPublicShares: self === TARGET ? certified(s) : null,
      }),
    ]),
  );
  return run(instances, tamper);
}

/** The round-2 contributions the target received (first 32 bytes of each). */
function contributions(s: ReturnType<typeof sharing>, label: string): Map<PartyIndex, bigint> {
  const seen = new Map<PartyIndex, bigint>();
  recover(s, label, (message) => {
    if (message.round === 2 && message.to === TARGET) seen.set(message.from, new Reader(message.payload.subarray(0, 32), "c").scalar(true));
    return [message];
  });
  return seen;
}

/** Replaces helper `from`'s contribution to the target by c + 1, keeping its mask claims. */
const shiftContribution =
  (from: PartyIndex): Tamper =>
  (message: ProtocolMessage) => {
    if (message.round !== 2 || message.from !== from || message.to !== TARGET) return [message];
    const payload = Uint8Array.from(message.payload);
    const c = new Reader(payload.subarray(0, 32), "c").scalar(true);
    payload.set(new Writer().scalar(addScalars(c, 1n)).finish(), 0);
    return [{ ...message, payload }];
  };

describe("share recovery", () => {
  it("gives the target exactly its share of the current sharing, and the helpers nothing", () => {
    const s = sharing("correct");
    const outcome = recover(s, "correct");
    assert.equal(outcome.aborts.size, 0, [...outcome.aborts.values()].map(String).join("; "));
    assert.equal(outcome.results.get(TARGET)?.secret, s.shares.get(TARGET));
    for (const h of HELPERS) assert.equal(outcome.results.get(h), null);
    // The target's public share is fixed by the other holders' public shares (what a refresh's commitments define).
    const others = new Map([...s.publicShares].filter(([p]) => p !== TARGET));
    assert.deepEqual(publicShareAt(others, T, TARGET), s.publicShares.get(TARGET));
  });

  it("masks every contribution afresh: the same inputs give other contributions each run, with the same sum", () => {
    const s = sharing("masks");
    const a = contributions(s, "run-a");
    const b = contributions(s, "run-b");
    for (const h of HELPERS) assert.notEqual(a.get(h), b.get(h), `helper ${h}'s contribution is masked`);
    const total = (m: Map<PartyIndex, bigint>) => [...m.values()].reduce(addScalars, 0n);
    assert.equal(total(a), s.shares.get(TARGET));
    assert.equal(total(b), s.shares.get(TARGET));
  });

  it("names a helper whose contribution is wrong, and the target keeps nothing", () => {
    const s = sharing("liar");
    const outcome = recover(s, "liar", shiftContribution(2));
    const abort = outcome.aborts.get(TARGET);
    assert.ok(abort instanceof ProtocolAbort);
    assert.equal(abort.culprit, 2);
    assert.equal(outcome.results.has(TARGET), false);
  });

  it("names both helpers when one covers a wrong contribution with a made-up mask", () => {
    const s = sharing("cover");
    // Helper 1 adds 1 to the mask it sends helper 2: its own claims stay consistent, helper 2's claims of what it got do not match.
    const outcome = recover(s, "cover", (message) => {
      if (message.round !== 1 || message.from !== 1 || message.to !== 2) return [message];
      const m = new Reader(message.payload, "m").scalar();
      return [{ ...message, payload: new Writer().scalar(addScalars(m, 1n)).finish() }];
    });
    const abort = outcome.aborts.get(TARGET);
    assert.ok(abort instanceof RecoveryMaskMismatch, String(abort));
    assert.deepEqual([abort.sender, abort.receiver], [1, 2]);
  });

  it("names a helper that sends public shares other than the certified sharing's", () => {
    const s = sharing("public");
    const outcome = recover(s, "public", (message) => {
      if (message.round !== 1 || message.from !== 5 || message.to !== TARGET) return [message];
      const payload = Uint8Array.from(message.payload);
      payload.set(mulBase(123n), payload.length - 33);
      return [{ ...message, payload }];
    });
    assert.equal(outcome.aborts.get(TARGET)?.culprit, 5);
    assert.equal(outcome.results.has(TARGET), false);
  });

  it("refuses role mix-ups: the target among the helpers, a helper without its share, a bystander", () => {
    const s = sharing("roles");
    const base = { sessionId: sessionIdFrom("roles"), keyId: "k", target: TARGET, threshold: T, acceptPublicShares: null };
    const holder = (p: PartyIndex) => ({ secret: s.shares.get(p)!, publicShares: s.publicShares });
    assert.throws(() => createRecovery({ ...base, self: 1, helpers: [1, 2, TARGET], holder: holder(1) }), /can't help recover its own share/);
    assert.throws(() => createRecovery({ ...base, self: 1, helpers: HELPERS, holder: null }), /needs its share/);
    assert.throws(() => createRecovery({ ...base, self: 3, helpers: HELPERS, holder: holder(3) }), /neither a helper nor the target/);
    assert.throws(() => createRecovery({ ...base, self: 1, helpers: [1, 2], holder: holder(1) }), /2 helpers for threshold 3/);
  });
});

describe("refresh with a member down, recovery and rejoin", () => {
  const refreshAll = (shares: ReadonlyMap<number, KeyShare>, label: string) => {
    const sessionId = sessionIdFrom(label);
    const outcome = run(new Map([...shares].map(([p, share]) => [p, createRefresh({ sessionId, keyId: KEY_ID, share, rng: seededRng(`${label}:${p}`) })])));
    assert.equal(outcome.aborts.size, 0, [...outcome.aborts.values()].map(String).join("; "));
    return outcome.results;
  };

  it("refreshes among the present members, recovers the absent one's new share, brings it back and signs with it", () => {
    const old = keygenOk([1, 2, 3, 4], 2, "down");
    // Member 4 is down: 1, 2, 3 refresh among themselves (the sharing still defines index 4).
    const present = refreshAll(new Map([1, 2, 3].map((p) => [p, withMembers(old.get(p)!, [1, 2, 3])])), "down:partial");
    const fresh = present.get(1)!;
    assert.deepEqual(fresh.parties, [1, 2, 3]);
    assert.notEqual(fresh.secretShare, old.get(1)!.secretShare);
    // Member 4 recovers from helpers 1 and 3, accepting only the public shares whose digest the holders certified.
    const certified = sharingDigest(fresh);
    const sessionId = sessionIdFrom("down:recover");
    const instances = new Map(
      [1, 3, 4].map((self) => [
        self,
        createShareRecovery({
          sessionId,
          keyId: KEY_ID,
          self,
          target: 4,
          helpers: [1, 3],
          share: self === 4 ? null : present.get(self)!,
          sharing:
            self === 4
              ? {
                  threshold: 2,
                  publicKey: fresh.publicKey,
                  epoch: fresh.epoch,
                  accept: (shares) => Buffer.from(sharingDigest({ ...fresh, publicShares: shares, parties: [...shares.keys()].sort((a, b) => a - b) })).equals(Buffer.from(certified)),
                }
              : null,
        }),
      ]),
    );
    const recovery = run(instances);
    assert.equal(recovery.aborts.size, 0, [...recovery.aborts.values()].map(String).join("; "));
    const recovered = recovery.results.get(4)!;
    assert.notEqual(recovered.secretShare, old.get(4)!.secretShare, "a share of the new sharing, not the old one");
    const stored = decodeRecoveredShare(encodeRecoveredShare(recovered));
    assert.equal(stored.secretShare, recovered.secretShare);
    assert.deepEqual(stored.parties, [1, 2, 3, 4]);
    // The rejoin: a refresh over all four, member 4 dealing from its recovered share.
    const all = new Map<number, KeyShare>([...[1, 2, 3].map((p) => [p, withMembers(present.get(p)!, [1, 2, 3, 4])] as const), [4, stored]]);
    const rejoined = refreshAll(all, "down:rejoin");
    const signature = sign(rejoined, [2, 4], digestOf("after recovery"), "down:sign");
    assert.equal(signature.aborts.size, 0);
    assert.equal(rejoined.get(4)!.address, old.get(1)!.address);
  });
});
