/**
 * The node's key store: an embedded LevelDB (classic-level).
 *
 * Secrets (key shares, presignatures) are sealed with AES-256-GCM under a key
 * derived from the operator's passphrase by scrypt with a per-store salt. The
 * record's identity (kind, key id, sub id) is the GCM associated data, so a
 * sealed blob can't be moved to another record. A verifier record detects a
 * wrong passphrase before anything is written. Every multi-record change is one
 * LevelDB batch, so a crash never leaves a half-written READY key.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { access, readFile, rename, writeFile } from "node:fs/promises";
import { ClassicLevel } from "classic-level";
import type { PartyIndex } from "../mpc/types.ts";

export type KeyStatus = "PENDING" | "READY" | "ERROR";

export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}
/** scrypt cost: 2^17 * 128 * 8 bytes = 128 MiB and ~0.3 s per unlock (OWASP-level). */
export const DEFAULT_KDF: KdfParams = { N: 1 << 17, r: 8, p: 1 };

interface Sealed {
  iv: string;
  ct: string;
  tag: string;
}

export interface KeyRecord {
  keyId: string;
  sessionId: string;
  status: KeyStatus;
  threshold: number;
  participants: PartyIndex[];
  publicKey: string | null;
  address: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

interface StoredKey extends KeyRecord {
  share: Sealed | null;
}

export interface PresignRecord {
  keyId: string;
  presignId: string;
  /** The coordinator that created it; only it spends it. */
  owner: PartyIndex;
  signers: PartyIndex[];
  consumed: boolean;
  createdAt: number;
}

interface StoredPresign extends PresignRecord {
  data: Sealed;
}

export interface AbsenceRecord {
  sessionId: string;
  keyId: string;
  operation: string;
  absentees: PartyIndex[];
  at: number;
}

/** One look of the node at the staking chain's head: block `block` was the head at wall time `at` (ms) or before. */
export interface ClockObservation {
  block: bigint;
  at: number;
}

/** A stored entry that could not be read back, with why. */
export interface MalformedEntry {
  key: string;
  reason: string;
}

export class WrongPassphraseError extends Error {
  constructor() {
    super("wrong passphrase: the key store's verifier does not decrypt (nothing was changed)");
    this.name = "WrongPassphraseError";
  }
}

const VERIFIER_PLAINTEXT = Buffer.from("mpc-relay key store verifier v1");
const VERIFIER_ID = "kdf-verifier";
/** Key state changes and presignature consumption reach the disk (fsync) before the call returns. */
const DURABLE = { sync: true } as const;

interface KdfMeta {
  salt: string;
  params: KdfParams;
  verifier: Sealed;
}

export class KeyStore {
  private constructor(
    private readonly db: ClassicLevel<string, string>,
    private readonly key: Buffer,
  ) {}

  /**
   * Unlocks (or creates) the store. The KDF parameters and the verifier live in
   * `<path>.kdf.json`, checked before LevelDB is even opened, so a wrong
   * passphrase touches nothing. Throws WrongPassphraseError.
   */
  static async open(path: string, passphrase: string, kdf: KdfParams = DEFAULT_KDF): Promise<KeyStore> {
    if (passphrase.length < 8) throw new Error("passphrase must have at least 8 characters");
    const metaPath = `${path}.kdf.json`;
    let key: Buffer;
    const metaText = await readFile(metaPath, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return null;
      throw error;
    });
    if (metaText === null) {
      if (await exists(path)) throw new Error(`key store ${path} exists but its KDF file ${metaPath} is missing`);
      const salt = randomBytes(32);
      key = await deriveKey(passphrase, salt, kdf);
      const meta: KdfMeta = { salt: salt.toString("base64"), params: kdf, verifier: seal(key, VERIFIER_PLAINTEXT, VERIFIER_ID) };
      // Written whole then renamed: a crash leaves either no file or a complete one.
      await writeFile(`${metaPath}.tmp`, JSON.stringify(meta), { mode: 0o600 });
      await rename(`${metaPath}.tmp`, metaPath);
    } else {
      const meta = JSON.parse(metaText) as KdfMeta;
      key = await deriveKey(passphrase, Buffer.from(meta.salt, "base64"), meta.params);
      let plain: Buffer;
      try {
        plain = open(key, meta.verifier, VERIFIER_ID);
      } catch {
        throw new WrongPassphraseError();
      }
      if (plain.length !== VERIFIER_PLAINTEXT.length || !timingSafeEqual(plain, VERIFIER_PLAINTEXT)) throw new WrongPassphraseError();
    }
    const db = new ClassicLevel<string, string>(path, { keyEncoding: "utf8", valueEncoding: "utf8" });
    await db.open();
    return new KeyStore(db, key);
  }

