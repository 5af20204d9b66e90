import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { G, mul, mulBase, pointsEqual, sum } from "../../packages/mpc/src/curve.ts";
import { createKeygen, decodeKeyShare, encodeKeyShare, InvalidParameterError, InvalidPartiesError, type KeyShare, ProtocolAbort, type ProtocolMessage } from "@mpc-relay/mpc";
import { lagrangeAtZero } from "../../packages/mpc/src/vss.ts";
import { flipByte, KEY_ID, keygen, keygenOk, run, seededRng, sessionIdFrom, subsets, type Tamper } from "./harness.ts";

/** Every party that did not abort must not have produced a key either; returns the abort of each honest party. */
function expectAbort(outcome: ReturnType<typeof keygen>, honest: number[]): ProtocolAbort[] {
  assert.equal(outcome.results.size, 0, "no party may finish a keygen that someone aborted");
  const aborts = honest.map((p) => outcome.aborts.get(p)).filter((a): a is ProtocolAbort => a !== undefined);
  assert.ok(aborts.length > 0, "at least one honest party aborts");
  return aborts;
}

function only(from: number, round: number, kind: "broadcast" | "direct", change: (m: ProtocolMessage, recipient: number) => ProtocolMessage | null): Tamper {
  return (m, recipient) => {
    if (m.from !== from || m.round !== round || (kind === "broadcast") !== (m.to === null)) return [m];
    const changed = change(m, recipient);
    return changed === null ? [m] : [changed];
  };
}

function checkSharing(shares: Map<number, KeyShare>, parties: number[], t: number): void {
  const first = shares.get(parties[0]!)!;
  for (const p of parties) {
    const s = shares.get(p)!;
    assert.equal(s.self, p);
    assert.equal(s.threshold, t);
    assert.deepEqual(s.parties, parties);
    assert.ok(pointsEqual(s.publicKey, first.publicKey));
    assert.equal(s.address, first.address);
    assert.ok(pointsEqual(mulBase(s.secretShare), s.publicShares.get(p)!), "x_i * G == X_i");
    for (const q of parties) assert.ok(pointsEqual(s.publicShares.get(q)!, first.publicShares.get(q)!));
    assert.deepEqual(s.banned, []);
    assert.equal(s.mulAlice.size, parties.length - 1);
    assert.equal(s.zeroSeeds.size, parties.length - 1);
  }
  // Pairwise seeds agree.
  for (const [a, b] of subsets(parties, 2)) {
    assert.deepEqual(shares.get(a!)!.zeroSeeds.get(b!), shares.get(b!)!.zeroSeeds.get(a!));
  }
  // Any t public shares interpolate the public key in the exponent; no t-1 do.
  const interpolate = (set: number[]) => sum(set.map((j) => mul(first.publicShares.get(j)!, lagrangeAtZero(j, set))));
  for (const set of subsets(parties, t).slice(0, 20)) assert.ok(pointsEqual(interpolate(set), first.publicKey));
  if (t > 1) for (const set of subsets(parties, t - 1).slice(0, 20)) assert.ok(!pointsEqual(interpolate(set), first.publicKey));
}

describe("keygen", () => {
  it("(2,3) and (3,5): same key everywhere, consistent shares, encodings round-trip", () => {
    for (const [t, n] of [
      [2, 3],
      [3, 5],
    ] as const) {
      const parties = Array.from({ length: n }, (_, i) => i + 1);
      const shares = keygenOk(parties, t, `ok-${t}-${n}`);
      checkSharing(shares, parties, t);
      for (const share of shares.values()) {
        const decoded = decodeKeyShare(encodeKeyShare(share));
        assert.deepEqual(encodeKeyShare(decoded), encodeKeyShare(share));
        assert.equal(decoded.secretShare, share.secretShare);
        assert.equal(decoded.address, share.address);
      }
    }
  });

  it("works with non-contiguous party indices", () => {
    const parties = [3, 17, 250];
    checkSharing(keygenOk(parties, 2, "sparse"), parties, 2);
  });

  it("rejects bad parameters with clear errors", () => {
    const base = { sessionId: sessionIdFrom("params"), keyId: KEY_ID, self: 1, parties: [1, 2, 3], threshold: 2 };
    assert.throws(() => createKeygen({ ...base, threshold: 4 }), /exceeds/);
    assert.throws(() => createKeygen({ ...base, threshold: 0 }), />= 2/);
    assert.throws(() => createKeygen({ ...base, parties: [1, 2, 2] }), InvalidPartiesError);
    assert.throws(() => createKeygen({ ...base, parties: [0, 1, 2] }), InvalidPartiesError);
    assert.throws(() => createKeygen({ ...base, self: 4 }), /not in the committee/);
    assert.throws(() => createKeygen({ ...base, sessionId: new Uint8Array(4) }), InvalidParameterError);
    assert.throws(() => createKeygen({ ...base, keyId: "" }), InvalidParameterError);
    assert.throws(() => decodeKeyShare(new Uint8Array(10)), /malformed/);
  });
});

