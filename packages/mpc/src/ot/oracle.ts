/**
 * The random oracle of the OT layer: SHA-256 (native) over a domain tag and
 * length-prefixed parts; longer outputs expand that digest with SHAKE256.
 * Absorbing with SHA-256 keeps the large inputs (the 24 KB OT-extension
 * matrix, the 40 KB correction values) cheap.
 */
import { createHash } from "node:crypto";

const PREFIX = "mpc-relay/v1/ot/";
const DIGEST_BYTES = 32;

export function oracle(domain: string, parts: readonly Uint8Array[], outputLength = DIGEST_BYTES): Uint8Array {
  const h = createHash("sha256");
  const header = Buffer.from(PREFIX + domain, "utf8");
  const lengths = Buffer.alloc(4 * (parts.length + 1));
  lengths.writeUInt32BE(header.length, 0);
  parts.forEach((p, i) => lengths.writeUInt32BE(p.length, 4 * (i + 1)));
  h.update(lengths);
  h.update(header);
  for (const p of parts) h.update(p);
  const digest = h.digest();
  if (outputLength === DIGEST_BYTES) return new Uint8Array(digest); // own, aligned copy
  const lengthTag = Buffer.alloc(4);
  lengthTag.writeUInt32BE(outputLength, 0);
  return new Uint8Array(createHash("shake256", { outputLength }).update(digest).update(lengthTag).digest());
}

/** Big-endian u32. */
export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}
