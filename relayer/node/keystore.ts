/**
 * The node's key store: an embedded LevelDB (classic-level).
 *
 * A key holds one or more *generations*: sharings of the same key made by a
 * keyGen, refresh or reshare session, identified by that session's joint id.
 * A generation is held (this node stored its share and confirmed it to the
 * other holders) until it is committed (every holder confirmed it); a commit
 * deletes every older generation of the key with its presignatures. So a
 * refresh or reshare never deletes the sharing in use before every new holder
 * holds the new one (session/commit.ts runs the confirmations), and a leaver's
 * generation is a marker without a share whose commit deletes the key here.
 *
 * Secrets (share generations, presignatures) are sealed with sealing.ts under
 * the passphrase; each share generation under its own data key (data-keys.ts),
 * which is destroyed, and the store compacted, when the generation goes: an old
 * share read off the disk later decrypts under nothing. Every multi-record
 * change is one LevelDB batch, so a crash
 * never leaves a half-written key. Writes to one key are serialized, so
 * concurrent confirmations can't overwrite each other.
 *
 * Longer than our ~400-line rule: every change to a key's records is one batch written here, and
 * keeping them in one file keeps the invariants above checkable in one place (journal.ts and
 * sealing.ts hold what does not touch key records).
 */
import { ClassicLevel } from "classic-level";
import { access } from "node:fs/promises";
import type { PartyIndex } from "@mpc-relay/mpc";
import { DataKeys } from "./data-keys.ts";
import * as journal from "./journal.ts";
import { DEFAULT_KDF, open, seal, unlock, type KdfParams, type Sealed } from "./sealing.ts";

export { DEFAULT_KDF, WrongPassphraseError, type KdfParams } from "./sealing.ts";
export type { AbsenceRecord, Approval, ClockObservation, MalformedEntry, RotationClaim } from "./journal.ts";

export type KeyStatus = "PENDING" | "READY" | "ERROR";

/** The public facts of a sharing (a leaver's marker knows only the new committee and threshold). */
export interface SharingFacts {
  threshold: number;
  participants: PartyIndex[];
  publicKey: string | null;
  address: string | null;
  /** keyshare.ts sharingDigest, hex: what holders confirm to each other. */
  digest: string | null;
  /** Committee members a refresh went ahead without: no share of this generation until they recover one (absent: none). */
  awaiting?: PartyIndex[];
}

export interface Generation extends SharingFacts {
  /** The joint session id of the session that produced it (hex). */
  id: string;
  /** What made it. A keyGen's generation replaces nothing, so it alone may be dropped uncommitted. */
  origin: "keygen" | "refresh" | "reshare";
  /** Members besides the holders that learn of its commit (a reshare's old committee). */
  notify: PartyIndex[];
  /** Order in which this node came to hold its generations (a commit deletes lower ones). */
  seq: number;
  committed: boolean;
  /** False for a leaver's marker: this node left the committee with this generation and holds no share of it. */
  holder: boolean;
  /** Co-signers banned for this generation after a failed OT / multiplication check. */
  banned: PartyIndex[];
  /** Holders' signed confirmations, by party index. */
  confirmations: Record<string, string>;
  createdAt: number;
}