  async close(): Promise<void> {
    this.key.fill(0);
    await this.db.close();
  }

  // ---- keys ----

  async getKey(keyId: string): Promise<KeyRecord | null> {
    const stored = await this.getStoredKey(keyId);
    return stored === null ? null : publicPart(stored);
  }

  async listKeys(): Promise<KeyRecord[]> {
    const out: KeyRecord[] = [];
    for await (const value of this.db.values({ gte: "key/", lt: "key0" })) out.push(publicPart(JSON.parse(value) as StoredKey));
    return out;
  }

  /** Decrypts the share of a READY key. */
  async readShare(keyId: string): Promise<Uint8Array> {
    const stored = await this.getStoredKey(keyId);
    if (stored === null || stored.status !== "READY" || stored.share === null) throw new Error(`key ${keyId} is not READY`);
    return new Uint8Array(open(this.key, stored.share, `key/${keyId}`));
  }

  /** Writes a PENDING record (a keyGen or reshare reserved this key id). */
  async putPending(record: Omit<KeyRecord, "status" | "publicKey" | "address" | "error" | "createdAt" | "updatedAt">): Promise<void> {
    const now = Date.now();
    const previous = await this.getStoredKey(record.keyId);
    const stored: StoredKey = {
      ...record,
      status: "PENDING",
      publicKey: null,
      address: null,
      error: null,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      share: null,
    };
    await this.db.put(`key/${record.keyId}`, JSON.stringify(stored), DURABLE);
  }

  /**
   * Atomically stores a READY key with its sealed share and drops the key's
   * presignatures (they belong to the previous share, if any).
   */
  async putReady(
    record: Omit<KeyRecord, "status" | "error" | "createdAt" | "updatedAt">,
    share: Uint8Array,
  ): Promise<void> {
    const now = Date.now();
    const previous = await this.getStoredKey(record.keyId);
    const stored: StoredKey = {
      ...record,
      status: "READY",
      error: null,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      share: seal(this.key, share, `key/${record.keyId}`),
    };
    const batch = this.db.batch().put(`key/${record.keyId}`, JSON.stringify(stored));
    for await (const k of this.db.keys({ gte: `presig/${record.keyId}/`, lt: `presig/${record.keyId}0` })) batch.del(k);
    await batch.write(DURABLE);
  }

  /** Marks a key ERROR (a PENDING keyGen failed); a READY key is never downgraded. */
  async markError(keyId: string, sessionId: string, reason: string): Promise<void> {
    const stored = await this.getStoredKey(keyId);
    if (stored === null || stored.status === "READY" || stored.sessionId !== sessionId) return;
    const next: StoredKey = { ...stored, status: "ERROR", error: reason, updatedAt: Date.now(), share: null };
    await this.db.put(`key/${keyId}`, JSON.stringify(next), DURABLE);
  }

  /** PENDING keys whose session died with the process become ERROR at startup. */
  async failInterruptedKeys(): Promise<string[]> {
    const failed: string[] = [];
    for (const record of await this.listKeys()) {
      if (record.status !== "PENDING") continue;
      await this.markError(record.keyId, record.sessionId, "interrupted: the node restarted during the session");
      failed.push(record.keyId);
    }
    return failed;
  }

