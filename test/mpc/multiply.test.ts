/**
 * DKLs23 random vector OLE: the invariant over many sids with one setup,
 * setup encodings, and a malicious party breaking each check.
 */
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { CURVE_ORDER } from "../../packages/mpc/src/curve.ts";
import { labelHash, shakeRng } from "./harness.ts";
import {
  MUL_ALICE_MESSAGE_BYTES,
  MUL_BOB_MESSAGE_BYTES,
  MUL_ELL,
  MUL_SETUP_FLOWS,
  MultiplicationCheckError,
  OtExtensionCheckError,
  createMulSetup,
  decodeAliceSetup,
  decodeBobSetup,
  encodeAliceSetup,
  encodeBobSetup,
  mulAliceRespond,
  mulBobFinish,
  mulBobStart,
  type AliceSetup,
  type BobSetup,
} from "../../packages/mpc/src/multiply.ts";

function scalar(rng: (n: number) => Uint8Array): bigint {
  let v = 0n;
  for (const b of rng(40)) v = (v << 8n) | BigInt(b);
  return v % CURVE_ORDER;
}

function setup(label: string): { alice: AliceSetup; bob: BobSetup } {
  const rng = shakeRng(`setup/${label}`);
  const alice = createMulSetup("alice", labelHash(label), rng);
  const bob = createMulSetup("bob", labelHash(label), rng);
  let flow = bob.start();
  let receiver = alice;
  let flows = 0;
  while (flow) {
    flows++;
    flow = receiver.receive(flow);
    receiver = receiver === alice ? bob : alice;
  }
  assert.equal(flows, MUL_SETUP_FLOWS);
  return { alice: alice.result() as AliceSetup, bob: bob.result() as BobSetup };
}

const TAG = 16;
const SCALAR = 32;
const NONCE = 32;
const TAU = TAG + NONCE;
const CORRECTIONS = MUL_ALICE_MESSAGE_BYTES - TAU - SCALAR - 32 - MUL_ELL * SCALAR;
const MU_HAT_OFFSET = TAU + CORRECTIONS;
const MU_DIGEST_OFFSET = MU_HAT_OFFSET + SCALAR;
const GAMMA_OFFSET = MU_DIGEST_OFFSET + 32;

