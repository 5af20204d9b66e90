/**
 * Minimal length-checked binary encoding for protocol payloads, key shares and
 * presignatures. Every reader call validates lengths; decoded points and
 * scalars go through curve.ts validation, so untrusted bytes never reach the
 * protocol logic unchecked.
 */
import { type Point, pointFromBytes, POINT_BYTES, SCALAR_BYTES, scalarFromBytes, scalarToBytes } from "./curve.ts";

export class DecodeError extends Error {
  constructor(reason: string) {
    super(`malformed encoding: ${reason}`);
    this.name = "DecodeError";
  }
}

export class Writer {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`not a u8: ${value}`);
    return this.raw(Uint8Array.of(value));
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`not a u32: ${value}`);
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value, false);
    return this.raw(out);
  }

  /** Fixed-length bytes (the reader must know the length). */
  raw(bytes: Uint8Array): this {
    this.chunks.push(bytes);
    this.length += bytes.length;
    return this;
  }

  /** Length-prefixed bytes. */
  bytes(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes);
  }

  string(value: string): this {
    return this.bytes(new TextEncoder().encode(value));
  }

  scalar(value: bigint): this {
    return this.raw(scalarToBytes(value));
  }

  point(value: Point): this {
    return this.raw(value);
  }

  indices(values: readonly number[]): this {
    this.u32(values.length);
    for (const v of values) this.u32(v);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

export class Reader {
  private offset = 0;

  constructor(
    private readonly data: Uint8Array,
    private readonly what: string,
  ) {}

  private take(length: number): Uint8Array {
    if (this.offset + length > this.data.length) {
      throw new DecodeError(`${this.what}: truncated (need ${length} bytes at offset ${this.offset}, have ${this.data.length})`);
    }
    const out = this.data.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u32(): number {
    return new DataView(this.take(4).buffer).getUint32(0, false);
  }

  raw(length: number): Uint8Array {
    return this.take(length);
  }

  bytes(maxLength = 1 << 24): Uint8Array {
    const length = this.u32();
    if (length > maxLength) throw new DecodeError(`${this.what}: field of ${length} bytes exceeds ${maxLength}`);
    return this.take(length);
  }

  string(maxLength = 256): string {
    return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes(maxLength));
  }

  /** Canonical scalar; non-zero unless allowZero. */
  scalar(allowZero = false): bigint {
    try {
      return scalarFromBytes(this.take(SCALAR_BYTES), allowZero);
    } catch (error) {
      throw new DecodeError(`${this.what}: ${(error as Error).message}`);
    }
  }

  point(): Point {
    const bytes = this.take(POINT_BYTES);
    try {
      return pointFromBytes(bytes);
    } catch (error) {
      throw new DecodeError(`${this.what}: ${(error as Error).message}`);
    }
  }

  indices(maxCount = 1024): number[] {
    const count = this.u32();
    if (count > maxCount) throw new DecodeError(`${this.what}: ${count} indices exceed ${maxCount}`);
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(this.u32());
    return out;
  }

  /** Asserts every byte was consumed (no trailing garbage). */
  end(): void {
    if (this.offset !== this.data.length) {
      throw new DecodeError(`${this.what}: ${this.data.length - this.offset} trailing bytes`);
    }
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}
