/**
 * secp256k1 group operations for the MPC protocols, behind one small module so
 * the backend can be chosen by measurement (see shared/design/threshold-ecdsa.md).
 *
 * Points are 33-byte SEC1 compressed encodings and never the identity: every
 * operation that would produce the identity throws `IdentityPointError`, which
 * the protocols treat as an abort. Point multiplication and addition run in
 * libsecp256k1 (constant-time scalar multiplication, ~40 us); noble-curves is
 * the reference for scalar arithmetic, hash-to-curve (RFC 9380) and decoding.
 */
import { createRequire } from "node:module";
import { secp256k1, secp256k1_hasher } from "@noble/curves/secp256k1.js";
import type * as Secp256k1Native from "secp256k1";

const require = createRequire(import.meta.url);
const native: typeof Secp256k1Native = require("secp256k1");

/** Order of the secp256k1 group. */
export const CURVE_ORDER: bigint = secp256k1.Point.Fn.ORDER;
/** Bytes in a compressed point. */
export const POINT_BYTES = 33;
/** Bytes in a scalar. */
export const SCALAR_BYTES = 32;

/** A validated, non-identity secp256k1 point in compressed SEC1 form. */
export type Point = Uint8Array & { readonly __brand: "Point" };

export class IdentityPointError extends Error {
  constructor(operation: string) {
    super(`${operation} produced the point at infinity`);
    this.name = "IdentityPointError";
  }
}

export class InvalidPointError extends Error {
  constructor(reason: string) {
    super(`invalid secp256k1 point: ${reason}`);
    this.name = "InvalidPointError";
  }
}

export class InvalidScalarError extends Error {
  constructor(reason: string) {
    super(`invalid scalar: ${reason}`);
    this.name = "InvalidScalarError";
  }
}

const Fn = secp256k1.Point.Fn;

// ---------------------------------------------------------------- scalars

export function mod(a: bigint): bigint {
  return Fn.create(a);
}
export function addScalars(a: bigint, b: bigint): bigint {
  return Fn.add(a, b);
}
export function subScalars(a: bigint, b: bigint): bigint {
  return Fn.sub(a, b);
}
export function mulScalars(a: bigint, b: bigint): bigint {
  return Fn.mul(a, b);
}
/** Inverse mod q; throws on zero. */
export function invScalar(a: bigint): bigint {
  if (mod(a) === 0n) throw new InvalidScalarError("zero has no inverse");
  return Fn.inv(a);
}

/** Uniform scalar in [1, q) from a caller-supplied RNG (tests may seed one). */
export function randomScalar(rng: (n: number) => Uint8Array): bigint {
  // 48 bytes reduced mod q: statistical distance from uniform below 2^-128.
  for (;;) {
    const s = mod(bytesToBigInt(rng(48)));
    if (s !== 0n) return s;
  }
}

/** Big-endian 32-byte encoding of a scalar in [0, q). */
export function scalarToBytes(s: bigint): Uint8Array {
  if (s < 0n || s >= CURVE_ORDER) throw new InvalidScalarError("out of range [0, q)");
  return bigIntToBytes(s, SCALAR_BYTES);
}

/** Decodes a canonical 32-byte big-endian scalar; rejects values >= q. */
export function scalarFromBytes(bytes: Uint8Array, allowZero = false): bigint {
  if (bytes.length !== SCALAR_BYTES) throw new InvalidScalarError(`expected ${SCALAR_BYTES} bytes, got ${bytes.length}`);
  const s = bytesToBigInt(bytes);
  if (s >= CURVE_ORDER) throw new InvalidScalarError("not reduced mod q");
  if (!allowZero && s === 0n) throw new InvalidScalarError("zero");
  return s;
}

/** Reduces a hash output (any length >= 32) to a scalar mod q. */
export function scalarFromHash(digest: Uint8Array): bigint {
  return mod(bytesToBigInt(digest));
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex.length === 0 ? 0n : BigInt("0x" + hex);
}

export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  const hex = value.toString(16).padStart(length * 2, "0");
  if (hex.length > length * 2) throw new RangeError(`value does not fit in ${length} bytes`);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// ---------------------------------------------------------------- points

/** The generator G. */
export const G: Point = pointFromBytes(secp256k1.Point.BASE.toBytes(true));

