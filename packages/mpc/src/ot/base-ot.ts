/**
 * Base OT: a batch of BASE_OT_COUNT random 1-out-of-2 OTs, the verified
 * simplest OT of DKLs19 (ePrint 2019/523, Section on VSOT), bound to a sid.
 *
 * Why this protocol: the alternative, an endemic OT (Masny-Rindal), needs
 * hash-to-curve points per instance (~0.6 ms each), far over the 2 s budget of
 * a 3-of-5 DKG (20 ordered pairs x 256 OTs). VSOT needs no point of unknown
 * discrete log at all (so the "hash_to_scalar * G" flaw cannot arise): the
 * sender proves knowledge of b for B = b*G, the receiver sends
 * A_i = a_i*G + w_i*B, and a challenge/response round makes each party check
 * that the other derived consistent keys. Cost per OT: receiver one fixed-base
 * tweak-add and one variable-base multiplication, sender one variable-base
 * multiplication and one addition: ~30-60 ms per batch of 256 with libsecp256k1.
 * A malicious sender can cause an abort that depends on one choice bit
 * (DKLs19 discuss and accept this); any failed check aborts the whole setup
 * and the caller bans the counterparty, so there is no second try.
 *
 * Flows (sender = multiplication "bob", receiver = "alice"):
 *   1 S->R  B, Schnorr proof of b
 *   2 R->S  A_i                       (i < 256)
 *   3 S->R  challenge_i = H2(H1(k0_i)) ^ H2(H1(k1_i))
 *   4 R->S  response_i = H2(H1(k_{w_i})) ^ w_i * challenge_i; S checks it equals H2(H1(k0_i))
 *   5 S->R  openings H1(k0_i), H1(k1_i); R checks them against the challenge and its own key
 * with H1, H2 domain-separated hashes bound to sid and i.
 */
import {
  G,
  POINT_BYTES,
  SCALAR_BYTES,
  add,
  addMulBase,
  addScalars,
  bytesToBigInt,
  mod,
  mul,
  mulBase,
  mulScalars,
  pointFromBytes,
  pointsEqual,
  randomScalar,
  scalarFromBytes,
  scalarFromHash,
  scalarToBytes,
  neg,
  subScalars,
  sum,
  type Point,
} from "../curve.ts";
import type { RandomBytes } from "../types.ts";
import { equalBytes, getBit, selectBytes } from "./bits.ts";
import { MulSetupError } from "./errors.ts";
import { oracle, u32 } from "./oracle.ts";
import { KeyedBlake3 } from "./blake3-keyed.ts";

/** Number of base OTs (kappa); also the width of the OT-extension matrix. */
export const BASE_OT_COUNT = 256;
/** Bytes of one OT seed. */
export const SEED_BYTES = 32;

const RANDOM_SCALAR_BYTES = 48; // reduced mod q: bias below 2^-128
const PROOF_MESSAGE_BYTES = 2 * POINT_BYTES + SCALAR_BYTES;
const HASH_BYTES = 32;

function keyFromPoint(sid: Uint8Array, i: number, P: Point): Uint8Array {
  return oracle("vsot/key", [sid, u32(i), P]);
}
/** H1 and H2 of the verification round: BLAKE3 keyed by (domain, sid). */
class VerificationHashes {
  private readonly first: KeyedBlake3;
  private readonly second: KeyedBlake3;
  constructor(sid: Uint8Array) {
    this.first = new KeyedBlake3("vsot/h1", sid);
    this.second = new KeyedBlake3("vsot/h2", sid);
  }
  h1(i: number, key: Uint8Array): Uint8Array {
    const out = new Uint8Array(HASH_BYTES);
    this.first.hash(i, key, 0, out, 0, HASH_BYTES);
    return out;
  }
  h2(i: number, opened: Uint8Array): Uint8Array {
    const out = new Uint8Array(HASH_BYTES);
    this.second.hash(i, opened, 0, out, 0, HASH_BYTES);
    return out;
  }
}
function proofChallenge(sid: Uint8Array, B: Point, R: Point): bigint {
  return scalarFromHash(oracle("vsot/pok", [sid, G, B, R], 48));
}

function expectLength(flow: Uint8Array, expected: number, what: string): void {
  if (flow.length !== expected) throw new MulSetupError(`${what}: expected ${expected} bytes, got ${flow.length}`);
}