export interface KeyRecord {
  keyId: string;
  /** The session that last reserved or changed the key. */
  sessionId: string;
  /** READY: a committed generation this node holds; PENDING: none yet; ERROR: the keyGen or join failed. */
  status: KeyStatus;
  /** Facts of the signing generation (the newest committed one held), else of the newest held one. */
  threshold: number;
  participants: PartyIndex[];
  publicKey: string | null;
  address: string | null;
  /** The signing generation's id, or null while none is committed. */
  generation: string | null;
  generations: Generation[];
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

/** When the sharing a READY key signs with was made, and by what (a refresh makes a new one). */
export interface Sharing {
  keyId: string;
  generation: string;
  origin: Generation["origin"];
  sharedAt: number;
  /** When the last successful refresh made this sharing; null when a keyGen, reshare or recovery did. */
  refreshedAt: number | null;
}

/** Generation `id` of `key`, if this node holds a share of it (and, with `committedOnly`, it is committed): the one lookup of a held share. */
export function heldShare(key: Pick<KeyRecord, "generations"> | null | undefined, id: string | null | undefined, committedOnly = false): Generation | undefined {
  return key?.generations.find((g) => g.id === id && g.holder && (!committedOnly || g.committed));
}

export function sharings(keys: readonly KeyRecord[]): Sharing[] {
  const out: Sharing[] = [];
  for (const key of keys) {
    const signing = key.status === "READY" ? heldShare(key, key.generation) : undefined;
    if (signing !== undefined)
      out.push({ keyId: key.keyId, generation: signing.id, origin: signing.origin, sharedAt: signing.createdAt, refreshedAt: signing.origin === "refresh" ? signing.createdAt : null });
  }
  return out;
}

interface StoredKey {
  keyId: string;
  sessionId: string;
  status: KeyStatus;
  /** Reserved threshold and committee while no generation exists (a keyGen or join under way). */
  reserved: { threshold: number; participants: PartyIndex[] } | null;
  generations: Generation[];
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface PresignRecord {
  keyId: string;
  presignId: string;
  /** The generation whose shares made it; it is void once that generation is deleted. */
  generation: string;
  /** The coordinator that created it; only it spends it. */
  owner: PartyIndex;
  signers: PartyIndex[];
  consumed: boolean;
  createdAt: number;
}

interface StoredPresign extends PresignRecord {
  data: Sealed;
}

/** Key state changes, presignature consumption and approvals reach the disk (fsync) before the call returns. */
const DURABLE = { sync: true } as const;

const keyRecordId = (keyId: string) => `key/${keyId}`;
const shareRecordId = (keyId: string, generation: string) => `share/${keyId}/${generation}`;
const presignPrefix = (keyId: string) => `presig/${keyId}/`;

export class KeyStore {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** A share was destroyed since open: close() compacts once more. */
  private sharesDestroyed = false;
  /** Presignatures being consumed right now: the check and the mark are one step even across awaits. */
  private readonly consuming = new Set<string>();

  private constructor(
    private readonly db: ClassicLevel<string, string>,
    private readonly key: Buffer,
    private readonly dataKeys: DataKeys,
  ) {}

  /** Unlocks (or creates) the store; a wrong passphrase throws WrongPassphraseError and touches nothing. */
  static async open(path: string, passphrase: string, kdf: KdfParams = DEFAULT_KDF): Promise<KeyStore> {
    const key = await unlock(`${path}.kdf.json`, passphrase, kdf, !(await exists(path)));
    const dataKeys = await DataKeys.load(`${path}.keys.json`, key);
    // Uncompressed blocks: what the store holds on disk is what a reader of its files finds (forward-secrecy test).
    const db = new ClassicLevel<string, string>(path, { keyEncoding: "utf8", valueEncoding: "utf8", compression: false });
    await db.open();
    const store = new KeyStore(db, key, dataKeys);
    await store.forgetOrphanDataKeys();
    return store;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.locks.values()]);
    // An iterator open during an earlier compaction kept the old values it could see: nothing reads now.
    if (this.sharesDestroyed) await this.db.compactRange("share/", "share0");
    this.key.fill(0);
    await this.db.close();
  }

  // ---- keys ----

  async getKey(keyId: string): Promise<KeyRecord | null> {
    const stored = await this.read(keyId);
    return stored === null ? null : publicRecord(stored);
  }

  async listKeys(): Promise<KeyRecord[]> {
    const out: KeyRecord[] = [];
    for await (const value of this.db.values({ gte: "key/", lt: "key0" })) out.push(publicRecord(JSON.parse(value) as StoredKey));
    return out;
  }

  /** Decrypts a generation's share (default: the signing generation). */
  async readShare(keyId: string, generation?: string): Promise<Uint8Array> {
    const stored = await this.read(keyId);
    const id = generation ?? (stored === null ? null : (signingGeneration(stored)?.id ?? null));
    const found = heldShare(stored, id);
    if (stored === null || id === null || found === undefined) throw new Error(`key ${keyId} has no share${generation === undefined ? " READY" : ` of generation ${generation}`} here`);
    const text = await this.db.get(shareRecordId(keyId, id));
    if (text === undefined) throw new Error(`key ${keyId}: the share of generation ${id} is missing`);
    // Shares sealed before data keys existed are under the store key itself.
    return new Uint8Array(open(this.dataKeys.get(shareRecordId(keyId, id)) ?? this.key, JSON.parse(text) as Sealed, shareRecordId(keyId, id)));
  }

