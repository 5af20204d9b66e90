/**
 * The key store's non-secret records, in the same LevelDB as the shares:
 * absences (they feed slashing), the staking chain-clock observations, the
 * session ids this node has sent protocol messages under, and the operator's
 * approvals of key operations. Each section is a key prefix; KeyStore exposes
 * them through its methods.
 */
import type { ClassicLevel } from "classic-level";
import type { PartyIndex } from "@mpc-relay/mpc";

type Db = ClassicLevel<string, string>;

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

/** An operator's approval of one exact key operation (session/authority.ts), by the hash of its parameters. */
export interface Approval {
  hash: string;
  /** The approved parameters in readable form, as the operator submitted them. */
  operation: Record<string, unknown>;
  expiresAt: number;
  createdAt: number;
}

const DURABLE = { sync: true } as const;
const TIME_DIGITS = 15;

function timeKey(prefix: string, at: number, rest: string): string {
  return `${prefix}${String(at).padStart(TIME_DIGITS, "0")}/${rest}`;
}

// ---- absences ----

export async function recordAbsence(db: Db, record: AbsenceRecord): Promise<void> {
  await db.put(timeKey("absence/", record.at, record.sessionId), JSON.stringify(record));
}

export async function listAbsences(db: Db, limit: number): Promise<AbsenceRecord[]> {
  const out: AbsenceRecord[] = [];
  for await (const value of db.values({ gte: "absence/", lt: "absence0", reverse: true, limit })) out.push(JSON.parse(value) as AbsenceRecord);
  return out;
}

/** Deletes absence records older than `before` (ms); returns how many. */
export async function pruneAbsences(db: Db, before: number): Promise<number> {
  return deleteRange(db, "absence/", timeKey("absence/", before, ""));
}

// ---- session ids this node has sent protocol messages under ----

/**
 * Records a joint session id durably before the first protocol message under it
 * leaves this node. Returns false when it was recorded before: the node then
 * refuses to speak under it again, so no two runs ever share its messages' slots.
 */
export async function recordSessionId(db: Db, sessionId: string, at: number): Promise<boolean> {
  const key = `sid/${sessionId}`;
  if ((await db.get(key)) !== undefined) return false;
  await db
    .batch()
    .put(key, String(at))
    .put(timeKey("sid-at/", at, sessionId), sessionId)
    .write(DURABLE);
  return true;
}

/** Forgets session ids recorded before `before` (ms). Fresh nonces keep old ids from recurring; this bounds the record. */
export async function pruneSessionIds(db: Db, before: number): Promise<number> {
  const batch = db.batch();
  for await (const [key, sessionId] of db.iterator({ gte: "sid-at/", lt: timeKey("sid-at/", before, "") })) batch.del(key).del(`sid/${sessionId}`);
  const count = batch.length / 2;
  await batch.write();
  return count;
}

// ---- relay rotations this node agreed to sign (one new relay per gateway nonce) ----

export interface RotationClaim {
  newRelay: string;
  /** Unix seconds: after it, a signature of this rotation is worthless on chain. */
  deadline: string;
}

/**
 * Records that this node signs rotation `claim` for `slot` (chain, gateway, nonce), durably, before it
 * signs. Returns the claim already recorded for another new relay while that one can still land (its
 * deadline not passed), else null. The same new relay may be signed again (any deadline: both can
 * only hand the gateway to the same relay).
 */
export async function claimRotation(db: Db, slot: string, claim: RotationClaim, nowSeconds: bigint): Promise<RotationClaim | null> {
  const key = `rotation/${slot}`;
  const text = await db.get(key);
  const previous = text === undefined ? null : (JSON.parse(text) as RotationClaim);
  if (previous !== null && previous.newRelay.toLowerCase() !== claim.newRelay.toLowerCase() && BigInt(previous.deadline) >= nowSeconds) return previous;
  const latest = previous !== null && previous.newRelay.toLowerCase() === claim.newRelay.toLowerCase() && BigInt(previous.deadline) > BigInt(claim.deadline) ? previous : claim;
  await db.put(key, JSON.stringify(latest), DURABLE);
  return null;
}