function parsePoint(bytes: Uint8Array, what: string): Point {
  if (bytes.length !== POINT_BYTES) throw new MulSetupError(`${what}: expected a ${POINT_BYTES}-byte point`);
  try {
    return pointFromBytes(bytes);
  } catch (e) {
    throw new MulSetupError(`${what}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------- sender

export interface BaseOtSenderOutput {
  /** BASE_OT_COUNT x SEED_BYTES each. */
  readonly seeds0: Uint8Array;
  readonly seeds1: Uint8Array;
}

/** The OT sender's side (multiplication "bob"). */
export class VsotSender {
  private readonly b: bigint;
  private readonly B: Point;
  private readonly nonce: bigint;
  private readonly hashes: VerificationHashes;
  private seeds0: Uint8Array | null = null;
  private seeds1: Uint8Array | null = null;
  private opened: Uint8Array | null = null;
  private expectedResponses: Uint8Array | null = null;

  constructor(
    private readonly sid: Uint8Array,
    rng: RandomBytes,
  ) {
    this.b = randomScalar(rng);
    this.B = mulBase(this.b);
    this.nonce = randomScalar(rng);
    this.hashes = new VerificationHashes(sid);
  }

  /** Flow 1: B and a Schnorr proof of knowledge of b bound to sid. */
  first(): Uint8Array {
    const R = mulBase(this.nonce);
    const e = proofChallenge(this.sid, this.B, R);
    const s = addScalars(this.nonce, mulScalars(e, this.b));
    const out = new Uint8Array(PROOF_MESSAGE_BYTES);
    out.set(this.B, 0);
    out.set(R, POINT_BYTES);
    out.set(scalarToBytes(s), 2 * POINT_BYTES);
    return out;
  }

  /** Flow 2 in, flow 3 out: derives both keys of each OT and sends the challenges. */
  challenge(flow2: Uint8Array): Uint8Array {
    expectLength(flow2, BASE_OT_COUNT * POINT_BYTES, "base OT points");
    const minusbB = neg(mul(this.B, this.b));
    const seeds0 = new Uint8Array(BASE_OT_COUNT * SEED_BYTES);
    const seeds1 = new Uint8Array(BASE_OT_COUNT * SEED_BYTES);
    const opened = new Uint8Array(BASE_OT_COUNT * 2 * HASH_BYTES);
    const expected = new Uint8Array(BASE_OT_COUNT * HASH_BYTES);
    const challenges = new Uint8Array(BASE_OT_COUNT * HASH_BYTES);
    for (let i = 0; i < BASE_OT_COUNT; i++) {
      const A = parsePoint(flow2.subarray(i * POINT_BYTES, (i + 1) * POINT_BYTES), `base OT point ${i}`);
      const bA = mul(A, this.b);
      let bAminusB: Point;
      try {
        bAminusB = sum([bA, minusbB]);
      } catch {
        throw new MulSetupError(`base OT point ${i} equals the sender's point`);
      }
      const k0 = keyFromPoint(this.sid, i, bA);
      const k1 = keyFromPoint(this.sid, i, bAminusB);
      const o0 = this.hashes.h1(i, k0);
      const o1 = this.hashes.h1(i, k1);
      const c0 = this.hashes.h2(i, o0);
      const c1 = this.hashes.h2(i, o1);
      seeds0.set(k0, i * SEED_BYTES);
      seeds1.set(k1, i * SEED_BYTES);
      opened.set(o0, i * 2 * HASH_BYTES);
      opened.set(o1, i * 2 * HASH_BYTES + HASH_BYTES);
      expected.set(c0, i * HASH_BYTES);
      for (let k = 0; k < HASH_BYTES; k++) challenges[i * HASH_BYTES + k] = c0[k]! ^ c1[k]!;
    }
    this.seeds0 = seeds0;
    this.seeds1 = seeds1;
    this.opened = opened;
    this.expectedResponses = expected;
    return challenges;
  }

  /** Flow 4 in, flow 5 out: checks the receiver's responses, then opens H1 of both keys. */
  verify(flow4: Uint8Array): { opening: Uint8Array; output: BaseOtSenderOutput } {
    if (!this.expectedResponses || !this.opened || !this.seeds0 || !this.seeds1) {
      throw new MulSetupError("responses received before the challenge was sent");
    }
    expectLength(flow4, BASE_OT_COUNT * HASH_BYTES, "base OT responses");
    if (!equalBytes(flow4, this.expectedResponses)) throw new MulSetupError("base OT verification response mismatch");
    return { opening: this.opened, output: { seeds0: this.seeds0, seeds1: this.seeds1 } };
  }
}

// ---------------------------------------------------------------- receiver

/** The OT receiver's side (multiplication "alice"), with choice bits `choices` (32 bytes, LSB-first). */
export class VsotReceiver {
  private keys: Uint8Array | null = null;
  private challenges: Uint8Array | null = null;
  private readonly hashes: VerificationHashes;

  constructor(
    private readonly sid: Uint8Array,
    private readonly choices: Uint8Array,
    private readonly rng: RandomBytes,
  ) {
    if (choices.length !== BASE_OT_COUNT / 8) throw new RangeError("choice bits must be 32 bytes");
    this.hashes = new VerificationHashes(sid);
  }