describe("keygen against a malicious party", () => {
  const parties = [1, 2, 3];

  it("a tampered VSS share is caught and the dealer named", () => {
    // Round-2 direct payload: flags byte, then the share.
    const outcome = keygen(
      parties,
      2,
      "bad-share",
      only(2, 2, "direct", (m, r) => (r === 1 ? { ...m, payload: flipByte(m.payload, 32) } : null)),
    );
    const [abort] = expectAbort(outcome, [1]);
    assert.equal(abort!.culprit, 2);
    assert.match(abort!.reason, /Feldman/);
  });

  it("a commitment vector that does not open the round-1 hash is caught", () => {
    // Round-2 broadcast: echo(32) | count(4) | C_0 ... ; replace C_0 by G.
    const outcome = keygen(
      parties,
      2,
      "bad-commitment",
      only(2, 2, "broadcast", (m) => {
        const payload = Uint8Array.from(m.payload);
        payload.set(G, 36);
        return { ...m, payload };
      }),
    );
    for (const abort of expectAbort(outcome, [1, 3])) {
      assert.equal(abort.culprit, 2);
      assert.match(abort.reason, /does not open/);
    }
  });

  it("a bad Schnorr proof is caught", () => {
    const outcome = keygen(
      parties,
      2,
      "bad-proof",
      only(2, 2, "broadcast", (m) => ({ ...m, payload: flipByte(m.payload, -1) })),
    );
    for (const abort of expectAbort(outcome, [1, 3])) {
      assert.equal(abort.culprit, 2);
      assert.match(abort.reason, /Schnorr/);
    }
  });

  it("a commitment vector of the wrong length is refused", () => {
    const outcome = keygen(
      parties,
      2,
      "short-vector",
      only(2, 2, "broadcast", (m) => {
        const payload = Uint8Array.from(m.payload);
        payload[35] = 1; // count = 1 instead of t = 2
        return { ...m, payload };
      }),
    );
    for (const abort of expectAbort(outcome, [1, 3])) assert.equal(abort.culprit, 2);
  });

  it("an equivocating round-1 broadcast is detected by the echo before anyone is blamed", () => {
    const outcome = keygen(
      parties,
      2,
      "equivocate-1",
      only(2, 1, "broadcast", (m, r) => (r === 3 ? { ...m, payload: flipByte(m.payload, 0) } : null)),
    );
    const aborts = expectAbort(outcome, [1, 3]);
    for (const abort of aborts) {
      assert.equal(abort.culprit, null);
      assert.match(abort.reason, /equivocating/);
    }
  });

  it("a wrong transcript echo aborts everyone who sees it", () => {
    const outcome = keygen(
      parties,
      2,
      "equivocate-3",
      only(2, 3, "broadcast", (m, r) => (r === 1 ? { ...m, payload: flipByte(m.payload, 5) } : null)),
    );
    const [abort] = expectAbort(outcome, [1]);
    assert.match(abort!.reason, /equivocating/);
  });

  it("a tampered multiplication-setup flow aborts naming the peer", () => {
    const outcome = keygen(
      parties,
      2,
      "bad-ot",
      only(2, 3, "direct", (m, r) => (r === 1 ? { ...m, payload: flipByte(m.payload, -1) } : null)),
    );
    const [abort] = expectAbort(outcome, [1]);
    assert.equal(abort!.culprit, 2);
  });

  it("envelope checks: replay, other session, wrong key/protocol/round/recipient, duplicates, non-participants", () => {
    // Record round-1 messages of one session to replay into another.
    const recorded: ProtocolMessage[] = [];
    keygen(parties, 2, "recorded", (m) => {
      recorded.push(m);
      return [m];
    });
    const foreign = recorded.find((m) => m.from === 2 && m.to === null && m.round === 1)!;
    const cases: [string, (m: ProtocolMessage) => ProtocolMessage[], number | null][] = [
      ["cross-session", (m) => [{ ...foreign, sessionId: m.sessionId === foreign.sessionId ? m.sessionId : foreign.sessionId }], null],
      ["wrong key", (m) => [{ ...m, keyId: "other-key" }], null],
      ["wrong protocol", (m) => [{ ...m, protocol: "refresh" }], null],
      ["skipped round", (m) => [{ ...m, round: 3 }], 2],
      ["duplicate", (m) => [m, m], 2],
      ["wrong recipient", (m) => [{ ...m, to: 3 }], 2],
      ["non-participant", (m) => [{ ...m, from: 9 }], null],
    ];
    for (const [name, change, culprit] of cases) {
      const outcome = keygen(parties, 2, `envelope-${name}`, (m, r) => (m.from === 2 && m.round === 1 && m.to === null && r === 1 ? change(m) : [m]));
      const abort = outcome.aborts.get(1);
      assert.ok(abort instanceof ProtocolAbort, `${name}: party 1 aborts`);
      assert.equal(abort.culprit, culprit, name);
      assert.ok(!outcome.results.has(1), name);
    }
  });

  it("a dead instance keeps refusing", () => {
    const instance = createKeygen({ sessionId: sessionIdFrom("dead"), keyId: KEY_ID, self: 1, parties, threshold: 2, rng: seededRng("dead") });
    const outcome = run(new Map([[1, instance]]));
    assert.equal(outcome.aborts.size, 0);
    const bogus: ProtocolMessage = { sessionId: new Uint8Array(32), keyId: KEY_ID, protocol: "keygen", round: 1, from: 2, to: null, payload: new Uint8Array(0) };
    assert.throws(() => instance.receive(bogus), ProtocolAbort);
    assert.throws(() => instance.receive({ ...bogus, sessionId: instance.sessionId }), ProtocolAbort, "dead instance");
    assert.throws(() => instance.result(), ProtocolAbort);
  });
});
