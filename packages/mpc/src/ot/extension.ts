/**
 * KOS OT extension (ePrint 2015/546, Fig. 7) with its consistency check made
 * non-interactive by Fiat-Shamir, turned into correlated OT over Z_q.
 *
 * Roles: the extension receiver ("bob") holds both seeds of each of the 256
 * base OTs, the extension sender ("alice") holds Delta (her base-OT choice
 * bits) and one seed of each. Per use, every seed is expanded by a PRG keyed
 * by the seed AND the per-use context (setup sid + use sid), so one setup
 * serves many multiplications without ever reusing a pad.
 *
 * Receiver, choice bits x (OTE_BATCH wanted + OTE_PADDING random ones), a
 * fresh nonce nB mixed into the PRG context:
 *   T0[i] = PRG(k0_i), T1[i] = PRG(k1_i), U[i] = T0[i] ^ T1[i] ^ x      (rows i < 256)
 *   sender: Q[i] = PRG(k_{Delta_i}) ^ Delta_i * U[i] = T0[i] ^ Delta_i * x,
 *   so column j satisfies q_j = t_j ^ x_j * Delta in GF(2)^256.
 * Check (KOS, over GF(2^256) since the matrix has 256 rows): chi_j from an
 * XOF of (context, U); receiver sends xs = sum chi_j x_j, ts = sum chi_j t_j;
 * sender checks sum chi_j q_j == ts + xs * Delta. The OTE_PADDING >= kappa + s
 * extra random columns keep xs and ts from revealing the wanted choice bits.
 * Outputs, under a fresh sender nonce nA sent with the sender's reply:
 * sender v0_j = H(nA, j, q_j), v1_j = H(nA, j, q_j ^ Delta); receiver
 * v_{x_j} = H(nA, j, t_j); each expanded to `width` scalars. The nonces make
 * a repeated use sid harmless (no repeated rows, no related pads); the sid
 * itself must still be fresh per use.
 *
 * Correlated OT on top: the sender with correlation alpha (width scalars)
 * sends tau_j = v0_j - v1_j + alpha and keeps c_j = -v0_j; the receiver keeps
 * d_j = v_{x_j} + x_j * tau_j, so c_j + d_j = x_j * alpha.
 */
import { CURVE_ORDER } from "../curve.ts";
import type { RandomBytes } from "../types.ts";
import { BASE_OT_COUNT, SEED_BYTES } from "./base-ot.ts";
import { ChiTables, WORDS_256, columnCombination, equalBytes, gfMul, transposeColumns, words } from "./bits.ts";
import { OtExtensionCheckError } from "./errors.ts";
import { oracle } from "./oracle.ts";
import { KeyedBlake3 } from "./blake3-keyed.ts";

/** Extended OTs delivered per use (DKLs23 xi = kappa + 2s = 256 + 2 * 80). */
export const OTE_BATCH = 416;
/** Random extra columns that mask the consistency check (>= kappa + s = 336; keeps the width a multiple of 32). */
export const OTE_PADDING = 352;
const COLUMNS = OTE_BATCH + OTE_PADDING;
const ROW_BYTES = COLUMNS / 8;
const ROW_WORDS = COLUMNS / 32;
const FIELD_BYTES = 32;
const SCALAR_BYTES = 32;

/** Bytes of the fresh nonces that key the receiver's PRG rows and the sender's output hashes. */
export const NONCE_BYTES = 32;
const CHECK_OFFSET = NONCE_BYTES + BASE_OT_COUNT * ROW_BYTES;
/** Bytes of the receiver's message: nonce, U, then the two check values. */
export const OTE_MESSAGE_BYTES = CHECK_OFFSET + 2 * FIELD_BYTES;

/** Per-use PRG: row i = BLAKE3 keyed by (domain, context) of (i, seed_i), 96 bytes (context binds setup and use sid). */
function prgRows(seeds: Uint8Array, context: Uint8Array): Uint8Array {
  const prg = new KeyedBlake3("kos/prg", context);
  const rows = new Uint8Array(BASE_OT_COUNT * ROW_BYTES);
  for (let i = 0; i < BASE_OT_COUNT; i++) prg.hash(i, seeds, i * SEED_BYTES, rows, i * ROW_BYTES, ROW_BYTES);
  return rows;
}

/** Fiat-Shamir challenges chi_j from the context and the receiver's nonce and matrix. */
function checkTables(context: Uint8Array, nonceAndMatrix: Uint8Array): ChiTables {
  const chi = oracle("kos/chi", [context, nonceAndMatrix], COLUMNS * FIELD_BYTES);
  return new ChiTables(words(chi), COLUMNS);
}

/**
 * Reads consecutive 32-byte big-endian values, reduced mod q when `reduce`;
 * unreduced values (< 2^256) serve as lazy representatives in sums that are
 * reduced once at the end.
 */
