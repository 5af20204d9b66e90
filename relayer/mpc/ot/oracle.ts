/**
 * The random oracle of the OT layer: SHAKE256 (native) over a domain tag and
 * length-prefixed parts, with the output length chosen by the caller. Native
 * hashing matters here: one multiplication makes ~1,500 oracle calls.
 */
import { createHash } from "node:crypto";

const PREFIX = "mpc-relay/v1/ot/";

export function oracle(domain: string, parts: readonly Uint8Array[], outputLength = 32): Uint8Array {
  const h = createHash("shake256", { outputLength });
  const header = Buffer.from(PREFIX + domain, "utf8");
  const len = Buffer.alloc(4 * (parts.length + 1));
  len.writeUInt32BE(header.length, 0);
  parts.forEach((p, i) => len.writeUInt32BE(p.length, 4 * (i + 1)));
  h.update(len);
  h.update(header);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest()); // own, aligned copy (digests may live in a shared pool)
}

/** Big-endian u32. */
export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}