  /** Deletes the key and everything sealed for it, in one batch. */
  async deleteKey(keyId: string): Promise<boolean> {
    const existed = (await this.getStoredKey(keyId)) !== null;
    const batch = this.db.batch().del(`key/${keyId}`);
    for await (const k of this.db.keys({ gte: `presig/${keyId}/`, lt: `presig/${keyId}0` })) batch.del(k);
    await batch.write(DURABLE);
    return existed;
  }

  // ---- presignatures ----

  async putPresign(record: Omit<PresignRecord, "consumed" | "createdAt">, presignature: Uint8Array): Promise<void> {
    const id = `presig/${record.keyId}/${record.presignId}`;
    const stored: StoredPresign = { ...record, consumed: false, createdAt: Date.now(), data: seal(this.key, presignature, id) };
    await this.db.put(id, JSON.stringify(stored));
  }

  async getPresign(keyId: string, presignId: string): Promise<PresignRecord | null> {
    const text = await this.db.get(`presig/${keyId}/${presignId}`);
    if (text === undefined) return null;
    const { data: _sealed, ...record } = JSON.parse(text) as StoredPresign;
    return record;
  }

  async listPresigns(keyId: string): Promise<PresignRecord[]> {
    const out: PresignRecord[] = [];
    for await (const value of this.db.values({ gte: `presig/${keyId}/`, lt: `presig/${keyId}0` })) {
      const { data: _sealed, ...record } = JSON.parse(value) as StoredPresign;
      out.push(record);
    }
    return out;
  }

  /**
   * Marks the presignature consumed (durably) and only then returns its
   * plaintext: a crash after this point can never lead to a second use.
   * Throws if it is missing, already consumed or bound to other signers.
   */
  async consumePresign(keyId: string, presignId: string, signers: readonly PartyIndex[]): Promise<Uint8Array> {
    const id = `presig/${keyId}/${presignId}`;
    const text = await this.db.get(id);
    if (text === undefined) throw new Error(`presignature ${presignId} not found`);
    const stored = JSON.parse(text) as StoredPresign;
    if (stored.consumed) throw new Error(`presignature ${presignId} already consumed`);
    if (!sameSet(stored.signers, signers)) throw new Error(`presignature ${presignId} is bound to another signer set`);
    const plain = open(this.key, stored.data, id);
    // The sealed data goes with the consumed mark: nothing is left to reuse.
    await this.db.put(id, JSON.stringify({ ...stored, consumed: true, data: { iv: "", ct: "", tag: "" } }), DURABLE);
    return new Uint8Array(plain);
  }

  async deleteConsumedPresigns(keyId: string): Promise<void> {
    const batch = this.db.batch();
    for (const record of await this.listPresigns(keyId)) if (record.consumed) batch.del(`presig/${keyId}/${record.presignId}`);
    await batch.write(DURABLE);
  }

  // ---- absences (feed slashing later) ----

  async recordAbsence(record: AbsenceRecord): Promise<void> {
    await this.db.put(`absence/${String(record.at).padStart(15, "0")}/${record.sessionId}`, JSON.stringify(record));
  }

  async listAbsences(limit = 1000): Promise<AbsenceRecord[]> {
    const out: AbsenceRecord[] = [];
    for await (const value of this.db.values({ gte: "absence/", lt: "absence0", reverse: true, limit })) out.push(JSON.parse(value) as AbsenceRecord);
    return out;
  }

  // ---- chain clock observations (place absence records between blocks, see staking/absence.ts) ----

  /** Stores an observation; `replaces` (an earlier observation it makes redundant) goes in the same batch. */
  async recordClockObservation(observation: ClockObservation, replaces?: ClockObservation): Promise<void> {
    const batch = this.db.batch().put(clockKey(observation), JSON.stringify({ block: observation.block.toString(), at: observation.at }));
    if (replaces !== undefined) batch.del(clockKey(replaces));
    await batch.write();
  }

