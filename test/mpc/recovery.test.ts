/** Share recovery (relayer/mpc/recovery.ts): masked Lagrange contributions checked against the public shares. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addScalars, mulBase, randomScalar, type Point } from "../../relayer/mpc/curve.ts";
import { Reader, Writer } from "../../relayer/mpc/encoding.ts";
import { createRecovery, publicShareAt, RecoveryMaskMismatch } from "../../relayer/mpc/recovery.ts";
import { ProtocolAbort, type PartyIndex, type ProtocolMessage } from "../../relayer/mpc/types.ts";
import { evaluatePolynomial, randomPolynomial } from "../../relayer/mpc/vss.ts";
import { run, seededRng, sessionIdFrom, type Tamper } from "./harness.ts";

const T = 3;
const COMMITTEE = [1, 2, 3, 4, 5];
const TARGET = 4;
const HELPERS = [1, 2, 5];

function sharing(seed: string): { shares: Map<PartyIndex, bigint>; publicShares: Map<PartyIndex, Point> } {
  const f = randomPolynomial(randomScalar(seededRng(`${seed}/secret`)), T, seededRng(seed));
  const shares = new Map(COMMITTEE.map((p) => [p, evaluatePolynomial(f, p)] as const));
  return { shares, publicShares: new Map([...shares].map(([p, x]) => [p, mulBase(x)] as const)) };
}

function recover(s: ReturnType<typeof sharing>, label: string, tamper?: Tamper, publicShares = s.publicShares) {
  const instances = new Map(
    [...HELPERS, TARGET].map((self) => [
      self,
      createRecovery({ sessionId: sessionIdFrom(label), keyId: "k", self, target: TARGET, helpers: HELPERS, share: self === TARGET ? null : s.shares.get(self)!, publicShares }),
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
    assert.equal(outcome.aborts.size, 0);
    assert.equal(outcome.results.get(TARGET), s.shares.get(TARGET));
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

  it("refuses a share that does not match the target's public share", () => {
    const s = sharing("public");
    const wrong = new Map(s.publicShares);
    wrong.set(TARGET, mulBase(123n));
    const outcome = recover(s, "public", undefined, wrong);
    assert.match(outcome.aborts.get(TARGET)?.message ?? "", /does not match its public share/);
  });

  it("refuses role mix-ups: the target among the helpers, a helper without its share", () => {
    const s = sharing("roles");
    const base = { sessionId: sessionIdFrom("roles"), keyId: "k", target: TARGET, publicShares: s.publicShares };
    assert.throws(() => createRecovery({ ...base, self: 1, helpers: [1, 2, TARGET], share: s.shares.get(1)! }), /can't help recover its own share/);
    assert.throws(() => createRecovery({ ...base, self: 1, helpers: HELPERS, share: null }), /needs its share/);
    assert.throws(() => createRecovery({ ...base, self: 3, helpers: HELPERS, share: s.shares.get(3)! }), /neither a helper nor the target/);
  });
});