  /** Flow 1 in, flow 2 out: verifies the proof, sends A_i = a_i*G + w_i*B, keeps k_{w_i} = H(a_i*B). */
  respond(flow1: Uint8Array): Uint8Array {
    expectLength(flow1, PROOF_MESSAGE_BYTES, "base OT first flow");
    const B = parsePoint(flow1.subarray(0, POINT_BYTES), "sender point B");
    const R = parsePoint(flow1.subarray(POINT_BYTES, 2 * POINT_BYTES), "proof commitment");
    let s: bigint;
    try {
      s = scalarFromBytes(flow1.subarray(2 * POINT_BYTES));
    } catch (e) {
      throw new MulSetupError(`proof response: ${(e as Error).message}`);
    }
    const e = proofChallenge(this.sid, B, R);
    if (!pointsEqual(mulBase(s), add(R, mul(B, e)))) {
      throw new MulSetupError("proof of knowledge of the sender's secret does not verify");
    }
    const out = new Uint8Array(BASE_OT_COUNT * POINT_BYTES);
    const keys = new Uint8Array(BASE_OT_COUNT * SEED_BYTES);
    const randomness = this.rng(BASE_OT_COUNT * RANDOM_SCALAR_BYTES);
    for (let i = 0; i < BASE_OT_COUNT; i++) {
      const a = this.scalarAtLeastTwo(randomness.subarray(i * RANDOM_SCALAR_BYTES, (i + 1) * RANDOM_SCALAR_BYTES));
      // A_i = a*G + w_i*B in one native call, no branch on w_i: G + (a-1)*G for w=0, B + a*G for w=1
      const bit = getBit(this.choices, i);
      const base = selectBytes(bit, G, B) as Point;
      out.set(addMulBase(base, subScalars(a, BigInt(1 - bit))), i * POINT_BYTES);
      keys.set(keyFromPoint(this.sid, i, mul(B, a)), i * SEED_BYTES);
    }
    this.keys = keys;
    return out;
  }

  /** A uniform scalar in [2, q) from 48 random bytes (a fresh draw in the ~2^-255 case of a reject). */
  private scalarAtLeastTwo(bytes: Uint8Array): bigint {
    let a = mod(bytesToBigInt(bytes));
    while (a < 2n) a = randomScalar(this.rng);
    return a;
  }

  /** Flow 3 in, flow 4 out: response_i = H2(H1(k_i)) ^ w_i * challenge_i. */
  answer(flow3: Uint8Array): Uint8Array {
    if (!this.keys) throw new MulSetupError("challenge received before the first flow");
    expectLength(flow3, BASE_OT_COUNT * HASH_BYTES, "base OT challenges");
    this.challenges = flow3.slice();
    const out = new Uint8Array(BASE_OT_COUNT * HASH_BYTES);
    for (let i = 0; i < BASE_OT_COUNT; i++) {
      const mask = -getBit(this.choices, i) & 0xff;
      const own = this.hashes.h2(i, this.hashes.h1(i, this.keys.subarray(i * SEED_BYTES, (i + 1) * SEED_BYTES)));
      for (let k = 0; k < HASH_BYTES; k++) out[i * HASH_BYTES + k] = own[k]! ^ (mask & flow3[i * HASH_BYTES + k]!);
    }
    return out;
  }

  /** Flow 5 in: checks both openings against the challenge and the own one against k_{w_i}; returns the seeds. */
  finish(flow5: Uint8Array): Uint8Array {
    if (!this.keys || !this.challenges) throw new MulSetupError("opening received before the challenge");
    expectLength(flow5, BASE_OT_COUNT * 2 * HASH_BYTES, "base OT openings");
    let ok = true;
    for (let i = 0; i < BASE_OT_COUNT; i++) {
      const o0 = flow5.subarray(i * 2 * HASH_BYTES, i * 2 * HASH_BYTES + HASH_BYTES);
      const o1 = flow5.subarray(i * 2 * HASH_BYTES + HASH_BYTES, (i + 1) * 2 * HASH_BYTES);
      const c0 = this.hashes.h2(i, o0);
      const c1 = this.hashes.h2(i, o1);
      const x = new Uint8Array(HASH_BYTES);
      for (let k = 0; k < HASH_BYTES; k++) x[k] = c0[k]! ^ c1[k]!;
      const own = this.hashes.h1(i, this.keys.subarray(i * SEED_BYTES, (i + 1) * SEED_BYTES));
      const chosen = selectBytes(getBit(this.choices, i), o0, o1);
      ok = equalBytes(x, this.challenges.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)) && ok;
      ok = equalBytes(own, chosen) && ok;
    }
    if (!ok) throw new MulSetupError("base OT opening does not match the challenge or the receiver's key");
    return this.keys;
  }
}