export function scalarsFromBytes(bytes: Uint8Array, out: bigint[], reduce = true): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let off = 0; off < bytes.length; off += SCALAR_BYTES) {
    const hi = (view.getBigUint64(off) << 64n) | view.getBigUint64(off + 8);
    const lo = (view.getBigUint64(off + 16) << 64n) | view.getBigUint64(off + 24);
    const v = (hi << 128n) | lo;
    out.push(reduce ? v % CURVE_ORDER : v);
  }
}

/** Writes a scalar in [0, q) as 32 bytes big-endian at `offset`. */
export function writeScalar(view: DataView, offset: number, s: bigint): void {
  view.setBigUint64(offset, s >> 192n);
  view.setBigUint64(offset + 8, (s >> 128n) & 0xffffffffffffffffn);
  view.setBigUint64(offset + 16, (s >> 64n) & 0xffffffffffffffffn);
  view.setBigUint64(offset + 24, s & 0xffffffffffffffffn);
}

/** Reads a canonical 32-byte scalar (must be < q). */
export function readCanonicalScalar(view: DataView, offset: number): bigint | null {
  const s = (view.getBigUint64(offset) << 192n) | (view.getBigUint64(offset + 8) << 128n) | (view.getBigUint64(offset + 16) << 64n) | view.getBigUint64(offset + 24);
  return s < CURVE_ORDER ? s : null;
}

function outputHash(context: Uint8Array, senderNonce: Uint8Array): KeyedBlake3 {
  if (senderNonce.length !== NONCE_BYTES) throw new RangeError(`sender nonce must be ${NONCE_BYTES} bytes`);
  return new KeyedBlake3("kos/out", oracle("kos/out-context", [context, senderNonce]));
}

/** Output hash of OT j: H(domain, context, j, block, column) expanded to `width` scalars. */
function outputPads(hash: KeyedBlake3, j: number, column: Uint8Array, width: number, scratch: Uint8Array, out: bigint[]): void {
  hash.hash(j, column, 0, scratch, 0, width * SCALAR_BYTES);
  scalarsFromBytes(scratch, out, false); // 256-bit pads, reduced where they meet the wire or the output
}

/** Column j (32 bytes) of a transposed matrix from `transposeColumns` with 256 rows. */
function column(transposed: Uint32Array, j: number): Uint8Array {
  return new Uint8Array(transposed.buffer, transposed.byteOffset + j * FIELD_BYTES, FIELD_BYTES);
}

// ---------------------------------------------------------------- receiver ("bob")

export interface OteReceiverResult {
  readonly message: Uint8Array;
  /** Columns t_j (j < OTE_BATCH) of the receiver's matrix, 8 words each; hashed into pads once the sender's nonce is known. */
  readonly columns: Uint32Array;
}

/**
 * Receiver's message for choice bits `choices` (OTE_BATCH bits, LSB-first):
 * nonce || U || xs || ts. The receiver's fresh nonce enters the PRG context
 * so a repeated use sid never repeats the rows.
 */
export function oteReceive(seeds0: Uint8Array, seeds1: Uint8Array, context: Uint8Array, choices: Uint8Array, rng: RandomBytes): OteReceiverResult {
  if (choices.length !== OTE_BATCH / 8) throw new RangeError(`choices must be ${OTE_BATCH / 8} bytes`);
  const x = new Uint8Array(ROW_BYTES);
  x.set(choices, 0);
  x.set(rng(OTE_PADDING / 8), OTE_BATCH / 8);

  const message = new Uint8Array(OTE_MESSAGE_BYTES);
  message.set(rng(NONCE_BYTES), 0);
  const prgContext = oracle("kos/prg-context", [context, message.subarray(0, NONCE_BYTES)]);
  const t0 = prgRows(seeds0, prgContext);
  const t1 = prgRows(seeds1, prgContext);
  for (let i = 0; i < BASE_OT_COUNT; i++) {
    const base = i * ROW_BYTES;
    const dst = NONCE_BYTES + base;
    for (let k = 0; k < ROW_BYTES; k++) message[dst + k] = t0[base + k]! ^ t1[base + k]! ^ x[k]!;
  }
  const tables = checkTables(context, message.subarray(0, CHECK_OFFSET));
  const xs = new Uint32Array(WORDS_256);
  tables.accumulate(xs, x);
  const ts = columnCombination(tables, t0, BASE_OT_COUNT);
  message.set(new Uint8Array(xs.buffer), CHECK_OFFSET);
  message.set(new Uint8Array(ts.buffer), CHECK_OFFSET + FIELD_BYTES);
  return { message, columns: transposeColumns(words(t0), BASE_OT_COUNT, ROW_WORDS, OTE_BATCH / 32) };
}

/** Receiver's pads v_{x_j} = H(j, t_j) under the sender's nonce, OTE_BATCH * width, row-major by j. */
export function receiverPads(columns: Uint32Array, context: Uint8Array, senderNonce: Uint8Array, width: number): bigint[] {
  const hash = outputHash(context, senderNonce);
  const scratch = new Uint8Array(width * SCALAR_BYTES);
  const pads: bigint[] = [];
  for (let j = 0; j < OTE_BATCH; j++) outputPads(hash, j, column(columns, j), width, scratch, pads);
  return pads;
}

