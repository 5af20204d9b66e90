/**
 * Forward secrecy at rest for share generations. Each generation is sealed under its own random data
 * key; the data keys live, sealed by the passphrase-derived store key, in one small file beside the
 * LevelDB store. Forgetting a generation rewrites that file without its key (a new file renamed over
 * the old), so the share's ciphertext, wherever LevelDB still has a copy before compaction, no longer
 * decrypts under any key that exists, passphrase or not.
 *
 * What this cannot reach: blocks of the old file a filesystem or an SSD keeps after the rename. Put the
 * data folder on an encrypted volume for that.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { writeFileDurably } from "../shared/durable-file.ts";
import { open, seal, type Sealed } from "./sealing.ts";

interface DataKeyFile {
  version: 1;
  /** Record id (share/<key>/<generation>) -> its data key, sealed by the store key under that record id. */
  keys: Record<string, Sealed>;
}

const wrapId = (recordId: string) => `data-key/${recordId}`;

export class DataKeys {
  /** Writes go one after another: each rewrites the whole file. */
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly storeKey: Buffer,
    private readonly sealed: Map<string, Sealed>,
  ) {}

  /** Reads `path` (a missing file is an empty set); a damaged file is an error, never an empty set. */
  static async load(path: string, storeKey: Buffer): Promise<DataKeys> {
    const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return null;
      throw error;
    });
    if (text === null) return new DataKeys(path, storeKey, new Map());
    let parsed: DataKeyFile;
    try {
      parsed = JSON.parse(text) as DataKeyFile;
    } catch (cause) {
      throw new Error(`the data key file ${path} is damaged: the shares it protects cannot be read`, { cause });
    }
    if (parsed.version !== 1 || typeof parsed.keys !== "object" || parsed.keys === null) throw new Error(`the data key file ${path} has an unknown format`);
    return new DataKeys(path, storeKey, new Map(Object.entries(parsed.keys)));
  }

  /** The record's data key, or null when it has none (never had one, or it was forgotten). */
  get(recordId: string): Buffer | null {
    const sealed = this.sealed.get(recordId);
    return sealed === undefined ? null : open(this.storeKey, sealed, wrapId(recordId));
  }

  /** A new random data key for the record, on disk (fsync) before it is returned. */
  async create(recordId: string): Promise<Buffer> {
    const key = randomBytes(32);
    this.sealed.set(recordId, seal(this.storeKey, key, wrapId(recordId)));
    await this.persist();
    return key;
  }

  /** Forgets the records' data keys for good: the file no longer holds them once this resolves. */
  async forget(recordIds: readonly string[]): Promise<void> {
    let changed = false;
    for (const id of recordIds) changed = this.sealed.delete(id) || changed;
    if (changed) await this.persist();
  }

  /** Record ids that have a data key. */
  recordIds(): string[] {
    return [...this.sealed.keys()];
  }

  private persist(): Promise<void> {
    const snapshot: DataKeyFile = { version: 1, keys: Object.fromEntries(this.sealed) };
    const write = () => writeFileDurably(this.path, JSON.stringify(snapshot));
    this.writing = this.writing.then(write, write);
    return this.writing;
  }
}
