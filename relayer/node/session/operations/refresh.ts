/**
 * Refresh: new shares of the same key for the same committee. The committee
 * and threshold are the key's own, so no approval is needed; a member takes
 * part only on the generation it holds, with the whole committee, and at most
 * once per `limits.minRefreshIntervalMs` (a coordinator can't wear the others
 * out). A scheduled refresh (params.slot) is instead held to the schedule as
 * this node's own clock sees it (schedule.ts): once per slot, by a member whose
 * turn has come. The old generation keeps signing until every member confirmed the new one.
 *
 * Members down (params.absent, scheduled refreshes only): the others refresh
 * among themselves when at least `minPresent` (2t-1) of them are there. The new
 * sharing defines every member's point; the absent are named `awaiting` in the
 * generation (commit.ts) and recover their share later (recover.ts). Why 2t-1:
 * the old sharing goes at the commit, so the present must include t honest
 * members whatever t-1 of them do, or corrupt holders could refuse the absent
 * their recovery and leave too few holders to sign.
 *
 * Rejoin (params.rejoin = r): after r recovered its share of the generation, r
 * (and only r, over its own connection) starts a refresh over the holders and
 * itself, which gives it the pairwise setups signing needs. It is allowed only
 * while the generation names r awaiting, so it happens once per recovery.
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import { heldShare, type Generation, type KeyRecord } from "../../keystore.ts";
import type { PrepareParams } from "../../frames.ts";
import type { ShareFacts } from "../../protocols.ts";
import { sameMembers, type SessionEngine } from "../engine.ts";
import { uniqueSorted } from "../parties.ts";
import { SessionError } from "../errors.ts";
import { checkScheduled } from "../schedule.ts";
import type { OperationContext, OperationHandler, Session } from "../types.ts";
import { heldGeneration, readyKey, reserveAtStart, settledKey, statementOf } from "./common.ts";

type RefreshParams = Extract<PrepareParams, { operation: "refresh" }>;
const paramsOf = (session: Session): RefreshParams => session.params as RefreshParams;

/** Fewest members a refresh may go ahead with: t honest ones among them whatever t-1 corrupt ones do. */
function minPresent(threshold: number): number {
  return 2 * threshold - 1;
}

export const refreshOperation: OperationHandler = {
  async prepare(session, ctx) {
    const params = paramsOf(session);
    // The key's state is read first: a dealing session just finishing here releases the key meanwhile.
    const held = params.rejoin !== undefined ? null : await heldGeneration(ctx, session);
    if (params.rejoin !== undefined) await rejoinGeneration(ctx, session, params.rejoin);
    if (ctx.isReserved(session.keyId)) throw new SessionError("conflict", `key ${session.keyId} is busy with another keyGen, refresh or reshare`);
    if (held === null) return;
    const { key, generation } = held;
    const newest = Math.max(...key.generations.map((g) => g.createdAt));
    if (params.slot !== undefined) {
      checkScheduled(ctx.schedule ?? null, key.participants, session.coordinator, params.slot, newest, Date.now());
      if (params.absent !== undefined) checkAbsent(generation, params.absent, session.coordinator, ctx.self);
      return;
    }
    if (params.absent !== undefined) throw new SessionError("invalid", "only a scheduled refresh goes ahead without members");
    const wait = newest + ctx.limits.minRefreshIntervalMs - Date.now();
    if (wait > 0) throw new SessionError("conflict", `key ${session.keyId} got a new sharing less than ${ctx.limits.minRefreshIntervalMs} ms ago (retry in ${wait} ms)`);
  },

  async checkStart(session, participants, _dealers, ctx) {
    const members = await membersOf(ctx, session);
    if (!sameMembers(participants, members)) throw new SessionError("invalid", "refresh must start with the whole committee (less the absent, plus the rejoining member)");
    reserveAtStart(session, ctx);
  },

  async instance(session, ctx) {
    const share = await ctx.loadShare(session.keyId, session.generation!);
    // A refresh among the present members, or one bringing a recovered member back, runs over that member set.
    const members = session.participants;
    const own = sameMembers(share.parties, members) ? share : ctx.suite.withMembers(share, members);
    return ctx.suite.refresh({ sessionId: session.jointId!, keyId: session.keyId, share: own });
  },

  async finish(session, result, ctx) {
    const share = result as ShareFacts;
    const params = paramsOf(session);
    const generation = await sessionGeneration(ctx, session);
    const awaiting = uniqueSorted([...(generation.awaiting ?? []), ...(params.absent ?? [])]).filter((p) => p !== params.rejoin);
    await ctx.commits.hold({ ...statementOf(ctx, session, share), awaiting }, share.address, ctx.suite.encodeShare(share), "refresh", []);
    return { kind: "generation", generation: session.id! };
  },

  async release() {
    // Nothing to undo: the old generation was never touched.
  },
};

