/**
 * Refresh: new shares of the same key for the same committee. The committee
 * and threshold are the key's own, so no approval is needed; a member takes
 * part only on the generation it holds, with the whole committee, and at most
 * once per `limits.minRefreshIntervalMs` (a coordinator can't wear the others
 * out). A scheduled refresh (params.slot) is instead held to the schedule as
 * this node's own clock sees it (schedule.ts): once per slot, by a member whose
 * turn has come. The old generation keeps signing until every member confirmed the new one.
 */
import type { KeyRecord } from "../../keystore.ts";
import type { ShareFacts } from "../../protocols.ts";
import { sameMembers, type SessionEngine } from "../engine.ts";
import { SessionError } from "../errors.ts";
import type { OperationHandler } from "../types.ts";
import type { PrepareParams } from "../../frames.ts";
import { checkScheduled } from "../schedule.ts";
import { heldGeneration, readyKey, reserveAtStart, settledKey, statementOf } from "./common.ts";

type RefreshParams = Extract<PrepareParams, { operation: "refresh" }>;

export const refreshOperation: OperationHandler = {
  async prepare(session, ctx) {
    const { key } = await heldGeneration(ctx, session);
    if (ctx.isReserved(session.keyId)) throw new SessionError("conflict", `key ${session.keyId} is busy with another keyGen, refresh or reshare`);
    const newest = Math.max(...key.generations.map((g) => g.createdAt));
    const { slot } = session.params as RefreshParams;
    if (slot !== undefined) return checkScheduled(ctx.schedule ?? null, key.participants, session.coordinator, slot, newest, Date.now());
    const wait = newest + ctx.limits.minRefreshIntervalMs - Date.now();
    if (wait > 0) throw new SessionError("conflict", `key ${session.keyId} got a new sharing less than ${ctx.limits.minRefreshIntervalMs} ms ago (retry in ${wait} ms)`);
  },

  async checkStart(session, participants, _dealers, ctx) {
    const { generation } = await heldGeneration(ctx, session);
    if (!sameMembers(participants, generation.participants)) throw new SessionError("invalid", "refresh must start with the whole committee");
    reserveAtStart(session, ctx);
  },

  async instance(session, ctx) {
    return ctx.suite.refresh({ sessionId: session.jointId!, keyId: session.keyId, share: await ctx.loadShare(session.keyId, session.generation!) });
  },

  async finish(session, result, ctx) {
    const share = result as ShareFacts;
    await ctx.commits.hold(statementOf(ctx, session, share), share.address, ctx.suite.encodeShare(share), "refresh", []);
    return { kind: "generation", generation: session.id! };
  },

  async release() {
    // Nothing to undo: the old generation was never touched.
  },
};

/** Coordinates a refresh; `slot` makes it the scheduled refresh of that slot (refresh-scheduler.ts). */
export async function coordinateRefresh(engine: SessionEngine, keyId: string, slot?: number): Promise<KeyRecord> {
  const key = await readyKey(engine.context, keyId);
  const parties = key.participants;
  const params: RefreshParams = slot === undefined ? { operation: "refresh" } : { operation: "refresh", slot };
  const session = await engine.coordinate(keyId, params, key.generation, parties, (ready) => (ready.length === parties.length ? [...parties] : null));
  const refreshed = await settledKey(engine, session);
  if (refreshed === null) throw new SessionError("failed", `key ${keyId} vanished during its refresh`);
  return refreshed;
}