  /**
   * Reserves a key id for a keyGen or a join (reshare to this node): PENDING with
   * the expected committee. A key with generations keeps them (a join may find
   * an earlier join's uncommitted generation); an ERROR key starts over.
   */
  async putPending(record: { keyId: string; sessionId: string; threshold: number; participants: PartyIndex[] }): Promise<void> {
    await this.update(record.keyId, (previous, now) => ({
      keyId: record.keyId,
      sessionId: record.sessionId,
      status: previous !== null && previous.generations.some((g) => g.committed && g.holder) ? previous.status : "PENDING",
      reserved: { threshold: record.threshold, participants: [...record.participants] },
      generations: previous?.status === "ERROR" ? [] : (previous?.generations ?? []),
      error: null,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    }));
  }

  /**
   * Stores a generation this node now holds (with its sealed share) or, with
   * `share` null, a leaver's marker. It is uncommitted until every holder confirms.
   */
  async holdGeneration(keyId: string, sessionId: string, id: string, facts: SharingFacts & Pick<Generation, "origin" | "notify">, share: Uint8Array | null): Promise<Generation> {
    let held: Generation | null = null;
    // The data key reaches the disk before the share sealed under it; a crash in between leaves an orphan key, forgotten at the next open.
    const dataKey = share === null ? null : await this.dataKeys.create(shareRecordId(keyId, id));
    await this.update(
      keyId,
      (previous, now) => {
        if (previous === null && share === null) throw new Error(`key ${keyId}: a leaver's marker needs the key it leaves`);
        if (previous?.generations.some((g) => g.id === id)) throw new Error(`key ${keyId} already has generation ${id}`);
        const seq = Math.max(0, ...(previous?.generations ?? []).map((g) => g.seq)) + 1;
        const participants = [...facts.participants].sort((a, b) => a - b);
        held = { ...facts, participants, id, seq, committed: false, holder: share !== null, banned: [], confirmations: {}, createdAt: now };
        return {
          keyId,
          sessionId,
          status: previous?.status === "READY" ? "READY" : "PENDING",
          reserved: previous?.reserved ?? null,
          generations: [...(previous?.generations ?? []), held],
          error: null,
          createdAt: previous?.createdAt ?? now,
          updatedAt: now,
        };
      },
      share === null ? undefined : (batch) => batch.put(shareRecordId(keyId, id), JSON.stringify(seal(dataKey!, share, shareRecordId(keyId, id)))),
    );
    return held!;
  }

  /** Records a holder's signed confirmation of a generation; the generation as it now stands, or null if it is gone. */
  async addConfirmation(keyId: string, id: string, party: PartyIndex, signature: string): Promise<Generation | null> {
    let result: Generation | null = null;
    await this.update(keyId, (previous, now) => {
      const generation = previous?.generations.find((g) => g.id === id);
      if (previous === null || generation === undefined) return null;
      result = { ...generation, confirmations: { ...generation.confirmations, [String(party)]: signature } };
      return { ...previous, generations: previous.generations.map((g) => (g.id === id ? result! : g)), updatedAt: now };
    });
    return result;
  }

  /**
   * Commits a generation: it becomes (for a holder) the signing generation, and
   * every older generation goes with its share and presignatures. Committing a
   * leaver's marker deletes the key here. Returns the generation ids deleted.
   */
  async commitGeneration(keyId: string, id: string): Promise<{ deleted: string[]; keyDeleted: boolean } | null> {
    let outcome: { deleted: string[]; keyDeleted: boolean } | null = null;
    await this.update(
      keyId,
      (previous, now) => {
        const target = previous?.generations.find((g) => g.id === id);
        // Committed already (concurrent confirmations each try): nothing to do.
        if (previous === null || target === undefined || target.committed) return null;
        const older = previous.generations.filter((g) => g.seq < target.seq);
        const newer = previous.generations.filter((g) => g.seq > target.seq);
        if (!target.holder && !newer.some((g) => g.holder)) {
          outcome = { deleted: previous.generations.map((g) => g.id), keyDeleted: true };
          return "delete";
        }
        outcome = { deleted: older.map((g) => g.id), keyDeleted: false };
        const holdsCommitted = target.holder || newer.some((g) => g.holder && g.committed);
        return {
          ...previous,
          status: holdsCommitted ? "READY" : "PENDING",
          reserved: holdsCommitted ? null : previous.reserved,
          generations: previous.generations.filter((g) => g.seq >= target.seq).map((g) => (g.id === id ? { ...g, committed: true } : g)),
          error: null,
          updatedAt: now,
        };
      },
      async (batch, previous, forget) => {
        const deleted = new Set(outcome?.deleted ?? []);
        for (const g of previous?.generations ?? []) if (deleted.has(g.id) && g.holder) forget(shareRecordId(keyId, g.id));
        await this.deletePresigns(batch, keyId, (p) => outcome?.keyDeleted === true || deleted.has(p.generation));
      },
    );
    return outcome;
  }

