import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { G } from "../../packages/mpc/src/curve.ts";
import { checkFaultProof, checkProof, createRefresh, decodeProtocolMessage, encodeProtocolMessage, type FaultProof, InvalidFaultProof, ProtocolAbort, type ProtocolMessage } from "@mpc-relay/mpc";
import { flipByte, KEY_ID, keygen, keygenOk, run, seededRng, sessionIdFrom, type Tamper } from "./harness.ts";

const parties = [1, 2, 3];

/** Changes the messages `from` sends in `round` of the given kind (to `recipient` only, when given). */
function tamper(from: number, round: number, kind: "broadcast" | "direct", change: (m: ProtocolMessage) => ProtocolMessage[], recipient?: number): Tamper {
  return (m, r) => (m.from === from && m.round === round && (kind === "broadcast") === (m.to === null) && (recipient === undefined || r === recipient) ? change(m) : [m]);
}

function proofOf(abort: ProtocolAbort | undefined): FaultProof {
  assert.ok(abort instanceof ProtocolAbort, "the honest party aborts");
  assert.ok(abort.proof !== null, `the abort carries a proof (${abort.reason})`);
  return abort.proof;
}

/** What a stranger does: decode the canonical bytes, then check. */
function checkAsStranger(proof: FaultProof): { culprit: number; reason: string } {
  return checkFaultProof(
    proof.kind,
    proof.messages.map((m) => decodeProtocolMessage(encodeProtocolMessage(m))),
  );
}

/** Every message of an honest keygen, to try to frame its dealers with. */
function honestTranscript(label: string): ProtocolMessage[] {
  const sent: ProtocolMessage[] = [];
  const outcome = keygen(parties, 2, label, (m) => {
    sent.push(m);
    return [m];
  });
  assert.equal(outcome.aborts.size, 0);
  return sent;
}

const pick = (messages: ProtocolMessage[], from: number, round: number, to: number | null) => messages.find((m) => m.from === from && m.round === round && m.to === to)!;

