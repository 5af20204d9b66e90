/**
 * Non-interactive Schnorr proof of knowledge of a discrete logarithm
 * (Fiat-Shamir), bound to a caller-supplied context: the session id, key id,
 * protocol and prover index. A proof made for one context fails in any other.
 */
import { add, mul, mulBase, type Point, pointsEqual, randomScalar, scalarFromHash, addScalars, mulScalars } from "./curve.ts";
import { Reader, Writer } from "./encoding.ts";
import { Transcript } from "./transcript.ts";
import type { RandomBytes } from "./types.ts";

export interface SchnorrProof {
  readonly commitment: Point; // K = k*G
  readonly response: bigint; // z = k + e*a
}

function challenge(context: Uint8Array, statement: Point, commitment: Point): bigint {
  const digest = new Transcript("schnorr-pok").absorb("context", context).absorb("statement", statement).absorb("commitment", commitment).digest();
  return scalarFromHash(digest);
}

/** Proves knowledge of `secret` with statement = secret * G. */
export function proveKnowledge(secret: bigint, statement: Point, context: Uint8Array, rng: RandomBytes): SchnorrProof {
  const k = randomScalar(rng);
  const commitment = mulBase(k);
  const e = challenge(context, statement, commitment);
  return { commitment, response: addScalars(k, mulScalars(e, secret)) };
}

export function verifyKnowledge(proof: SchnorrProof, statement: Point, context: Uint8Array): boolean {
  const e = challenge(context, statement, proof.commitment);
  if (e === 0n || proof.response === 0n) return false;
  try {
    return pointsEqual(mulBase(proof.response), add(proof.commitment, mul(statement, e)));
  } catch {
    return false; // K = -e*A: the sum is the identity, which a valid proof never produces
  }
}

export function writeProof(w: Writer, proof: SchnorrProof): void {
  w.point(proof.commitment).scalar(proof.response);
}

export function readProof(r: Reader): SchnorrProof {
  return { commitment: r.point(), response: r.scalar() };
}
