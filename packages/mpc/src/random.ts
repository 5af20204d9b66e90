/** Randomness for the protocols. */
import type { RandomBytes } from "./types.ts";

/** crypto.getRandomValues-backed randomness (the product default). */
export const cryptoRandomBytes: RandomBytes = (length) => {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  }
  return out;
};
