/**
 * Bit-matrix and GF(2^256) helpers for the OT extension, on 32-bit words.
 *
 * Bit convention everywhere: bit j of a byte string is (bytes[j >> 3] >> (j & 7)) & 1
 * (LSB first). On a little-endian host a Uint32Array view then holds bit j in
 * word j >> 5 at position j & 31, which is what the word-level code relies on.
 */
import { endianness } from "node:os";

if (endianness() !== "LE") throw new Error("packages/mpc/src/ot assumes a little-endian host");

/** Words in a 256-bit value. */
export const WORDS_256 = 8;

/** Reads bit j (LSB-first) of a byte string. */
export function getBit(bytes: Uint8Array, j: number): number {
  return (bytes[j >> 3]! >> (j & 7)) & 1;
}

/** Constant-time equality of two byte strings of the same length. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Returns `mask ? b : a` byte-wise without branching on `mask` (mask is 0 or 1). */
export function selectBytes(bit: number, a: Uint8Array, b: Uint8Array): Uint8Array {
  const m = -(bit & 1) & 0xff;
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ (m & (a[i]! ^ b[i]!));
  return out;
}

/** Word view of a byte array whose offset and length are multiples of 4. */
export function words(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 !== 0 || bytes.length % 4 !== 0) throw new RangeError("unaligned word view");
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** In-place transpose of a 32x32 bit block held in a[0..32) (row r, column c = bit c of a[r]). */
function transpose32(a: Uint32Array): void {
  let m = 0x0000ffff;
  for (let j = 16; j !== 0; j >>>= 1, m ^= m << j) {
    for (let k = 0; k < 32; k = ((k | j) + 1) & ~j) {
      const t = ((a[k]! >>> j) ^ a[k | j]!) & m;
      a[k]! ^= t << j;
      a[k | j]! ^= t;
    }
  }
}

/**
 * Transposes the first `colWords * 32` columns of a bit matrix with `rows`
 * rows (a multiple of 32) of `rowWords` words each. Returns column-major
 * output: column j occupies words [j * rows / 32, (j + 1) * rows / 32).
 */
export function transposeColumns(matrix: Uint32Array, rows: number, rowWords: number, colWords: number): Uint32Array {
  if (rows % 32 !== 0 || colWords > rowWords || matrix.length !== rows * rowWords) {
    throw new RangeError("transpose: bad dimensions");
  }
  const rowBlocks = rows / 32;
  const out = new Uint32Array(colWords * 32 * rowBlocks);
  const block = new Uint32Array(32);
  for (let rb = 0; rb < rowBlocks; rb++) {
    for (let cw = 0; cw < colWords; cw++) {
      for (let r = 0; r < 32; r++) block[r] = matrix[(rb * 32 + r) * rowWords + cw]!;
      transpose32(block);
      for (let c = 0; c < 32; c++) out[(cw * 32 + c) * rowBlocks + rb] = block[c]!;
    }
  }
  return out;
}

// ---------------------------------------------------------------- GF(2^256)
// Field GF(2)[X] / (X^256 + X^10 + X^5 + X^2 + 1); element = 8 words, bit i = coefficient of X^i.

const REDUCTION_LOW = 0x425; // X^10 + X^5 + X^2 + 1

/** acc = acc * X in place. */
function mulByX(acc: Uint32Array): void {
  const carry = acc[7]! >>> 31;
  for (let w = 7; w > 0; w--) acc[w] = (acc[w]! << 1) | (acc[w - 1]! >>> 31);
  acc[0] = (acc[0]! << 1) ^ (-carry & REDUCTION_LOW);
}

/** General product in GF(2^256) (shift-and-add, branch-free on the bits of b). */
export function gfMul(a: Uint32Array, b: Uint32Array): Uint32Array {
  const acc = new Uint32Array(WORDS_256);
  for (let i = 255; i >= 0; i--) {
    mulByX(acc);
    const m = -((b[i >>> 5]! >>> (i & 31)) & 1);
    for (let w = 0; w < WORDS_256; w++) acc[w]! ^= a[w]! & m;
  }
  return acc;
}

/**
 * Nibble-indexed lookup tables over field elements chi_0..chi_{n-1} (n a
 * multiple of 8; "method of four Russians"): table p, entry v = XOR of
 * chi_{4p+b} for each bit b set in v. Then sum_j bit_j(row) * chi_j costs one
 * lookup per nibble of the row. 16-entry tables keep the working set small.
 */
export class ChiTables {
  private readonly tables: Uint32Array;
  readonly byteCount: number;

  constructor(chi: Uint32Array, count: number) {
    if (count % 8 !== 0 || chi.length !== count * WORDS_256) throw new RangeError("ChiTables: bad dimensions");
    this.byteCount = count / 8;
    const nibbles = count / 4;
    const t = (this.tables = new Uint32Array(nibbles * 16 * WORDS_256));
    for (let p = 0; p < nibbles; p++) {
      const base = p * 16 * WORDS_256;
      for (let v = 1; v < 16; v++) {
        const low = 31 - Math.clz32(v & -v); // index of the lowest set bit
        const rest = base + (v & (v - 1)) * WORDS_256;
        const chiOffset = (4 * p + low) * WORDS_256;
        const dst = base + v * WORDS_256;
        for (let w = 0; w < WORDS_256; w++) t[dst + w] = t[rest + w]! ^ chi[chiOffset + w]!;
      }
    }
  }

  /** acc ^= sum_j bit_j(row) * chi_j for a row of byteCount bytes starting at rowOffset. */
  accumulate(acc: Uint32Array, row: Uint8Array, rowOffset = 0): void {
    const t = this.tables;
    let y0 = 0,
      y1 = 0,
      y2 = 0,
      y3 = 0,
      y4 = 0,
      y5 = 0,
      y6 = 0,
      y7 = 0;
    for (let p = 0; p < this.byteCount; p++) {
      const byte = row[rowOffset + p]!;
      let src = (p * 32 + (byte & 15)) * WORDS_256;
      for (let half = 0; half < 2; half++) {
        y0 ^= t[src]!;
        y1 ^= t[src + 1]!;
        y2 ^= t[src + 2]!;
        y3 ^= t[src + 3]!;
        y4 ^= t[src + 4]!;
        y5 ^= t[src + 5]!;
        y6 ^= t[src + 6]!;
        y7 ^= t[src + 7]!;
        src = (p * 32 + 16 + (byte >>> 4)) * WORDS_256;
      }
    }
    acc[0]! ^= y0;
    acc[1]! ^= y1;
    acc[2]! ^= y2;
    acc[3]! ^= y3;
    acc[4]! ^= y4;
    acc[5]! ^= y5;
    acc[6]! ^= y6;
    acc[7]! ^= y7;
  }
}

/**
 * KOS check value sum_j chi_j * col_j of a matrix given by its rows (row i =
 * coefficient of X^i of every column), using linearity:
 * sum_j chi_j * col_j = sum_i X^i * (sum_j M[i][j] * chi_j).
 */
export function columnCombination(tables: ChiTables, matrix: Uint8Array, rows: number): Uint32Array {
  const rowBytes = tables.byteCount;
  if (matrix.length !== rows * rowBytes) throw new RangeError("columnCombination: bad dimensions");
  const acc = new Uint32Array(WORDS_256);
  for (let i = rows - 1; i >= 0; i--) {
    mulByX(acc);
    tables.accumulate(acc, matrix, i * rowBytes);
  }
  return acc;
}