describe("fault proofs", () => {
  it("a bad VSS share: the victim's abort proves the dealer's fault to anyone", () => {
    const outcome = keygen(
      parties,
      2,
      "proof-share",
      tamper(2, 2, "direct", (m) => [{ ...m, payload: flipByte(m.payload, 32) }], 1),
    );
    const proof = proofOf(outcome.aborts.get(1));
    assert.equal(proof.kind, "feldman-share");
    assert.equal(proof.culprit, 2);
    assert.deepEqual(checkProof(proof).culprit, 2);
    const checked = checkAsStranger(proof);
    assert.equal(checked.culprit, 2);
    assert.match(checked.reason, /share for party 1 fails its Feldman commitments/);
  });

  it("a bad share in a refresh (zero-constant polynomials) is proven too", () => {
    const shares = keygenOk(parties, 2, "proof-refresh-keys");
    const sessionId = sessionIdFrom("proof-refresh");
    const instances = new Map([...shares].map(([p, share]) => [p, createRefresh({ sessionId, keyId: KEY_ID, share, rng: seededRng(`proof-refresh:${p}`) })]));
    const outcome = run(
      instances,
      tamper(3, 2, "direct", (m) => [{ ...m, payload: flipByte(m.payload, 32) }], 2),
    );
    const proof = proofOf(outcome.aborts.get(2));
    assert.equal(proof.kind, "feldman-share");
    assert.equal(checkAsStranger(proof).culprit, 3);
  });

  it("a commitment vector that does not open the round-1 hash is proven", () => {
    const outcome = keygen(
      parties,
      2,
      "proof-opening",
      tamper(2, 2, "broadcast", (m) => {
        const payload = Uint8Array.from(m.payload);
        payload.set(G, 36);
        return [{ ...m, payload }];
      }),
    );
    const proof = proofOf(outcome.aborts.get(1));
    assert.equal(proof.kind, "commitment-opening");
    assert.equal(checkAsStranger(proof).culprit, 2);
  });

  it("two different messages for one slot prove equivocation; an identical copy proves nothing", () => {
    const twice = keygen(
      parties,
      2,
      "proof-equivocation",
      tamper(2, 1, "broadcast", (m) => [m, { ...m, payload: flipByte(m.payload, 3) }], 1),
    );
    const proof = proofOf(twice.aborts.get(1));
    assert.equal(proof.kind, "equivocation");
    assert.match(checkAsStranger(proof).reason, /two different round-1 broadcasts/);

    const copy = keygen(
      parties,
      2,
      "proof-duplicate",
      tamper(2, 1, "broadcast", (m) => [m, m], 1),
    );
    const abort = copy.aborts.get(1);
    assert.ok(abort instanceof ProtocolAbort);
    assert.equal(abort.culprit, 2);
    assert.equal(abort.proof, null);
  });

  it("honest messages can't frame their sender, in any combination", () => {
    const sent = honestTranscript("proof-frame");
    const other = honestTranscript("proof-frame-other");
    const r1 = pick(sent, 2, 1, null);
    const r2 = pick(sent, 2, 2, null);
    const share = pick(sent, 2, 2, 1);
    const refuse = (kind: Parameters<typeof checkFaultProof>[0], messages: ProtocolMessage[], reason: RegExp) =>
      assert.throws(
        () => checkFaultProof(kind, messages),
        (e: unknown) => e instanceof InvalidFaultProof && reason.test(e.message),
      );
    refuse("feldman-share", [r2, share], /matches the Feldman commitments/);
    refuse("commitment-opening", [r1, r2], /opens the round-1 commitment/);
    refuse("equivocation", [r2, r2], /identical/);
    refuse("equivocation", [r1, r2], /different slots/);
    // Pieces of two sessions, or of two senders, are not one party's fault.
    refuse("feldman-share", [pick(other, 2, 2, null), share], /not from one sender in one session/);
    refuse("commitment-opening", [r1, pick(sent, 3, 2, null)], /not from one sender in one session/);
    refuse("feldman-share", [r2, pick(sent, 2, 3, 1)], /undecodable|no share|needs the round-2/);
    refuse("feldman-share", [r2], /exactly 2 messages/);
    refuse("commitment-opening", [pick(sent, 1, 1, null), pick(sent, 1, 2, null)], /opens|did not deal/);
  });

  it("a proof naming someone other than the messages' sender is refused", () => {
    const outcome = keygen(
      parties,
      2,
      "proof-wrong-culprit",
      tamper(2, 2, "direct", (m) => [{ ...m, payload: flipByte(m.payload, 32) }], 1),
    );
    const proof = proofOf(outcome.aborts.get(1));
    assert.throws(() => checkProof({ ...proof, culprit: 3 }), /from party 2, not 3/);
  });

  it("message encoding round-trips and rejects malformed bytes", () => {
    const m = pick(honestTranscript("proof-encoding"), 3, 2, 1);
    const bytes = encodeProtocolMessage(m);
    assert.deepEqual(decodeProtocolMessage(bytes), m);
    assert.deepEqual(decodeProtocolMessage(encodeProtocolMessage({ ...m, to: null })).to, null);
    assert.throws(() => decodeProtocolMessage(bytes.subarray(0, bytes.length - 1)), /truncated/);
    assert.throws(() => decodeProtocolMessage(Uint8Array.of(...bytes, 0)), /trailing|consumed/i);
    const wrongTag = Uint8Array.from(bytes);
    wrongTag[5] = wrongTag[5]! ^ 1;
    assert.throws(() => decodeProtocolMessage(wrongTag), /tag/);
    assert.throws(() => decodeProtocolMessage(encodeProtocolMessage({ ...m, protocol: "other" as "sign" })), /unknown protocol/);
    assert.throws(() => decodeProtocolMessage(encodeProtocolMessage({ ...m, to: m.from })), /sender or recipient/);
  });
});