  /** Every stored observation in time order; entries that do not parse are reported, not returned. */
  async listClockObservations(): Promise<{ observations: ClockObservation[]; malformed: MalformedEntry[] }> {
    const observations: ClockObservation[] = [];
    const malformed: MalformedEntry[] = [];
    for await (const [key, value] of this.db.iterator({ gte: CLOCK_PREFIX, lt: CLOCK_END })) {
      const parsed = parseClockEntry(key, value);
      if (typeof parsed === "string") malformed.push({ key, reason: parsed });
      else observations.push(parsed);
    }
    return { observations, malformed };
  }

  /** Deletes every stored entry ordered before `keepFrom` (older observations, and malformed keys among them); all of them without it. */
  async pruneClockObservations(keepFrom?: ClockObservation): Promise<number> {
    const batch = this.db.batch();
    for await (const key of this.db.keys({ gte: CLOCK_PREFIX, lt: keepFrom === undefined ? CLOCK_END : clockKey(keepFrom) })) batch.del(key);
    const deleted = batch.length;
    await batch.write();
    return deleted;
  }

  private async getStoredKey(keyId: string): Promise<StoredKey | null> {
    const text = await this.db.get(`key/${keyId}`);
    return text === undefined ? null : (JSON.parse(text) as StoredKey);
  }
}

const CLOCK_PREFIX = "clock/";
const CLOCK_END = "clock0";
const AT_DIGITS = 15;
/** Enough for any uint64 block number. */
const BLOCK_DIGITS = 20;
const CLOCK_KEY = /^clock\/(\d{15})\/(\d{20})$/;

/** Keys sort by time, then block: the order of the series. */
function clockKey(observation: ClockObservation): string {
  const { block, at } = observation;
  if (!Number.isSafeInteger(at) || at < 0 || String(at).length > AT_DIGITS) throw new Error(`clock observation time ${at} is not a millisecond timestamp`);
  if (block < 0n || block.toString().length > BLOCK_DIGITS) throw new Error(`clock observation block ${block} is out of range`);
  return `${CLOCK_PREFIX}${String(at).padStart(AT_DIGITS, "0")}/${block.toString().padStart(BLOCK_DIGITS, "0")}`;
}

/** The observation, or why the entry is not one (its value must repeat what its key says). */
function parseClockEntry(key: string, value: string): ClockObservation | string {
  const match = CLOCK_KEY.exec(key);
  if (match === null) return "key is not clock/<at>/<block>";
  const observation = { at: Number(match[1]), block: BigInt(match[2]!) };
  let stored: unknown;
  try {
    stored = JSON.parse(value);
  } catch {
    return "value is not JSON";
  }
  const fields = stored as { block?: unknown; at?: unknown } | null;
  if (typeof fields !== "object" || fields === null || typeof fields.block !== "string" || typeof fields.at !== "number") return "value is not { block, at }";
  if (fields.at !== observation.at || fields.block !== observation.block.toString()) return "value disagrees with its key";
  return observation;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function publicPart(stored: StoredKey): KeyRecord {
  const { share: _sealed, ...record } = stored;
  return record;
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sortedA = [...a].sort((x, y) => x - y);
  const sortedB = [...b].sort((x, y) => x - y);
  return sortedA.every((value, i) => value === sortedB[i]);
}

function deriveKey(passphrase: string, salt: Buffer, params: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize("NFKC"), salt, 32, { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

function seal(key: Buffer, plaintext: Uint8Array, recordId: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(recordId));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv: iv.toString("base64"), ct: ct.toString("base64"), tag: cipher.getAuthTag().toString("base64") };
}

function open(key: Buffer, sealed: Sealed, recordId: string): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.iv, "base64"));
  decipher.setAAD(Buffer.from(recordId));
  decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
  return Buffer.concat([decipher.update(Buffer.from(sealed.ct, "base64")), decipher.final()]);
}
