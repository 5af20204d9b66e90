import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { CURVE_ORDER, G } from "../../packages/mpc/src/curve.ts";
import {
  BannedPartyAbort,
  createOnlineSign,
  createPresign,
  createSign,
  decodePresignature,
  encodePresignature,
  InvalidDigestError,
  InvalidPartiesError,
  type KeyShare,
  PresignatureConsumedError,
  ProtocolAbort,
  type ProtocolMessage,
  type Signature,
  withBan,
  ethereumAddress,
} from "@mpc-relay/mpc";
import { SignProtocol } from "../../packages/mpc/src/sign.ts";
import { digestOf, flipByte, KEY_ID, keygenOk, online, presign, run, seededRng, sessionIdFrom, sign, subsets, type Tamper } from "./harness.ts";

/** Checks a signature with @noble/curves, including low s and ecrecover-style recovery to the address. */
function checkSignature(sig: Signature, digest: Uint8Array, share: KeyShare): void {
  assert.equal(sig.bytes.length, 65);
  assert.ok(sig.s <= CURVE_ORDER / 2n, "low s");
  assert.ok(secp256k1.verify(sig.bytes.subarray(0, 64), digest, share.publicKey, { prehash: false }));
  const recovered = secp256k1.Signature.fromBytes(sig.bytes.subarray(0, 64))
    .addRecoveryBit(sig.v - 27)
    .recoverPublicKey(digest);
  assert.equal(ethereumAddress(recovered.toBytes(true) as never), share.address);
}

function signOk(shares: Map<number, KeyShare>, signers: number[], label: string): void {
  const digest = digestOf(label);
  const outcome = sign(shares, signers, digest, label);
  assert.equal(outcome.aborts.size, 0, [...outcome.aborts.values()].map((a) => a.message).join("; "));
  const signatures = [...outcome.results.values()];
  assert.equal(signatures.length, signers.length);
  for (const sig of signatures) assert.deepEqual(sig.bytes, signatures[0]!.bytes, "every signer outputs the same signature");
  checkSignature(signatures[0]!, digest, shares.get(signers[0]!)!);
}

function only(from: number, round: number, kind: "broadcast" | "direct", change: (m: ProtocolMessage, recipient: number) => ProtocolMessage | null): Tamper {
  return (m, recipient) => {
    if (m.from !== from || m.round !== round || (kind === "broadcast") !== (m.to === null)) return [m];
    const changed = change(m, recipient);
    return changed === null ? [m] : [changed];
  };
}

function withPayload(m: ProtocolMessage, edit: (payload: Uint8Array) => void): ProtocolMessage {
  const payload = Uint8Array.from(m.payload);
  edit(payload);
  return { ...m, payload };
}

describe("signing", () => {
  let shares23: Map<number, KeyShare>;
  let shares35: Map<number, KeyShare>;
  before(() => {
    shares23 = keygenOk([1, 2, 3], 2, "sign-23");
    shares35 = keygenOk([1, 2, 3, 4, 5], 3, "sign-35");
  });

  it("every 2-subset of (2,3) and every 3-subset of (3,5) signs", () => {
    for (const signers of subsets([1, 2, 3], 2)) signOk(shares23, signers, `23-${signers.join("")}`);
    for (const signers of subsets([1, 2, 3, 4, 5], 3)) signOk(shares35, signers, `35-${signers.join("")}`);
  });

  it("sampled subsets of (5,9) and (7,10) sign", () => {
    const parties9 = Array.from({ length: 9 }, (_, i) => i + 1);
    const shares59 = keygenOk(parties9, 5, "sign-59");
    for (const signers of [
      [1, 2, 3, 4, 5],
      [2, 4, 6, 8, 9],
    ])
      signOk(shares59, signers, `59-${signers.join("")}`);
    const parties10 = Array.from({ length: 10 }, (_, i) => i + 1);
    const shares710 = keygenOk(parties10, 7, "sign-710");
    signOk(shares710, [1, 3, 4, 6, 7, 9, 10], "710");
  });

  it("presign then online; presignatures encode, are single-use, and need 32-byte digests", () => {
    const signers = [2, 3];
    const pre = presign(shares23, signers, "split");
    assert.equal(pre.aborts.size, 0);
    const presigs = pre.results;
    assert.deepEqual(presigs.get(2)!.id, presigs.get(3)!.id, "the presignature id is common");
    // Round-trip through the storage encoding.
    const restored = new Map([...presigs].map(([p, ps]) => [p, decodePresignature(encodePresignature(ps))]));
    assert.throws(() => createOnlineSign({ sessionId: sessionIdFrom("x"), keyId: KEY_ID, presignature: restored.get(2)!, digest: new Uint8Array(31) }), InvalidDigestError);
    assert.throws(() => createOnlineSign({ sessionId: sessionIdFrom("x"), keyId: KEY_ID, presignature: restored.get(2)!, digest: new Uint8Array(33) }), InvalidDigestError);
    const digest = digestOf("split");
    const out = online(restored, digest, "split");
    assert.equal(out.aborts.size, 0);
    checkSignature(out.results.get(2)!, digest, shares23.get(2)!);
    // Used once: the same objects can't make a second online instance, nor be stored again.
    assert.throws(() => createOnlineSign({ sessionId: sessionIdFrom("again"), keyId: KEY_ID, presignature: restored.get(2)!, digest }), PresignatureConsumedError);
    assert.throws(() => encodePresignature(restored.get(3)!), PresignatureConsumedError);
    // Another copy of a used presignature (decoded again from storage) is refused in this process too.
    const copy = decodePresignature(encodePresignature(presigs.get(2)!));
    assert.throws(() => createOnlineSign({ sessionId: sessionIdFrom("copy"), keyId: KEY_ID, presignature: copy, digest }), PresignatureConsumedError);
    assert.throws(() => decodePresignature(flipByte(encodePresignature(presigs.get(2)!), 0)), /magic/);
  });

  it("t-1 signers, outsiders, duplicates, banned parties and bad digests are refused", () => {
    const share = shares35.get(1)!;
    const base = { sessionId: sessionIdFrom("refuse"), keyId: KEY_ID, share, digest: digestOf("x") };
    assert.throws(() => createSign({ ...base, signers: [1, 2] }), /exactly 3 signers/);
    assert.throws(() => createPresign({ ...base, signers: [1, 2] }), /exactly 3 signers/);
    assert.throws(() => createSign({ ...base, signers: [1, 2, 6] }), /not in the committee/);
    assert.throws(() => createSign({ ...base, signers: [1, 2, 2] }), InvalidPartiesError);
    assert.throws(() => createSign({ ...base, signers: [2, 3, 4] }), /not in the signer set/);
    assert.throws(() => createSign({ ...base, share: withBan(share, 2), signers: [1, 2, 3] }), /banned/);
    assert.throws(() => createSign({ ...base, signers: [1, 2, 3], digest: new Uint8Array(20) }), InvalidDigestError);
    assert.throws(() => createSign({ ...base, signers: [1, 2, 3], keyId: "other" }), /share is for key/);
  });
});