/** The refresh's members: the generation's holders, less the absent, plus a rejoining member. */
async function membersOf(ctx: OperationContext, session: Session): Promise<PartyIndex[]> {
  const params = paramsOf(session);
  const generation = params.rejoin !== undefined ? await rejoinGeneration(ctx, session, params.rejoin) : (await heldGeneration(ctx, session)).generation;
  const absent = params.absent ?? [];
  return uniqueSorted([...generation.participants.filter((p) => !absent.includes(p)), ...(params.rejoin === undefined ? [] : [params.rejoin])]);
}

async function sessionGeneration(ctx: OperationContext, session: Session): Promise<Generation> {
  const key = await ctx.store.getKey(session.keyId);
  const generation = heldShare(key, session.generation);
  if (generation === undefined) throw new SessionError("conflict", `this node holds no share of generation ${session.generation ?? "(none)"} of key ${session.keyId}`);
  return generation;
}

/** The one rule for a refresh without some members: named members of the generation, neither us nor the coordinator, enough left. */
function checkAbsent(generation: Generation, absent: readonly PartyIndex[], coordinator: PartyIndex, self: PartyIndex): void {
  const sorted = uniqueSorted(absent);
  if (sorted.length !== absent.length || sorted.some((p) => !generation.participants.includes(p))) throw new SessionError("invalid", "absent members must be distinct members of the generation");
  if (sorted.includes(coordinator) || sorted.includes(self)) throw new SessionError("invalid", "the coordinator and this node are not absent");
  const present = generation.participants.length - sorted.length;
  if (present < minPresent(generation.threshold)) {
    throw new SessionError("conflict", `a refresh needs at least ${minPresent(generation.threshold)} of its ${generation.participants.length} members present (2t-1), ${present} are`);
  }
}

/** Rejoin: the generation, held here, names the rejoining member awaiting, and only that member may start it. */
async function rejoinGeneration(ctx: OperationContext, session: Session, rejoin: PartyIndex): Promise<Generation> {
  const generation = await sessionGeneration(ctx, session);
  if (session.coordinator !== rejoin) throw new SessionError("unauthorized", `only party ${rejoin} starts its own rejoin`);
  if (!(generation.awaiting ?? []).includes(rejoin)) throw new SessionError("conflict", `party ${rejoin} does not await generation ${generation.id}`);
  if (!generation.participants.includes(ctx.self) && ctx.self !== rejoin) throw new SessionError("conflict", `this node is not in key ${session.keyId}'s committee`);
  return generation;
}

/**
 * Coordinates a refresh; `slot` makes it the scheduled refresh of that slot (refresh-scheduler.ts). A scheduled
 * refresh that finds members silent goes ahead without them when enough are present (minPresent).
 */
export async function coordinateRefresh(engine: SessionEngine, keyId: string, slot?: number): Promise<KeyRecord> {
  const key = await readyKey(engine.context, keyId);
  const parties = key.participants;
  const params: RefreshParams = slot === undefined ? { operation: "refresh" } : { operation: "refresh", slot };
  try {
    return await runRefresh(engine, key, params, parties);
  } catch (error) {
    const silent = error instanceof SessionError && error.kind === "unavailable" && !error.startedProtocol ? error.absentees.filter((p) => parties.includes(p) && p !== engine.self) : [];
    if (slot === undefined || silent.length === 0 || parties.length - silent.length < minPresent(key.threshold)) throw error;
    engine.context.log.warn("scheduled refresh goes ahead without silent members; they recover their share later", { keyId, absent: silent });
    return runRefresh(
      engine,
      key,
      { ...params, absent: silent },
      parties.filter((p) => !silent.includes(p)),
    );
  }
}

/** A recovered member (this node) brings itself back into the key's generation with a refresh over the holders and itself. */
export async function coordinateRejoin(engine: SessionEngine, keyId: string): Promise<KeyRecord> {
  const key = await engine.context.store.getKey(keyId);
  const generation = heldShare(key, key?.generation);
  if (key === null || generation === undefined || !(generation.awaiting ?? []).includes(engine.self))
    throw new SessionError("conflict", `this node has no recovered share of key ${keyId} to rejoin with`);
  return runRefresh(engine, key as KeyRecord & { generation: string }, { operation: "refresh", rejoin: engine.self }, uniqueSorted([...generation.participants, engine.self]));
}

async function runRefresh(engine: SessionEngine, key: KeyRecord & { generation: string }, params: RefreshParams, members: readonly PartyIndex[]): Promise<KeyRecord> {
  const session = await engine.coordinate(key.keyId, params, key.generation, members, (ready) => (ready.length === members.length ? [...members] : null));
  const refreshed = await settledKey(engine, session);
  if (refreshed === null) throw new SessionError("failed", `key ${key.keyId} vanished during its refresh`);
  return refreshed;
}