/**
 * Validates untrusted bytes as a point (on the curve, canonical, not identity)
 * and returns its compressed form. Accepts compressed or uncompressed input.
 */
export function pointFromBytes(bytes: Uint8Array): Point {
  if (bytes.length !== 33 && bytes.length !== 65) {
    throw new InvalidPointError(`expected 33 or 65 bytes, got ${bytes.length}`);
  }
  if (!native.publicKeyVerify(bytes)) throw new InvalidPointError("not on the curve or not canonical");
  return native.publicKeyConvert(bytes, true) as Point;
}

/** k*G for k in [1, q). */
export function mulBase(k: bigint): Point {
  return native.publicKeyCreate(nonZeroScalarBytes(k, "mulBase"), true) as Point;
}

/** P + k*G for k in [1, q) in one native call (constant time in k); throws `IdentityPointError` on the identity. */
export function addMulBase(P: Point, k: bigint): Point {
  try {
    return native.publicKeyTweakAdd(P, nonZeroScalarBytes(k, "addMulBase"), true) as Point;
  } catch (e) {
    if (e instanceof InvalidScalarError) throw e;
    throw new IdentityPointError("P + k*G");
  }
}

/** k*P for k in [1, q) (constant time in k). */
export function mul(P: Point, k: bigint): Point {
  return native.publicKeyTweakMul(P, nonZeroScalarBytes(k, "mul"), true) as Point;
}

/** P + Q; throws `IdentityPointError` when Q = -P. */
export function add(P: Point, Q: Point): Point {
  return sum([P, Q]);
}

/** Sum of one or more points; throws `IdentityPointError` when it is the identity. */
export function sum(points: readonly Point[]): Point {
  if (points.length === 0) throw new IdentityPointError("empty sum");
  if (points.length === 1) return points[0]!;
  try {
    return native.publicKeyCombine([...points], true) as Point;
  } catch {
    throw new IdentityPointError("point addition");
  }
}

/** -P. */
export function neg(P: Point): Point {
  return native.publicKeyNegate(P, true) as Point;
}

/** P - Q; throws `IdentityPointError` when P = Q. */
export function sub(P: Point, Q: Point): Point {
  return sum([P, neg(Q)]);
}

export function pointsEqual(P: Uint8Array, Q: Uint8Array): boolean {
  if (P.length !== Q.length) return false;
  let diff = 0;
  for (let i = 0; i < P.length; i++) diff |= P[i]! ^ Q[i]!;
  return diff === 0;
}

/**
 * Hash-to-curve (RFC 9380, secp256k1_XMD:SHA-256_SSWU_RO_): a point whose
 * discrete logarithm nobody knows. Never replace this with hash * G.
 */
export function hashToCurve(message: Uint8Array, dst: string): Point {
  const P = secp256k1_hasher.hashToCurve(message, { DST: dst });
  return pointFromBytes(P.toBytes(true));
}

/** 65-byte uncompressed encoding (0x04 || x || y), e.g. to derive an Ethereum address. */
export function pointToUncompressed(P: Point): Uint8Array {
  return native.publicKeyConvert(P, false);
}

function nonZeroScalarBytes(k: bigint, operation: string): Uint8Array {
  if (k <= 0n || k >= CURVE_ORDER) throw new InvalidScalarError(`${operation}: scalar must be in [1, q)`);
  return bigIntToBytes(k, SCALAR_BYTES);
}

// ---------------------------------------------------------------- ECDSA checks (public data only)

/** Verifies a 64-byte (r || s) low-s ECDSA signature over a 32-byte digest. */
export function ecdsaVerify(signature: Uint8Array, digest: Uint8Array, publicKey: Point): boolean {
  if (signature.length !== 64 || digest.length !== 32) return false;
  try {
    return native.ecdsaVerify(signature, digest, publicKey);
  } catch {
    return false;
  }
}

/** The public key that a 64-byte signature with recovery id (0..3) recovers to over `digest`, or null. */
export function ecdsaRecover(signature: Uint8Array, recoveryId: number, digest: Uint8Array): Point | null {
  try {
    return native.ecdsaRecover(signature, recoveryId, digest, true) as Point;
  } catch {
    return null;
  }
}
