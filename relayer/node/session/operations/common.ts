/** Checks the operations share: the key and generation this node holds, and the wait for a new generation's commit. */
import { MIN_THRESHOLD, type PartyIndex } from "@mpc-relay/mpc";
import { heldShare, type Generation, type KeyRecord } from "../../keystore.ts";
import type { ShareFacts } from "../../protocols.ts";
import type { SharingStatement } from "../commit.ts";
import { uniqueSorted } from "../parties.ts";
import type { SessionEngine } from "../engine.ts";
import { SessionError } from "../errors.ts";
import type { OperationContext, Session } from "../types.ts";
import { toHex } from "../../frames.ts";

/**
 * Coordinator side: the key, READY here with this node a member of its signing
 * generation. A generation this node holds that is newer than the signing one
 * and still young is waited for a moment: right after a keyGen, refresh or
 * reshare the last confirmations are in flight, and the other members may
 * already have dropped the old sharing. An old uncommitted one (its
 * confirmation withheld) is not waited for: the current sharing signs.
 */
export async function readyKey(ctx: OperationContext, keyId: string): Promise<KeyRecord & { generation: string }> {
  let key = await ctx.store.getKey(keyId);
  const signingSeq = key?.generations.find((g) => g.id === key?.generation)?.seq ?? 0;
  const young = key?.generations.find((g) => g.holder && !g.committed && g.seq > signingSeq && Date.now() - g.createdAt < 2 * ctx.timeouts.keygenRoundMs);
  if (key !== null && young !== undefined) {
    await ctx.commits.waitSettled(keyId, young.id, ctx.timeouts.roundMs);
    key = await ctx.store.getKey(keyId);
  }
  if (key === null) throw new SessionError("not-found", `key ${keyId} not found`);
  if (key.status !== "READY" || key.generation === null) throw new SessionError("conflict", `key ${keyId} is ${key.status}`);
  if (!key.participants.includes(ctx.self)) throw new SessionError("conflict", `this node is not in key ${keyId}'s committee`);
  return key as KeyRecord & { generation: string };
}

/**
 * Participant side: the generation the coordinator named, of which this node
 * holds a share, with both this node and the coordinator among its holders.
 */
export async function heldGeneration(ctx: OperationContext, session: Session): Promise<{ key: KeyRecord; generation: Generation }> {
  const key = await ctx.store.getKey(session.keyId);
  if (key === null) throw new SessionError("not-found", `key ${session.keyId} not found here`);
  const generation = heldShare(key, session.generation);
  if (generation === undefined) throw new SessionError("conflict", `this node holds no share of generation ${session.generation ?? "(none)"} of key ${session.keyId}`);
  if (!generation.participants.includes(ctx.self)) throw new SessionError("conflict", `this node is not in key ${session.keyId}'s committee`);
  if (!generation.participants.includes(session.coordinator)) throw new SessionError("unauthorized", `party ${session.coordinator} is not in key ${session.keyId}'s committee`);
  return { key, generation };
}

/** Sorted parties, and the threshold within [MIN_THRESHOLD, parties] (one rule: packages/mpc/src/vss.ts). */
export function checkCommittee(parties: readonly PartyIndex[], threshold: number, what: string): PartyIndex[] {
  const sorted = uniqueSorted(parties);
  if (sorted.length !== parties.length) throw new SessionError("invalid", `${what}: a party is listed twice`);
  if (!Number.isInteger(threshold) || threshold < MIN_THRESHOLD || threshold > sorted.length) {
    throw new SessionError("invalid", `${what}: threshold must be an integer in [${MIN_THRESHOLD}, ${sorted.length}], got ${threshold}`);
  }
  return sorted;
}

/** The public facts a new holder confirms (commit.ts). */
export function statementOf(ctx: OperationContext, session: Session, share: ShareFacts): SharingStatement {
  return {
    keyId: session.keyId,
    generation: session.id!,
    threshold: share.threshold,
    parties: [...share.parties],
    publicKey: toHex(share.publicKey),
    digest: toHex(ctx.suite.sharingDigest(share)),
  };
}

/**
 * After a keyGen, refresh or reshare ran: the key as this node holds it once
 * the new generation committed here (null when this node left the committee).
 * Throws "unavailable" when not every holder confirmed within a round timeout;
 * the generation still commits whenever they do.
 */
export async function settledKey(engine: SessionEngine, session: Session): Promise<KeyRecord | null> {
  const ctx = engine.context;
  const settled = await ctx.commits.waitSettled(session.keyId, session.id!, engine.roundTimeout(session));
  if (settled === "pending") {
    throw new SessionError("unavailable", `${session.params.operation} of ${session.keyId} ran, but not every new holder has confirmed generation ${session.id} yet; it commits once they do`);
  }
  if (settled === "dropped") throw new SessionError("failed", `${session.params.operation} of ${session.keyId}: a party will never hold generation ${session.id}`);
  return ctx.store.getKey(session.keyId);
}

/**
 * One dealing session (keyGen, refresh, reshare) per key at a time in this
 * process, reserved at `start`: a prepare that never starts reserves nothing,
 * so a member can't keep a key busy by proposing and walking away.
 */
export function reserveAtStart(session: Session, ctx: OperationContext): void {
  if (ctx.isReserved(session.keyId)) throw new SessionError("conflict", `key ${session.keyId} is busy with another keyGen, refresh or reshare`);
  ctx.reserve(session);
}