// ---- operator approvals ----

export async function putApproval(db: Db, approval: Approval): Promise<void> {
  await db.put(`approval/${approval.hash}`, JSON.stringify(approval), DURABLE);
}

/** The approval with this hash if it exists and has not expired. */
export async function getApproval(db: Db, hash: string, now: number): Promise<Approval | null> {
  const text = await db.get(`approval/${hash}`);
  if (text === undefined) return null;
  const approval = JSON.parse(text) as Approval;
  return approval.expiresAt > now ? approval : null;
}

export async function listApprovals(db: Db, now: number): Promise<Approval[]> {
  const out: Approval[] = [];
  for await (const value of db.values({ gte: "approval/", lt: "approval0" })) {
    const approval = JSON.parse(value) as Approval;
    if (approval.expiresAt > now) out.push(approval);
  }
  return out;
}

export async function deleteApproval(db: Db, hash: string): Promise<boolean> {
  const existed = (await db.get(`approval/${hash}`)) !== undefined;
  await db.del(`approval/${hash}`, DURABLE);
  return existed;
}

export async function pruneApprovals(db: Db, now: number): Promise<number> {
  const batch = db.batch();
  for await (const [key, value] of db.iterator({ gte: "approval/", lt: "approval0" })) if ((JSON.parse(value) as Approval).expiresAt <= now) batch.del(key);
  const count = batch.length;
  await batch.write();
  return count;
}

// ---- chain clock observations (place absence records between blocks, see staking/absence.ts) ----

const CLOCK_PREFIX = "clock/";
const CLOCK_END = "clock0";
/** Enough for any uint64 block number. */
const BLOCK_DIGITS = 20;
const CLOCK_KEY = /^clock\/(\d{15})\/(\d{20})$/;

/** Keys sort by time, then block: the order of the series. */
function clockKey(observation: ClockObservation): string {
  const { block, at } = observation;
  if (!Number.isSafeInteger(at) || at < 0 || String(at).length > TIME_DIGITS) throw new Error(`clock observation time ${at} is not a millisecond timestamp`);
  if (block < 0n || block.toString().length > BLOCK_DIGITS) throw new Error(`clock observation block ${block} is out of range`);
  return timeKey(CLOCK_PREFIX, at, block.toString().padStart(BLOCK_DIGITS, "0"));
}

export async function recordClockObservation(db: Db, observation: ClockObservation, replaces?: ClockObservation): Promise<void> {
  const batch = db.batch().put(clockKey(observation), JSON.stringify({ block: observation.block.toString(), at: observation.at }));
  if (replaces !== undefined) batch.del(clockKey(replaces));
  await batch.write();
}

export async function listClockObservations(db: Db): Promise<{ observations: ClockObservation[]; malformed: MalformedEntry[] }> {
  const observations: ClockObservation[] = [];
  const malformed: MalformedEntry[] = [];
  for await (const [key, value] of db.iterator({ gte: CLOCK_PREFIX, lt: CLOCK_END })) {
    const parsed = parseClockEntry(key, value);
    if (typeof parsed === "string") malformed.push({ key, reason: parsed });
    else observations.push(parsed);
  }
  return { observations, malformed };
}

export async function pruneClockObservations(db: Db, keepFrom?: ClockObservation): Promise<number> {
  return deleteRange(db, CLOCK_PREFIX, keepFrom === undefined ? CLOCK_END : clockKey(keepFrom));
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

async function deleteRange(db: Db, gte: string, lt: string): Promise<number> {
  const batch = db.batch();
  for await (const key of db.keys({ gte, lt })) batch.del(key);
  const count = batch.length;
  await batch.write();
  return count;
}
