/**
 * Many SHA-256 hashes of fixed-shape messages that share a 64-byte prefix:
 *   SHA-256( tagHash(domain) || context || u32be(a) || u32be(b) || value )  (104 bytes)
 * The prefix block is compressed once (midstate); each hash then costs one
 * compression, done here in plain JS without allocations. The OT extension
 * computes ~1,500 of them per multiplication, where native one-shot hashing
 * spends most of its time in call overhead. Outputs are ordinary SHA-256
 * digests (the tests compare them with node:crypto).
 */
import { createHash } from "node:crypto";

function integerRoot(n: bigint, k: bigint): bigint {
  // floor(n^(1/k)) by Newton's method from an over-estimate
  let x = 1n << (BigInt(n.toString(2).length) / k + 1n);
  for (;;) {
    const y = ((k - 1n) * x + n / x ** (k - 1n)) / k;
    if (y >= x) return x;
    x = y;
  }
}

const PRIMES: number[] = [];
for (let n = 2; PRIMES.length < 64; n++) if (PRIMES.every((p) => n % p !== 0)) PRIMES.push(n);
/** Round constants: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = Uint32Array.from(PRIMES, (p) => Number(integerRoot(BigInt(p) << 96n, 3n) & 0xffffffffn));
/** Initial state: fractional parts of the square roots of the first 8 primes. */
const IV = Uint32Array.from(PRIMES.slice(0, 8), (p) => Number(integerRoot(BigInt(p) << 64n, 2n) & 0xffffffffn));

const MESSAGE_BYTES = 104;

function compress(state: Uint32Array, w: Uint32Array): void {
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15]!;
    const y = w[t - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
  }
  let a = state[0]! | 0;
  let b = state[1]! | 0;
  let c = state[2]! | 0;
  let d = state[3]! | 0;
  let e = state[4]! | 0;
  let f = state[5]! | 0;
  let g = state[6]! | 0;
  let h = state[7]! | 0;
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = state[0]! + a;
  state[1] = state[1]! + b;
  state[2] = state[2]! + c;
  state[3] = state[3]! + d;
  state[4] = state[4]! + e;
  state[5] = state[5]! + f;
  state[6] = state[6]! + g;
  state[7] = state[7]! + h;
}

function readWord(bytes: Uint8Array, o: number): number {
  return ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
}

export class PrefixedSha256 {
  private readonly midstate = new Uint32Array(8);
  private readonly state = new Uint32Array(8);
  private readonly w = new Uint32Array(64);

  /** `context` must be 32 bytes. */
  constructor(domain: string, context: Uint8Array) {
    if (context.length !== 32) throw new RangeError("context must be 32 bytes");
    const prefix = new Uint8Array(64);
    prefix.set(createHash("sha256").update(`mpc-relay/v1/ot/${domain}`).digest(), 0);
    prefix.set(context, 32);
    for (let t = 0; t < 16; t++) this.w[t] = readWord(prefix, 4 * t);
    this.midstate.set(IV);
    compress(this.midstate, this.w);
  }

  /** Writes SHA-256(prefix || u32(a) || u32(b) || value[valueOffset..+32]) to out[outOffset..+32]. */
  digest(a: number, b: number, value: Uint8Array, valueOffset: number, out: Uint8Array, outOffset: number): void {
    const w = this.w;
    w[0] = a;
    w[1] = b;
    for (let t = 0; t < 8; t++) w[2 + t] = readWord(value, valueOffset + 4 * t);
    w[10] = 0x80000000;
    w[11] = 0;
    w[12] = 0;
    w[13] = 0;
    w[14] = 0;
    w[15] = MESSAGE_BYTES * 8;
    const s = this.state;
    s.set(this.midstate);
    compress(s, w);
    for (let t = 0; t < 8; t++) {
      const v = s[t]!;
      const o = outOffset + 4 * t;
      out[o] = v >>> 24;
      out[o + 1] = (v >>> 16) & 0xff;
      out[o + 2] = (v >>> 8) & 0xff;
      out[o + 3] = v & 0xff;
    }
  }

  /** `blocks` consecutive digests with b = 0 .. blocks-1: a 32*blocks-byte expansion of (a, value). */
  expand(a: number, value: Uint8Array, valueOffset: number, blocks: number, out: Uint8Array, outOffset: number): void {
    for (let b = 0; b < blocks; b++) this.digest(a, b, value, valueOffset, out, outOffset + 32 * b);
  }
}
