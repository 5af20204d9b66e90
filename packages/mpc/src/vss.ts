/**
 * Shamir sharing with Feldman commitments over secp256k1, plus the party-index
 * and Lagrange helpers every protocol uses.
 */
import { addScalars, CURVE_ORDER, invScalar, mul, mulBase, mulScalars, type Point, pointsEqual, randomScalar, subScalars, sum } from "./curve.ts";
import type { PartyIndex, RandomBytes } from "./types.ts";

/** Largest accepted party index (evaluation point); keeps encodings and loops bounded. */
export const MAX_PARTY_INDEX = 0xffff;

/**
 * Fewest signers any key may need. With t = 1 every share is the private key,
 * so a single holder signs alone: the one threshold rule of the whole project
 * (frames, API, CLI, devnet and RelayStaking's MIN_THRESHOLD all use it).
 */
export const MIN_THRESHOLD = 2;

export class InvalidPartiesError extends Error {
  constructor(reason: string) {
    super(`invalid parties: ${reason}`);
    this.name = "InvalidPartiesError";
  }
}

/** Checks indices are integers in [1, MAX_PARTY_INDEX] without duplicates; returns them sorted. */
export function normalizeParties(parties: readonly PartyIndex[], what = "parties"): PartyIndex[] {
  if (!Array.isArray(parties) || parties.length === 0) throw new InvalidPartiesError(`${what} is empty`);
  for (const p of parties) {
    if (!Number.isInteger(p) || p < 1 || p > MAX_PARTY_INDEX) {
      throw new InvalidPartiesError(`${what}: index ${String(p)} is not an integer in [1, ${MAX_PARTY_INDEX}]`);
    }
  }
  const sorted = [...parties].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new InvalidPartiesError(`${what}: duplicate index ${sorted[i]}`);
  }
  return sorted;
}

/**
 * A signing set of a sharing: exactly `threshold` distinct members of the committee, `self` among them,
 * none banned. Returns it sorted. The one rule for the library and the signer node.
 */
export function checkSignerSet(sharing: { threshold: number; parties: readonly PartyIndex[]; banned: readonly PartyIndex[] }, signers: readonly PartyIndex[], self: PartyIndex): PartyIndex[] {
  const sorted = normalizeParties(signers, "signers");
  if (sorted.length !== sharing.threshold) throw new InvalidPartiesError(`exactly ${sharing.threshold} signers are needed, got ${sorted.length}`);
  for (const s of sorted) if (!sharing.parties.includes(s)) throw new InvalidPartiesError(`signer ${s} is not in the committee`);
  if (!sorted.includes(self)) throw new InvalidPartiesError(`party ${self} is not in the signer set`);
  const banned = sorted.filter((s) => sharing.banned.includes(s));
  if (banned.length > 0) throw new InvalidPartiesError(`signer(s) ${banned.join(", ")} are banned for this key until a refresh`);
  return sorted;
}

export function checkThreshold(threshold: number, n: number): void {
  if (!Number.isInteger(threshold) || threshold < MIN_THRESHOLD) throw new InvalidPartiesError(`threshold ${threshold} must be an integer >= ${MIN_THRESHOLD}`);
  if (threshold > n) throw new InvalidPartiesError(`threshold ${threshold} exceeds the ${n} parties`);
}

/** A random polynomial of degree `threshold - 1` with the given constant term. */
export function randomPolynomial(constant: bigint, threshold: number, rng: RandomBytes): bigint[] {
  const coefficients = [constant];
  for (let k = 1; k < threshold; k++) coefficients.push(randomScalar(rng));
  return coefficients;
}

/** f(x) by Horner's rule. */
export function evaluatePolynomial(coefficients: readonly bigint[], x: PartyIndex): bigint {
  let acc = 0n;
  const xs = BigInt(x);
  for (let k = coefficients.length - 1; k >= 0; k--) acc = addScalars(mulScalars(acc, xs), coefficients[k]!);
  return acc;
}

/**
 * Feldman check value: sum_k x^k * C_k. Entries of `commitments` may be null for
 * a coefficient known to be zero (a refresh polynomial's constant term).
 */
export function evaluateCommitments(commitments: readonly (Point | null)[], x: PartyIndex): Point {
  const terms: Point[] = [];
  let power = 1n;
  const xs = BigInt(x);
  for (const C of commitments) {
    if (C !== null) terms.push(power === 1n ? C : mul(C, power));
    power = mulScalars(power, xs);
  }
  return sum(terms);
}

/** Does share * G match the commitments at x? (Zero shares never match: shares must be non-zero.) */
export function verifyShare(commitments: readonly (Point | null)[], x: PartyIndex, share: bigint): boolean {
  if (share === 0n) return false;
  return pointsEqual(mulBase(share), evaluateCommitments(commitments, x));
}

/** Lagrange coefficient at 0 of party `i` within the set `set` (which must contain i). */
/** Lagrange coefficient at `x` of party `i` within `set` (which must contain i). */
export function lagrangeAt(i: PartyIndex, set: readonly PartyIndex[], x: number): bigint {
  if (!set.includes(i)) throw new InvalidPartiesError(`party ${i} is not in the interpolation set`);
  let num = 1n;
  let den = 1n;
  for (const j of set) {
    if (j === i) continue;
    num = mulScalars(num, subScalars(BigInt(x), BigInt(j)));
    den = mulScalars(den, subScalars(BigInt(i), BigInt(j)));
  }
  return mulScalars(num, invScalar(den));
}

export function lagrangeAtZero(i: PartyIndex, set: readonly PartyIndex[]): bigint {
  return lagrangeAt(i, set, 0);
}

/** Reduces any bigint into [0, q). */
export function reduce(value: bigint): bigint {
  const r = value % CURVE_ORDER;
  return r < 0n ? r + CURVE_ORDER : r;
}
