/**
 * Unambiguous, domain-separated hashing for protocol transcripts.
 *
 * Every item is length-prefixed (u32 big-endian) and tagged, so no two
 * different sequences of items hash the same (the TSSHOCK class of bugs).
 * A transcript starts from a protocol label and is meant to absorb the session
 * id, key id, round, sender and recipient before any payload.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

const PROTOCOL_TAG = "mpc-relay/v1";

type Item = Uint8Array | string | number | bigint;

export class Transcript {
  private readonly hash = sha256.create();

  constructor(label: string) {
    this.absorb("label", `${PROTOCOL_TAG}/${label}`);
  }

  /** Absorbs one labelled item. Numbers are u32; bigints are 32-byte big-endian. */
  absorb(label: string, value: Item): this {
    this.writeChunk(utf8ToBytes(label));
    this.writeChunk(encodeItem(value));
    return this;
  }

  /** Absorbs a labelled list, its length included. */
  absorbList(label: string, values: readonly Item[]): this {
    this.absorb(label, values.length);
    for (const value of values) this.writeChunk(encodeItem(value));
    return this;
  }

  /** Clones the state so one prefix can feed several challenges. */
  fork(label: string): Transcript {
    const copy = Object.create(Transcript.prototype) as Transcript;
    (copy as unknown as { hash: ReturnType<typeof sha256.create> }).hash = this.hash.clone();
    return copy.absorb("fork", label);
  }

  /** 32-byte digest; the transcript can't be used afterwards. */
  digest(): Uint8Array {
    return this.hash.digest();
  }

  private writeChunk(bytes: Uint8Array): void {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.length, false);
    this.hash.update(len);
    this.hash.update(bytes);
  }
}

function encodeItem(value: Item): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return utf8ToBytes(value);
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`not a u32: ${value}`);
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value, false);
    return out;
  }
  if (value < 0n || value >= 1n << 256n) throw new RangeError("bigint out of 256-bit range");
  const hex = value.toString(16).padStart(64, "0");
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