describe("t-1 parties", () => {
  it("cannot sign even when the API's signer-count check is bypassed", () => {
    const shares = keygenOk([1, 2, 3, 4], 3, "t-minus-1");
    for (const signers of [
      [1, 2],
      [2, 4],
    ]) {
      const sessionId = sessionIdFrom(`bypass-${signers.join("")}`);
      const instances = new Map(signers.map((self) => [self, new SignProtocol(sessionId, shares.get(self)!, signers, digestOf("bypass"), seededRng(`bypass-${self}`))]));
      const outcome = run(instances);
      assert.equal(outcome.results.size, 0);
      for (const p of signers) assert.match(outcome.aborts.get(p)!.reason, /do not sum to the public key/);
    }
  });
});

describe("signing against a malicious party", () => {
  let shares: Map<number, KeyShare>;
  const signers = [1, 2, 3];
  before(() => {
    shares = keygenOk([1, 2, 3, 4], 3, "malicious-sign");
  });

  /** Honest parties 1 and 3 (or whichever saw the fault) abort and nobody outputs a signature. */
  function expectAbort(label: string, tamper: Tamper): ProtocolAbort[] {
    const outcome = sign(shares, signers, digestOf(label), label, tamper);
    assert.ok(!outcome.results.has(1) && !outcome.results.has(3), "no honest party outputs a signature");
    const aborts = [1, 3].map((p) => outcome.aborts.get(p)).filter((a): a is ProtocolAbort => a !== undefined);
    assert.ok(aborts.length > 0);
    return aborts;
  }

  it("a tampered commitment to R_i or a wrong opening names the culprit", () => {
    // Round-1 broadcast: epoch(32) | commitment(32).
    for (const abort of expectAbort(
      "commit",
      only(2, 1, "broadcast", (m) => withPayload(m, (p) => (p[40]! ^= 1))),
    )) {
      assert.equal(abort.culprit, 2);
      assert.match(abort.reason, /does not open/);
    }
    // Round-2 broadcast: R_i(33) | salt(32) | pk_i(33): replace R_i.
    for (const abort of expectAbort(
      "opening",
      only(2, 2, "broadcast", (m) => withPayload(m, (p) => p.set(G, 0))),
    )) {
      assert.equal(abort.culprit, 2);
    }
  });

  it("off-curve points and truncated payloads are refused naming the sender", () => {
    const offCurve = new Uint8Array(33).fill(0xff);
    offCurve[0] = 0x02;
    for (const abort of expectAbort(
      "off-curve",
      only(2, 2, "broadcast", (m) => withPayload(m, (p) => p.set(offCurve, 0))),
    )) {
      assert.equal(abort.culprit, 2);
      assert.match(abort.reason, /invalid secp256k1 point/);
    }
    for (const abort of expectAbort(
      "truncated",
      only(2, 2, "broadcast", (m) => ({ ...m, payload: m.payload.subarray(0, 50) })),
    )) {
      assert.equal(abort.culprit, 2);
      assert.match(abort.reason, /truncated/);
    }
  });

  it("a party holding a share of another epoch is refused", () => {
    for (const abort of expectAbort(
      "epoch",
      only(2, 1, "broadcast", (m) => withPayload(m, (p) => (p[0]! ^= 1))),
    )) {
      assert.equal(abort.culprit, 2);
      assert.match(abort.reason, /epoch/);
    }
  });

  it("a pk_i inconsistent with the multiplication is caught by the Gamma check", () => {
    for (const abort of expectAbort(
      "pk",
      only(2, 2, "broadcast", (m) => withPayload(m, (p) => p.set(G, 65))),
    )) {
      assert.equal(abort.culprit, 2);
      assert.match(abort.reason, /Gamma/);
    }
  });

  it("a party signing with a wrong share (consistent pk_i) fails the public-key check", () => {
    const cheater = shares.get(2)!;
    const bad = new Map(shares).set(2, { ...cheater, secretShare: (cheater.secretShare + 1n) % CURVE_ORDER });
    const outcome = sign(bad, signers, digestOf("wrong-share"), "wrong-share");
    assert.equal(outcome.results.size, 0);
    for (const p of [1, 3]) assert.match(outcome.aborts.get(p)!.reason, /do not sum to the public key/);
  });

  for (const [name, offsetFromGammas] of [
    ["Gamma_u", 0],
    ["Gamma_v", 33],
  ] as const) {
    it(`a wrong ${name} fails the multiplication check and bans the sender`, () => {
      // Round-2 direct: u32 length | alice message | Gamma_u(33) | Gamma_v(33) | psi(32).
      const aborts = expectAbort(
        name,
        only(2, 2, "direct", (m) => withPayload(m, (p) => p.set(G, p.length - 98 + offsetFromGammas))),
      );
      for (const abort of aborts) {
        assert.ok(abort instanceof BannedPartyAbort);
        assert.equal(abort.culprit, 2);
        assert.deepEqual(abort.share.banned, [2]);
        assert.throws(() => createSign({ sessionId: sessionIdFrom("after-ban"), keyId: KEY_ID, share: abort.share, signers, digest: digestOf("x") }), /banned/);
      }
    });
  }

  it("a MultiplicationCheckError from the multiplication aborts, names and bans the sender", () => {
    // Alice's message ends with H(mu)(32) | gamma (2 x 32); corrupt H(mu).
    const aborts = expectAbort(
      "mul-check",
      only(2, 2, "direct", (m, r) => (r === 1 ? withPayload(m, (p) => (p[p.length - 98 - 64 - 10]! ^= 1)) : null)),
    );
    const abort = aborts[0]!;
    assert.ok(abort instanceof BannedPartyAbort, abort.message);
    assert.match(abort.reason, /multiplication check failed/);
    assert.equal(abort.culprit, 2);
    assert.deepEqual(abort.share.banned, [2]);
    assert.equal(abort.share.self, 1);
  });

  it("a tampered psi, w_i or u_i never yields a wrong signature", () => {
    expectAbort(
      "psi",
      only(2, 2, "direct", (m) => withPayload(m, (p) => (p[p.length - 1]! ^= 1))),
    );
    // Online broadcast: presignature id(32) | transcript(32) | w(32) | u(32).
    expectAbort(
      "w",
      only(2, 3, "broadcast", (m) => withPayload(m, (p) => (p[95]! ^= 1))),
    );
    expectAbort(
      "u",
      only(2, 3, "broadcast", (m) => withPayload(m, (p) => (p[127]! ^= 1))),
    );
  });

  it("a diverging presign transcript (equivocation) is caught in the online round", () => {
    for (const abort of expectAbort(
      "transcript",
      only(2, 3, "broadcast", (m) => withPayload(m, (p) => (p[40]! ^= 1))),
    )) {
      assert.match(abort.reason, /equivocating/);
    }
  });

  it("replayed and cross-session messages are refused", () => {
    const recorded: ProtocolMessage[] = [];
    sign(shares, signers, digestOf("rec"), "recorded", (m) => {
      recorded.push(m);
      return [m];
    });
    const old = recorded.find((m) => m.from === 2 && m.to === 1 && m.round === 1)!;
    // Same session id replayed into a later session: the envelope refuses it.
    expectAbort("replay", (m, r) => (m.from === 2 && m.to === 1 && m.round === 1 && r === 1 ? [old] : [m]));
    // Even re-labelled with the new session id, the bound sub-session ids make the multiplication fail.
    expectAbort("relabel", (m, r) => (m.from === 2 && m.to === 1 && m.round === 1 && r === 1 ? [{ ...old, sessionId: m.sessionId }] : [m]));
  });
});
