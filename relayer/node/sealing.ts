/**
 * Sealing for the key store: AES-256-GCM under a key derived from the
 * operator's passphrase by scrypt with a per-store salt. Every sealed blob
 * names its record as GCM associated data, so a blob can't be moved to
 * another record (another key, generation or presignature).
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { writeFileDurably } from "../shared/durable-file.ts";

export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}
/** scrypt cost: 2^17 * 128 * 8 bytes = 128 MiB and ~0.3 s per unlock (OWASP-level). */
export const DEFAULT_KDF: KdfParams = { N: 1 << 17, r: 8, p: 1 };

export interface Sealed {
  iv: string;
  ct: string;
  tag: string;
}

export class WrongPassphraseError extends Error {
  constructor() {
    super("wrong passphrase: the key store's verifier does not decrypt (nothing was changed)");
    this.name = "WrongPassphraseError";
  }
}

const VERIFIER_PLAINTEXT = Buffer.from("mpc-relay key store verifier v1");
const VERIFIER_ID = "kdf-verifier";

interface KdfMeta {
  salt: string;
  params: KdfParams;
  verifier: Sealed;
}

/**
 * The store key from the passphrase. The KDF parameters and a verifier live in
 * `metaPath`; a wrong passphrase is detected there before the store is opened.
 * `create` is false when the store exists: a missing KDF file is then an error,
 * never a silent new passphrase.
 */
export async function unlock(metaPath: string, passphrase: string, kdf: KdfParams, create: boolean): Promise<Buffer> {
  if (passphrase.length < 8) throw new Error("passphrase must have at least 8 characters");
  const metaText = await readFile(metaPath, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  if (metaText === null) {
    if (!create) throw new Error(`the key store exists but its KDF file ${metaPath} is missing`);
    const salt = randomBytes(32);
    const key = await deriveKey(passphrase, salt, kdf);
    const meta: KdfMeta = { salt: salt.toString("base64"), params: kdf, verifier: seal(key, VERIFIER_PLAINTEXT, VERIFIER_ID) };
    // A crash leaves either no file or a complete one.
    await writeFileDurably(metaPath, JSON.stringify(meta));
    return key;
  }
  const meta = JSON.parse(metaText) as KdfMeta;
  const key = await deriveKey(passphrase, Buffer.from(meta.salt, "base64"), meta.params);
  let plain: Buffer;
  try {
    plain = open(key, meta.verifier, VERIFIER_ID);
  } catch {
    throw new WrongPassphraseError();
  }
  if (plain.length !== VERIFIER_PLAINTEXT.length || !timingSafeEqual(plain, VERIFIER_PLAINTEXT)) throw new WrongPassphraseError();
  return key;
}

function deriveKey(passphrase: string, salt: Buffer, params: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize("NFKC"), salt, 32, { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export function seal(key: Buffer, plaintext: Uint8Array, recordId: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(recordId));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv: iv.toString("base64"), ct: ct.toString("base64"), tag: cipher.getAuthTag().toString("base64") };
}

export function open(key: Buffer, sealed: Sealed, recordId: string): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.iv, "base64"));
  decipher.setAAD(Buffer.from(recordId));
  decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
  return Buffer.concat([decipher.update(Buffer.from(sealed.ct, "base64")), decipher.final()]);
}