  /**
   * Drops an uncommitted generation (a keyGen that can never commit: one of its
   * holders refused it). A key left with no generation is ERROR.
   */
  async dropGeneration(keyId: string, id: string, reason: string): Promise<boolean> {
    let dropped = false;
    await this.update(
      keyId,
      (previous, now) => {
        const target = previous?.generations.find((g) => g.id === id);
        if (previous === null || target === undefined || target.committed) return null;
        dropped = true;
        const generations = previous.generations.filter((g) => g.id !== id);
        const holds = generations.some((g) => g.holder);
        return { ...previous, generations, status: holds ? previous.status : "ERROR", error: holds ? previous.error : reason, updatedAt: now };
      },
      async (batch, _previous, forget) => {
        if (!dropped) return;
        forget(shareRecordId(keyId, id));
        await this.deletePresigns(batch, keyId, (p) => p.generation === id);
      },
    );
    return dropped;
  }

  /** A keyGen or join that failed before this node held anything: PENDING becomes ERROR (a key with generations is untouched). */
  async markError(keyId: string, sessionId: string, reason: string): Promise<void> {
    await this.update(keyId, (previous, now) => {
      if (previous === null || previous.status !== "PENDING" || previous.sessionId !== sessionId || previous.generations.length > 0) return null;
      return { ...previous, status: "ERROR", error: reason, reserved: null, updatedAt: now };
    });
  }

  /** PENDING keys whose session died with the process (nothing held yet) become ERROR at startup. */
  async failInterruptedKeys(): Promise<string[]> {
    const failed: string[] = [];
    for (const record of await this.listKeys()) {
      if (record.status !== "PENDING" || record.generations.length > 0) continue;
      await this.markError(record.keyId, record.sessionId, "interrupted: the node restarted during the session");
      failed.push(record.keyId);
    }
    return failed;
  }

  /** Deletes the key and everything sealed for it here (the operator's own decision; never another member's word). */
  async deleteKey(keyId: string): Promise<boolean> {
    let existed = false;
    await this.update(
      keyId,
      (previous) => {
        existed = previous !== null;
        return previous === null ? null : "delete";
      },
      async (batch, previous, forget) => {
        for (const g of previous?.generations ?? []) if (g.holder) forget(shareRecordId(keyId, g.id));
        await this.deletePresigns(batch, keyId, () => true);
      },
    );
    return existed;
  }

  /** Bans a co-signer in one generation (until a refresh makes a new one); a generation gone meanwhile is left alone. */
  async addBan(keyId: string, id: string, party: PartyIndex): Promise<boolean> {
    let banned = false;
    await this.update(keyId, (previous, now) => {
      const target = previous?.generations.find((g) => g.id === id);
      if (previous === null || target === undefined || target.banned.includes(party)) return null;
      banned = true;
      const updated = { ...target, banned: [...target.banned, party].sort((a, b) => a - b) };
      return { ...previous, generations: previous.generations.map((g) => (g.id === id ? updated : g)), updatedAt: now };
    });
    return banned;
  }

  // ---- presignatures ----

  async putPresign(record: Omit<PresignRecord, "consumed" | "createdAt">, presignature: Uint8Array): Promise<void> {
    const id = `${presignPrefix(record.keyId)}${record.presignId}`;
    await this.withLock(record.keyId, async () => {
      const key = await this.read(record.keyId);
      // A generation deleted while the presign ran voids it.
      if (key?.generations.some((g) => g.id === record.generation && g.holder) !== true) throw new Error(`key ${record.keyId} no longer holds generation ${record.generation}`);
      const stored: StoredPresign = { ...record, consumed: false, createdAt: Date.now(), data: seal(this.key, presignature, id) };
      await this.db.put(id, JSON.stringify(stored));
    });
  }