// ---------------------------------------------------------------- sender ("alice")

export interface OteSenderResult {
  /** OTE_BATCH * width each: v0_j and v1_j expanded. */
  readonly pads0: bigint[];
  readonly pads1: bigint[];
}

/**
 * Verifies the receiver's message (throws OtExtensionCheckError) and derives
 * both pads of every OT under `senderNonce` (32 fresh bytes per response, sent
 * along, so answering the same use sid twice never yields related pads).
 */
export function oteSend(seeds: Uint8Array, delta: Uint8Array, context: Uint8Array, message: Uint8Array, senderNonce: Uint8Array, width: number): OteSenderResult {
  if (message.length !== OTE_MESSAGE_BYTES) {
    throw new OtExtensionCheckError(`message must be ${OTE_MESSAGE_BYTES} bytes, got ${message.length}`);
  }
  const prgContext = oracle("kos/prg-context", [context, message.subarray(0, NONCE_BYTES)]);
  const q = prgRows(seeds, prgContext);
  for (let i = 0; i < BASE_OT_COUNT; i++) {
    const mask = -((delta[i >> 3]! >> (i & 7)) & 1) & 0xff;
    const base = i * ROW_BYTES;
    const src = NONCE_BYTES + base;
    for (let k = 0; k < ROW_BYTES; k++) q[base + k]! ^= mask & message[src + k]!;
  }
  const tables = checkTables(context, message.subarray(0, CHECK_OFFSET));
  const xs = words(message.slice(CHECK_OFFSET, CHECK_OFFSET + FIELD_BYTES));
  const ts = words(message.slice(CHECK_OFFSET + FIELD_BYTES));
  const expected = gfMul(xs, words(delta.slice()));
  for (let w = 0; w < WORDS_256; w++) expected[w]! ^= ts[w]!;
  const qs = columnCombination(tables, q, BASE_OT_COUNT);
  if (!equalBytes(new Uint8Array(qs.buffer), new Uint8Array(expected.buffer))) {
    throw new OtExtensionCheckError("KOS consistency check failed");
  }

  const transposed = transposeColumns(words(q), BASE_OT_COUNT, ROW_WORDS, OTE_BATCH / 32);
  const pads0: bigint[] = [];
  const pads1: bigint[] = [];
  const flipped = new Uint8Array(FIELD_BYTES);
  const hash = outputHash(context, senderNonce);
  const scratch = new Uint8Array(width * SCALAR_BYTES);
  for (let j = 0; j < OTE_BATCH; j++) {
    const qj = column(transposed, j);
    for (let k = 0; k < FIELD_BYTES; k++) flipped[k] = qj[k]! ^ delta[k]!;
    outputPads(hash, j, qj, width, scratch, pads0);
    outputPads(hash, j, flipped, width, scratch, pads1);
  }
  return { pads0, pads1 };
}

// ---------------------------------------------------------------- correlated OT over Z_q

/**
 * Sender side: for a correlation `alpha` (width scalars, the same for every
 * OT), returns the sender's shares c_j = -v0_j (unreduced representatives,
 * possibly negative: reduce after summing) and the corrections
 * tau_j = v0_j - v1_j + alpha mod q as OTE_BATCH * width * 32 bytes.
 */
export function correlateSend(pads: OteSenderResult, alpha: readonly bigint[]): { shares: bigint[]; corrections: Uint8Array } {
  const width = alpha.length;
  const corrections = new Uint8Array(OTE_BATCH * width * SCALAR_BYTES);
  const view = new DataView(corrections.buffer);
  const shares: bigint[] = new Array<bigint>(OTE_BATCH * width);
  for (let n = 0; n < OTE_BATCH * width; n++) {
    const v0 = pads.pads0[n]!;
    shares[n] = -v0;
    let tau = v0 - pads.pads1[n]! + alpha[n % width]!;
    tau %= CURVE_ORDER;
    if (tau < 0n) tau += CURVE_ORDER;
    writeScalar(view, n * SCALAR_BYTES, tau);
  }
  return { shares, corrections };
}

/**
 * Receiver side: d_j = v_{x_j} + x_j * tau_j, for corrections already parsed
 * as scalars in [0, q). Shares are unreduced non-negative representatives.
 */
export function correlateReceive(pads: readonly bigint[], choices: Uint8Array, corrections: readonly bigint[], width: number): bigint[] {
  if (corrections.length !== OTE_BATCH * width || pads.length !== OTE_BATCH * width) {
    throw new RangeError(`expected ${OTE_BATCH * width} pads and corrections`);
  }
  const shares: bigint[] = new Array<bigint>(OTE_BATCH * width);
  for (let j = 0; j < OTE_BATCH; j++) {
    const bit = BigInt((choices[j >> 3]! >> (j & 7)) & 1);
    for (let k = 0; k < width; k++) {
      const n = j * width + k;
      shares[n] = pads[n]! + bit * corrections[n]!;
    }
  }
  return shares;
}
