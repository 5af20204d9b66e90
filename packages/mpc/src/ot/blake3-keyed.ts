/**
 * Many short keyed BLAKE3 hashes (BLAKE3 spec, keyed_hash mode with XOF
 * output) of fixed-shape messages u32be(index) || value[32]: one 36-byte
 * block, so each 64 bytes of output cost one compression, done here in plain
 * JS without allocations. The OT extension needs ~4,000 such outputs per
 * multiplication, where per-call overhead of native hashing dominates. The
 * key is derived from (domain, context) with SHA-256, so every output is
 * bound to the domain and the session context. Outputs equal @noble/hashes'
 * blake3(message, { key, dkLen }) (checked by the tests).
 */
import { createHash } from "node:crypto";

const IV = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const CHUNK_START = 1;
const CHUNK_END = 2;
const ROOT = 8;
const KEYED_HASH = 16;
const MESSAGE_BYTES = 36;
const FLAGS = CHUNK_START | CHUNK_END | ROOT | KEYED_HASH;

/** Message word order of each of the 7 rounds (the permutation applied round after round). */
const SCHEDULE: Uint8Array = (() => {
  const permutation = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
  const out = new Uint8Array(7 * 16);
  let order = [...Array(16).keys()];
  for (let r = 0; r < 7; r++) {
    out.set(order, r * 16);
    order = permutation.map((p) => order[p]!);
  }
  return out;
})();

export class KeyedBlake3 {
  private readonly key = new Uint32Array(8);
  private readonly m = new Uint32Array(16);
  private readonly v = new Uint32Array(16);

  /** `context` must be 32 bytes. */
  constructor(domain: string, context: Uint8Array) {
    if (context.length !== 32) throw new RangeError("context must be 32 bytes");
    const key = createHash("sha256").update(`mpc-relay/v1/ot/${domain}`).update(context).digest();
    for (let i = 0; i < 8; i++) this.key[i] = key.readUInt32LE(4 * i);
  }

  /**
   * Writes `blocks` * 64 bytes of output (truncated to `length`) of
   * BLAKE3_keyed(u32be(index) || value[valueOffset..+32]) to out[outOffset..].
   */
  hash(index: number, value: Uint8Array, valueOffset: number, out: Uint8Array, outOffset: number, length: number): void {
    const m = this.m;
    m[0] = ((index >>> 24) & 0xff) | (((index >>> 16) & 0xff) << 8) | (((index >>> 8) & 0xff) << 16) | ((index & 0xff) << 24);
    for (let w = 0; w < 8; w++) {
      const o = valueOffset + 4 * w;
      m[1 + w] = value[o]! | (value[o + 1]! << 8) | (value[o + 2]! << 16) | (value[o + 3]! << 24);
    }
    for (let w = 9; w < 16; w++) m[w] = 0;
    for (let block = 0; block * 64 < length; block++) {
      this.compress(block);
      const v = this.v;
      const base = outOffset + block * 64;
      const end = Math.min(64, length - block * 64);
      for (let i = 0; i < end; i += 4) {
        const w = i >>> 2;
        const word = w < 8 ? v[w]! ^ v[w + 8]! : v[w]! ^ this.key[w - 8]!;
        out[base + i] = word & 0xff;
        out[base + i + 1] = (word >>> 8) & 0xff;
        out[base + i + 2] = (word >>> 16) & 0xff;
        out[base + i + 3] = word >>> 24;
      }
    }
  }