  async getPresign(keyId: string, presignId: string): Promise<PresignRecord | null> {
    const text = await this.db.get(`${presignPrefix(keyId)}${presignId}`);
    return text === undefined ? null : withoutData(JSON.parse(text) as StoredPresign);
  }

  async listPresigns(keyId: string): Promise<PresignRecord[]> {
    const out: PresignRecord[] = [];
    for await (const value of this.db.values({ gte: presignPrefix(keyId), lt: `presig/${keyId}0` })) out.push(withoutData(JSON.parse(value) as StoredPresign));
    return out;
  }

  /**
   * Marks the presignature consumed (durably) and only then returns its
   * plaintext: neither a crash nor a concurrent call can lead to a second use.
   * Throws if it is missing, already consumed or bound to other signers.
   */
  async consumePresign(keyId: string, presignId: string, signers: readonly PartyIndex[]): Promise<Uint8Array> {
    const id = `${presignPrefix(keyId)}${presignId}`;
    if (this.consuming.has(id)) throw new Error(`presignature ${presignId} already consumed`);
    this.consuming.add(id);
    try {
      const text = await this.db.get(id);
      if (text === undefined) throw new Error(`presignature ${presignId} not found`);
      const stored = JSON.parse(text) as StoredPresign;
      if (stored.consumed) throw new Error(`presignature ${presignId} already consumed`);
      if (!sameSet(stored.signers, signers)) throw new Error(`presignature ${presignId} is bound to another signer set`);
      const plain = open(this.key, stored.data, id);
      // The sealed data goes with the consumed mark: nothing is left to reuse.
      await this.db.put(id, JSON.stringify({ ...stored, consumed: true, data: { iv: "", ct: "", tag: "" } }), DURABLE);
      return new Uint8Array(plain);
    } finally {
      this.consuming.delete(id);
    }
  }

  async deleteConsumedPresigns(keyId: string): Promise<void> {
    const batch = this.db.batch();
    for (const record of await this.listPresigns(keyId)) if (record.consumed) batch.del(`${presignPrefix(keyId)}${record.presignId}`);
    await batch.write(DURABLE);
  }

  // ---- journal (journal.ts): absences, session ids, approvals, chain clock ----

  recordAbsence(record: journal.AbsenceRecord): Promise<void> {
    return journal.recordAbsence(this.db, record);
  }
  listAbsences(limit = 1000): Promise<journal.AbsenceRecord[]> {
    return journal.listAbsences(this.db, limit);
  }
  pruneAbsences(before: number): Promise<number> {
    return journal.pruneAbsences(this.db, before);
  }
  recordSessionId(sessionId: string, at = Date.now()): Promise<boolean> {
    return journal.recordSessionId(this.db, sessionId, at);
  }
  pruneSessionIds(before: number): Promise<number> {
    return journal.pruneSessionIds(this.db, before);
  }
  claimRotation(slot: string, claim: journal.RotationClaim, nowSeconds = BigInt(Math.floor(Date.now() / 1000))): Promise<journal.RotationClaim | null> {
    return journal.claimRotation(this.db, slot, claim, nowSeconds);
  }
  putApproval(approval: journal.Approval): Promise<void> {
    return journal.putApproval(this.db, approval);
  }
  getApproval(hash: string, now = Date.now()): Promise<journal.Approval | null> {
    return journal.getApproval(this.db, hash, now);
  }
  listApprovals(now = Date.now()): Promise<journal.Approval[]> {
    return journal.listApprovals(this.db, now);
  }
  deleteApproval(hash: string): Promise<boolean> {
    return journal.deleteApproval(this.db, hash);
  }
  pruneApprovals(now = Date.now()): Promise<number> {
    return journal.pruneApprovals(this.db, now);
  }
  recordClockObservation(observation: journal.ClockObservation, replaces?: journal.ClockObservation): Promise<void> {
    return journal.recordClockObservation(this.db, observation, replaces);
  }
  listClockObservations(): Promise<{ observations: journal.ClockObservation[]; malformed: journal.MalformedEntry[] }> {
    return journal.listClockObservations(this.db);
  }
  pruneClockObservations(keepFrom?: journal.ClockObservation): Promise<number> {
    return journal.pruneClockObservations(this.db, keepFrom);
  }