function readScalar(bytes: Uint8Array, offset: number): bigint {
  let v = 0n;
  for (let i = 0; i < SCALAR; i++) v = (v << 8n) | BigInt(bytes[offset + i]!);
  return v;
}
function writeScalar(bytes: Uint8Array, offset: number, v: bigint): void {
  for (let i = SCALAR - 1; i >= 0; i--) {
    bytes[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}
/** Adds `delta` mod q to the scalar at `offset` (keeps it canonical). */
function addToScalar(message: Uint8Array, offset: number, delta: bigint): Uint8Array {
  const out = message.slice();
  writeScalar(out, offset, (readScalar(out, offset) + delta) % CURVE_ORDER);
  return out;
}

describe("DKLs23 multiplication (RVOLE)", () => {
  let s: { alice: AliceSetup; bob: BobSetup };
  before(() => {
    s = setup("pair-1-2");
  });

  it("aliceShares[k] + bobShares[k] == inputs[k] * chi for random inputs over many sids with one setup", () => {
    const rng = shakeRng("invariant");
    const chis = new Set<bigint>();
    for (let n = 0; n < 12; n++) {
      const useSid = labelHash(`sign-session-${n}`);
      const inputs = n === 0 ? [0n, CURVE_ORDER - 1n] : [scalar(rng), scalar(rng)];
      const b = mulBobStart(s.bob, useSid, rng);
      assert.equal(b.message.length, MUL_BOB_MESSAGE_BYTES);
      assert.ok(b.chi > 0n && b.chi < CURVE_ORDER);
      chis.add(b.chi);
      const a = mulAliceRespond(s.alice, useSid, inputs, b.message, rng);
      assert.equal(a.message.length, MUL_ALICE_MESSAGE_BYTES);
      const f = mulBobFinish(b.state, a.message);
      for (let k = 0; k < MUL_ELL; k++) {
        assert.equal((a.shares[k]! + f.shares[k]!) % CURVE_ORDER, (inputs[k]! * b.chi) % CURVE_ORDER);
      }
    }
    assert.equal(chis.size, 12);
  });

  it("setup encodings round-trip and the decoded setups still multiply", () => {
    const aBytes = encodeAliceSetup(s.alice);
    const bBytes = encodeBobSetup(s.bob);
    const alice = decodeAliceSetup(aBytes);
    const bob = decodeBobSetup(bBytes);
    assert.deepEqual(alice, s.alice);
    assert.deepEqual(bob, s.bob);
    assert.deepEqual(encodeAliceSetup(alice), aBytes);
    const rng = shakeRng("decoded");
    const useSid = labelHash("decoded");
    const b = mulBobStart(bob, useSid, rng);
    const a = mulAliceRespond(alice, useSid, [5n, 7n], b.message, rng);
    const f = mulBobFinish(b.state, a.message);
    assert.equal((a.shares[0]! + f.shares[0]!) % CURVE_ORDER, (5n * b.chi) % CURVE_ORDER);
  });

  it("setup decoders reject wrong length, version and role", () => {
    const aBytes = encodeAliceSetup(s.alice);
    const bBytes = encodeBobSetup(s.bob);
    assert.throws(() => decodeAliceSetup(aBytes.subarray(1)), /must be \d+ bytes/);
    assert.throws(() => decodeBobSetup(new Uint8Array(bBytes.length + 1)), /must be \d+ bytes/);
    const badVersion = aBytes.slice();
    badVersion[0] = 9;
    assert.throws(() => decodeAliceSetup(badVersion), /unsupported alice setup version/);
    const bobAsAlice = bBytes.slice(0, aBytes.length);
    assert.throws(() => decodeAliceSetup(bobAsAlice), /not for role alice/);
  });

  it("the OT-extension check rejects a tampered matrix row in bob's message", () => {
    const rng = shakeRng("tamper-u");
    const useSid = labelHash("tamper-u");
    const b = mulBobStart(s.bob, useSid, rng);
    const tampered = b.message.slice();
    tampered[TAG + NONCE + 96 * 40 + 7]! ^= 0x10;
    assert.throws(() => mulAliceRespond(s.alice, useSid, [1n, 2n], tampered, rng), OtExtensionCheckError);
  });

  it("rejects bob's message of another session or pair, tagged or re-tagged", () => {
    const rng = shakeRng("replay-bob");
    const b = mulBobStart(s.bob, labelHash("session-A"), rng);
    assert.throws(() => mulAliceRespond(s.alice, labelHash("session-B"), [1n, 2n], b.message, rng), /another session/);
    const retagged = b.message.slice();
    retagged.set(mulBobStart(s.bob, labelHash("session-B"), rng).message.subarray(0, TAG));
    assert.throws(() => mulAliceRespond(s.alice, labelHash("session-B"), [1n, 2n], retagged, rng), /consistency check/);
    // another ordered pair (other setup), same use sid
    const other = setup("pair-2-1");
    const fromOtherPair = mulBobStart(other.bob, labelHash("session-A"), rng);
    assert.throws(() => mulAliceRespond(s.alice, labelHash("session-A"), [1n, 2n], fromOtherPair.message, rng), OtExtensionCheckError);
  });

  it("rejects alice's reply of another session, tagged or re-tagged", () => {
    const rng = shakeRng("replay-alice");
    const bA = mulBobStart(s.bob, labelHash("session-C"), rng);
    const aA = mulAliceRespond(s.alice, labelHash("session-C"), [3n, 4n], bA.message, rng);
    const bB = mulBobStart(s.bob, labelHash("session-D"), rng);
    assert.throws(() => mulBobFinish(bB.state, aA.message), /another session/);
    const bB2 = mulBobStart(s.bob, labelHash("session-D"), rng);
    const retagged = aA.message.slice();
    const honestD = mulAliceRespond(s.alice, labelHash("session-D"), [3n, 4n], bB2.message, rng);
    retagged.set(honestD.message.subarray(0, TAG));
    assert.throws(() => mulBobFinish(bB2.state, retagged), MultiplicationCheckError);
  });

  describe("bob aborts on tampered correction or check values", () => {
    function honestRun(label: string) {
      const rng = shakeRng(label);
      const useSid = labelHash(label);
      const b = mulBobStart(s.bob, useSid, rng);
      const a = mulAliceRespond(s.alice, useSid, [11n, 13n], b.message, rng);
      return { b, a };
    }
    const chosen = (state: unknown) => (state as { choices: Uint8Array }).choices;

    it("a correction value of an OT whose choice bit is 1, for each column (pads and check)", () => {
      for (let k = 0; k < MUL_ELL + 1; k++) {
        const { b, a } = honestRun(`tau-${k}`);
        const choices = chosen(b.state);
        const j = [...Array(416).keys()].find((i) => (choices[i >> 3]! >> (i & 7)) & 1)!;
        const tampered = addToScalar(a.message, TAU + (j * (MUL_ELL + 1) + k) * SCALAR, 1n);
        assert.throws(() => mulBobFinish(b.state, tampered), MultiplicationCheckError);
      }
    });

    it("every correction value shifted (bob's choice bits unknown to alice)", () => {
      const { b, a } = honestRun("tau-all");
      let tampered = a.message;
      for (let n = 0; n < 416 * (MUL_ELL + 1); n += MUL_ELL + 1) tampered = addToScalar(tampered, TAU + n * SCALAR, 5n);
      assert.throws(() => mulBobFinish(b.state, tampered), MultiplicationCheckError);
    });

    it("alice's nonce for the OT output hashes", () => {
      const { b, a } = honestRun("nonce");
      const tampered = a.message.slice();
      tampered[TAG + 5]! ^= 1;
      assert.throws(() => mulBobFinish(b.state, tampered), /inconsistent/);
    });

    it("the check value mu^ and the digest of mu", () => {
      const r1 = honestRun("mu-hat");
      assert.throws(() => mulBobFinish(r1.b.state, addToScalar(r1.a.message, MU_HAT_OFFSET, 1n)), /inconsistent/);
      const r2 = honestRun("mu-digest");
      const tampered = r2.a.message.slice();
      tampered[MU_DIGEST_OFFSET + 3]! ^= 1;
      assert.throws(() => mulBobFinish(r2.b.state, tampered), MultiplicationCheckError);
    });

    it("non-canonical scalars (>= q) in corrections, check value and adjustments", () => {
      for (const [offset, what] of [
        [TAU + 7 * SCALAR, /correction value 7/],
        [MU_HAT_OFFSET, /check value/],
        [GAMMA_OFFSET + SCALAR, /adjustment 1/],
      ] as const) {
        const { b, a } = honestRun(`canonical-${offset}`);
        const tampered = a.message.slice();
        tampered.fill(0xff, offset, offset + SCALAR);
        assert.throws(() => mulBobFinish(b.state, tampered), what);
      }
    });

    it("truncated and oversized messages, and reuse of bob's state", () => {
      const r = honestRun("lengths");
      assert.throws(() => mulBobFinish(r.b.state, r.a.message.subarray(0, r.a.message.length - 1)), /must be \d+ bytes/);
      const r2 = honestRun("lengths-2");
      const long = new Uint8Array(r2.a.message.length + 32);
      long.set(r2.a.message);
      assert.throws(() => mulBobFinish(r2.b.state, long), MultiplicationCheckError);
      assert.throws(() => mulBobFinish(r2.b.state, r2.a.message), /already used/);
      const r3 = honestRun("lengths-3");
      assert.throws(() => mulAliceRespond(s.alice, labelHash("lengths-3"), [1n, 2n], r3.b.message.subarray(2), shakeRng("x")), /must be \d+ bytes/);
    });
  });

  it("alice's adjustment gamma only shifts her own effective input (caught later by the signing checks)", () => {
    const rng = shakeRng("gamma");
    const useSid = labelHash("gamma");
    const b = mulBobStart(s.bob, useSid, rng);
    const a = mulAliceRespond(s.alice, useSid, [21n, 22n], b.message, rng);
    const f = mulBobFinish(b.state, addToScalar(a.message, GAMMA_OFFSET, 1n));
    assert.equal((a.shares[0]! + f.shares[0]!) % CURVE_ORDER, (22n * b.chi) % CURVE_ORDER);
  });

  it("validates inputs and sids", () => {
    const rng = shakeRng("inputs");
    const b = mulBobStart(s.bob, labelHash("inputs"), rng);
    assert.throws(() => mulAliceRespond(s.alice, labelHash("inputs"), [1n], b.message, rng), /expected 2 inputs/);
    assert.throws(() => mulAliceRespond(s.alice, labelHash("inputs"), [1n, CURVE_ORDER], b.message, rng), /scalars in \[0, q\)/);
    assert.throws(() => mulBobStart(s.bob, new Uint8Array(16), rng), /32 bytes/);
    assert.throws(() => mulBobStart({ ...s.bob, seeds0: new Uint8Array(5) }, labelHash("x"), rng), /malformed bob setup/);
  });
});