  private compress(counter: number): void {
    const m = this.m;
    const k = this.key;
    let v0 = k[0]! | 0,
      v1 = k[1]! | 0,
      v2 = k[2]! | 0,
      v3 = k[3]! | 0;
    let v4 = k[4]! | 0,
      v5 = k[5]! | 0,
      v6 = k[6]! | 0,
      v7 = k[7]! | 0;
    let v8 = IV[0]! | 0,
      v9 = IV[1]! | 0,
      v10 = IV[2]! | 0,
      v11 = IV[3]! | 0;
    let v12 = counter | 0,
      v13 = 0,
      v14 = MESSAGE_BYTES,
      v15 = FLAGS;
    for (let r = 0; r < 7; r++) {
      const s = r * 16;
      // columns
      v0 = (v0 + v4 + m[SCHEDULE[s]!]!) | 0;
      v12 ^= v0;
      v12 = (v12 >>> 16) | (v12 << 16);
      v8 = (v8 + v12) | 0;
      v4 ^= v8;
      v4 = (v4 >>> 12) | (v4 << 20);
      v0 = (v0 + v4 + m[SCHEDULE[s + 1]!]!) | 0;
      v12 ^= v0;
      v12 = (v12 >>> 8) | (v12 << 24);
      v8 = (v8 + v12) | 0;
      v4 ^= v8;
      v4 = (v4 >>> 7) | (v4 << 25);

      v1 = (v1 + v5 + m[SCHEDULE[s + 2]!]!) | 0;
      v13 ^= v1;
      v13 = (v13 >>> 16) | (v13 << 16);
      v9 = (v9 + v13) | 0;
      v5 ^= v9;
      v5 = (v5 >>> 12) | (v5 << 20);
      v1 = (v1 + v5 + m[SCHEDULE[s + 3]!]!) | 0;
      v13 ^= v1;
      v13 = (v13 >>> 8) | (v13 << 24);
      v9 = (v9 + v13) | 0;
      v5 ^= v9;
      v5 = (v5 >>> 7) | (v5 << 25);

      v2 = (v2 + v6 + m[SCHEDULE[s + 4]!]!) | 0;
      v14 ^= v2;
      v14 = (v14 >>> 16) | (v14 << 16);
      v10 = (v10 + v14) | 0;
      v6 ^= v10;
      v6 = (v6 >>> 12) | (v6 << 20);
      v2 = (v2 + v6 + m[SCHEDULE[s + 5]!]!) | 0;
      v14 ^= v2;
      v14 = (v14 >>> 8) | (v14 << 24);
      v10 = (v10 + v14) | 0;
      v6 ^= v10;
      v6 = (v6 >>> 7) | (v6 << 25);

      v3 = (v3 + v7 + m[SCHEDULE[s + 6]!]!) | 0;
      v15 ^= v3;
      v15 = (v15 >>> 16) | (v15 << 16);
      v11 = (v11 + v15) | 0;
      v7 ^= v11;
      v7 = (v7 >>> 12) | (v7 << 20);
      v3 = (v3 + v7 + m[SCHEDULE[s + 7]!]!) | 0;
      v15 ^= v3;
      v15 = (v15 >>> 8) | (v15 << 24);
      v11 = (v11 + v15) | 0;
      v7 ^= v11;
      v7 = (v7 >>> 7) | (v7 << 25);

      // diagonals
      v0 = (v0 + v5 + m[SCHEDULE[s + 8]!]!) | 0;
      v15 ^= v0;
      v15 = (v15 >>> 16) | (v15 << 16);
      v10 = (v10 + v15) | 0;
      v5 ^= v10;
      v5 = (v5 >>> 12) | (v5 << 20);
      v0 = (v0 + v5 + m[SCHEDULE[s + 9]!]!) | 0;
      v15 ^= v0;
      v15 = (v15 >>> 8) | (v15 << 24);
      v10 = (v10 + v15) | 0;
      v5 ^= v10;
      v5 = (v5 >>> 7) | (v5 << 25);

      v1 = (v1 + v6 + m[SCHEDULE[s + 10]!]!) | 0;
      v12 ^= v1;
      v12 = (v12 >>> 16) | (v12 << 16);
      v11 = (v11 + v12) | 0;
      v6 ^= v11;
      v6 = (v6 >>> 12) | (v6 << 20);
      v1 = (v1 + v6 + m[SCHEDULE[s + 11]!]!) | 0;
      v12 ^= v1;
      v12 = (v12 >>> 8) | (v12 << 24);
      v11 = (v11 + v12) | 0;
      v6 ^= v11;
      v6 = (v6 >>> 7) | (v6 << 25);

      v2 = (v2 + v7 + m[SCHEDULE[s + 12]!]!) | 0;
      v13 ^= v2;
      v13 = (v13 >>> 16) | (v13 << 16);
      v8 = (v8 + v13) | 0;
      v7 ^= v8;
      v7 = (v7 >>> 12) | (v7 << 20);
      v2 = (v2 + v7 + m[SCHEDULE[s + 13]!]!) | 0;
      v13 ^= v2;
      v13 = (v13 >>> 8) | (v13 << 24);
      v8 = (v8 + v13) | 0;
      v7 ^= v8;
      v7 = (v7 >>> 7) | (v7 << 25);

      v3 = (v3 + v4 + m[SCHEDULE[s + 14]!]!) | 0;
      v14 ^= v3;
      v14 = (v14 >>> 16) | (v14 << 16);
      v9 = (v9 + v14) | 0;
      v4 ^= v9;
      v4 = (v4 >>> 12) | (v4 << 20);
      v3 = (v3 + v4 + m[SCHEDULE[s + 15]!]!) | 0;
      v14 ^= v3;
      v14 = (v14 >>> 8) | (v14 << 24);
      v9 = (v9 + v14) | 0;
      v4 ^= v9;
      v4 = (v4 >>> 7) | (v4 << 25);
    }
    const v = this.v;
    v[0] = v0;
    v[1] = v1;
    v[2] = v2;
    v[3] = v3;
    v[4] = v4;
    v[5] = v5;
    v[6] = v6;
    v[7] = v7;
    v[8] = v8;
    v[9] = v9;
    v[10] = v10;
    v[11] = v11;
    v[12] = v12;
    v[13] = v13;
    v[14] = v14;
    v[15] = v15;
  }
}