  // ---- plumbing ----

  private async read(keyId: string): Promise<StoredKey | null> {
    const text = await this.db.get(keyRecordId(keyId));
    return text === undefined ? null : (JSON.parse(text) as StoredKey);
  }

  /**
   * One serialized read-modify-write of a key: `change` returns the new record,
   * "delete", or null for no change; `extra` adds records to the same batch and
   * `forget`s shares, whose data keys are destroyed once the batch is written.
   */
  private update(
    keyId: string,
    change: (previous: StoredKey | null, now: number) => StoredKey | "delete" | null,
    extra?: (batch: ReturnType<ClassicLevel<string, string>["batch"]>, previous: StoredKey | null, forget: (shareRecord: string) => void) => unknown,
  ): Promise<void> {
    return this.withLock(keyId, async () => {
      const previous = await this.read(keyId);
      const next = change(previous, Date.now());
      if (next === null) return;
      const batch = this.db.batch();
      if (next === "delete") batch.del(keyRecordId(keyId));
      else batch.put(keyRecordId(keyId), JSON.stringify(next));
      const forgotten: string[] = [];
      await extra?.(batch, previous, (record) => {
        batch.del(record);
        forgotten.push(record);
      });
      await batch.write(DURABLE);
      if (forgotten.length > 0) await this.destroyShares(forgotten);
    });
  }

  /** After the shares' records are deleted: their data keys go, and compaction drops LevelDB's old copies. */
  private async destroyShares(records: readonly string[]): Promise<void> {
    await this.dataKeys.forget(records);
    this.sharesDestroyed = true;
    await this.db.compactRange("share/", "share0");
  }

  /** Data keys whose share record is gone (a crash between the two writes): destroyed at open. */
  private async forgetOrphanDataKeys(): Promise<void> {
    const orphans: string[] = [];
    for (const record of this.dataKeys.recordIds()) if ((await this.db.get(record)) === undefined) orphans.push(record);
    if (orphans.length > 0) await this.destroyShares(orphans);
  }

  private withLock<T>(keyId: string, work: () => Promise<T>): Promise<T> {
    const before = this.locks.get(keyId) ?? Promise.resolve();
    const run = before.then(work, work);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(keyId, settled);
    void settled.then(() => {
      if (this.locks.get(keyId) === settled) this.locks.delete(keyId);
    });
    return run;
  }

  private async deletePresigns(batch: ReturnType<ClassicLevel<string, string>["batch"]>, keyId: string, which: (record: PresignRecord) => boolean): Promise<void> {
    for await (const [key, value] of this.db.iterator({ gte: presignPrefix(keyId), lt: `presig/${keyId}0` })) {
      if (which(withoutData(JSON.parse(value) as StoredPresign))) batch.del(key);
    }
  }
}

/** The newest committed generation this node holds a share of. */
function signingGeneration(stored: StoredKey): Generation | null {
  const committed = stored.generations.filter((g) => g.committed && g.holder);
  return committed.length === 0 ? null : committed.reduce((a, b) => (a.seq > b.seq ? a : b));
}

function publicRecord(stored: StoredKey): KeyRecord {
  const signing = signingGeneration(stored);
  const held = stored.generations.filter((g) => g.holder);
  const newestHeld = held.length === 0 ? null : held.reduce((a, b) => (a.seq > b.seq ? a : b));
  const facts = signing ?? newestHeld;
  return {
    keyId: stored.keyId,
    sessionId: stored.sessionId,
    status: stored.status,
    threshold: facts?.threshold ?? stored.reserved?.threshold ?? 0,
    participants: facts?.participants ?? stored.reserved?.participants ?? [],
    publicKey: facts?.publicKey ?? null,
    address: facts?.address ?? null,
    generation: signing?.id ?? null,
    generations: stored.generations,
    error: stored.error,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}

function withoutData(stored: StoredPresign): PresignRecord {
  const { data: _sealed, ...record } = stored;
  return record;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sortedA = [...a].sort((x, y) => x - y);
  const sortedB = [...b].sort((x, y) => x - y);
  return sortedA.every((value, i) => value === sortedB[i]);
}
