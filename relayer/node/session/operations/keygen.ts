/**
 * keyGen: a new key among `parties` with `threshold`. A participant takes part
 * only when its authority allows exactly these parameters (authority.ts), the
 * key id is free here, and the coordinator starts with every party. The key
 * becomes READY when every party confirmed its share (commit.ts).
 */
import type { KeyRecord } from "../../keystore.ts";
import type { ShareFacts } from "../../protocols.ts";
import type { PrepareParams } from "../../frames.ts";
import { sameMembers, type SessionEngine } from "../engine.ts";
import { SessionError } from "../errors.ts";
import type { OperationHandler } from "../types.ts";
import { checkCommittee, reserveAtStart, settledKey, statementOf } from "./common.ts";

type KeygenParams = Extract<PrepareParams, { operation: "keygen" }>;
const paramsOf = (params: PrepareParams): KeygenParams => params as KeygenParams;

export const keygenOperation: OperationHandler = {
  async prepare(session, ctx) {
    const { parties, threshold } = paramsOf(session.params);
    checkCommittee(parties, threshold, "keyGen");
    if (!parties.includes(ctx.self)) throw new SessionError("invalid", "this node is not among the parties");
    const key = await ctx.store.getKey(session.keyId);
    if (key?.status === "READY") throw new SessionError("conflict", `key ${session.keyId} exists`);
    if (key?.status === "PENDING" || ctx.isReserved(session.keyId)) throw new SessionError("conflict", `key ${session.keyId} is PENDING: a keyGen is running or awaiting confirmations`);
    await ctx.authority.authorizeKeygen(session.keyId, parties, threshold);
    await ctx.store.putPending({ keyId: session.keyId, sessionId: session.routeId, threshold, participants: [...parties] });
  },

  async checkStart(session, participants, _dealers, ctx) {
    if (!sameMembers(participants, paramsOf(session.params).parties)) throw new SessionError("invalid", "keyGen must start with every party");
    reserveAtStart(session, ctx);
  },

  async instance(session, ctx) {
    const { parties, threshold } = paramsOf(session.params);
    // The record names the joint id from now on: after a crash this node can still answer for this keyGen (with a nack).
    await ctx.store.putPending({ keyId: session.keyId, sessionId: session.id!, threshold, participants: [...parties] });
    return ctx.suite.keygen({ sessionId: session.jointId!, keyId: session.keyId, self: ctx.self, parties: session.participants, threshold });
  },

  async finish(session, result, ctx) {
    const share = result as ShareFacts;
    await ctx.commits.hold(statementOf(ctx, session, share), share.address, ctx.suite.encodeShare(share as never), "keygen", []);
    return { kind: "generation", generation: session.id! };
  },

  async release(session, reason, ctx) {
    for (const sessionId of [session.routeId, session.id]) if (sessionId !== null) await ctx.store.markError(session.keyId, sessionId, reason);
    const key = await ctx.store.getKey(session.keyId);
    // Held nothing of it: tell the others this keyGen can never commit, so they drop it instead of waiting.
    if (session.id !== null && key?.generations.some((g) => g.id === session.id) !== true) await ctx.commits.nack(session.keyId, session.id, session.participants);
  },
};

/** Coordinates a keyGen; a READY key with the same parameters is returned as it is. */
export async function coordinateKeygen(engine: SessionEngine, keyId: string, parties: readonly number[], threshold: number): Promise<KeyRecord> {
  const ctx = engine.context;
  const sorted = checkCommittee(parties, threshold, "keyGen");
  if (!sorted.includes(ctx.self)) throw new SessionError("invalid", "the coordinating node must be one of the key's parties");
  const existing = await ctx.store.getKey(keyId);
  if (existing?.status === "READY") {
    if (sameMembers(existing.participants, sorted) && existing.threshold === threshold) return existing;
    throw new SessionError("conflict", `key ${keyId} exists as ${existing.threshold}-of-{${existing.participants.join(",")}}, not ${threshold}-of-{${sorted.join(",")}}`);
  }
  await ctx.authority.approve({ operation: "keygen", keyId, parties: sorted, threshold });
  const session = await engine.coordinate(keyId, { operation: "keygen", parties: sorted, threshold }, null, sorted, (ready) => (ready.length === sorted.length ? sorted : null));
  const key = await settledKey(engine, session);
  if (key === null) throw new SessionError("failed", `key ${keyId} vanished after its keyGen`);
  return key;
}
