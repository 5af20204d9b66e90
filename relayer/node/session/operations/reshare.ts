/**
 * Reshare: the same key to a new committee and threshold. An old member deals
 * and a new member joins only when its own authority allows exactly this new
 * committee and threshold (authority.ts): a coordinator naming itself, or
 * identities it controls, as the new committee gets nothing. t old members
 * deal; old members keep their shares until every new holder confirmed
 * (commit.ts), and leavers delete theirs only then and with their authority's
 * consent.
 */
import { ethereumAddress, pointFromBytes, type PartyIndex } from "@mpc-relay/mpc";
import { fromHex, type PrepareParams } from "../../frames.ts";
import type { KeyRecord } from "../../keystore.ts";
import type { ShareFacts } from "../../protocols.ts";
import { sameMembers, type SessionEngine } from "../engine.ts";
import { uniqueSorted } from "../parties.ts";
import { SessionError } from "../errors.ts";
import type { OperationHandler } from "../types.ts";
import { checkCommittee, heldGeneration, readyKey, reserveAtStart, settledKey, statementOf } from "./common.ts";

type ReshareParams = Extract<PrepareParams, { operation: "reshare" }>;
const paramsOf = (params: PrepareParams): ReshareParams => params as ReshareParams;

export const reshareOperation: OperationHandler = {
  async prepare(session, ctx) {
    const params = paramsOf(session.params);
    checkCommittee(params.newParties, params.newThreshold, "reshare");
    const isOld = params.oldParties.includes(ctx.self);
    const isNew = params.newParties.includes(ctx.self);
    if (!isOld && !isNew) throw new SessionError("invalid", "this node is in neither committee");
    if (ctx.isReserved(session.keyId)) throw new SessionError("conflict", `key ${session.keyId} is busy with another keyGen, refresh or reshare`);
    const target = { newParties: params.newParties, newThreshold: params.newThreshold };
    if (isOld) {
      const { key, generation } = await heldGeneration(ctx, session);
      if (generation.publicKey !== params.publicKey) throw new SessionError("conflict", "public key mismatch");
      if (!sameMembers(generation.participants, params.oldParties)) throw new SessionError("conflict", "old committee mismatch");
      await ctx.authority.authorizeReshare({ keyId: key.keyId, publicKey: generation.publicKey, address: generation.address, participants: generation.participants }, target);
      return;
    }
    const key = await ctx.store.getKey(session.keyId);
    if (key?.status === "READY") throw new SessionError("conflict", `this node already holds key ${session.keyId}`);
    if (!params.oldParties.includes(session.coordinator)) throw new SessionError("unauthorized", `party ${session.coordinator} is not in the old committee`);
    const address = ethereumAddress(pointFromBytes(fromHex(params.publicKey)));
    await ctx.authority.authorizeReshare({ keyId: session.keyId, publicKey: params.publicKey, address, participants: params.oldParties }, target);
    await ctx.store.putPending({ keyId: session.keyId, sessionId: session.routeId, threshold: params.newThreshold, participants: [...params.newParties] });
  },

  async checkStart(session, participants, dealers, ctx) {
    const params = paramsOf(session.params);
    if (dealers === null || dealers.length === 0 || !dealers.every((p) => params.oldParties.includes(p))) throw new SessionError("invalid", "reshare needs dealers from the old committee");
    if (params.oldParties.includes(ctx.self)) {
      const { generation } = await heldGeneration(ctx, session);
      if (dealers.length < generation.threshold) throw new SessionError("invalid", `reshare needs at least ${generation.threshold} dealers`);
    }
    if (!sameMembers(participants, uniqueSorted([...dealers, ...params.newParties]))) throw new SessionError("invalid", "reshare participants mismatch");
    reserveAtStart(session, ctx);
  },

  async instance(session, ctx) {
    const params = paramsOf(session.params);
    const dealers = session.dealers!;
    return ctx.suite.reshare({
      sessionId: session.jointId!,
      keyId: session.keyId,
      self: ctx.self,
      oldShare: dealers.includes(ctx.self) ? await ctx.loadShare(session.keyId, session.generation!) : null,
      oldParties: dealers,
      newParties: params.newParties,
      newThreshold: params.newThreshold,
      publicKey: fromHex(params.publicKey),
    });
  },

  async finish(session, result, ctx) {
    const params = paramsOf(session.params);
    const share = result as ShareFacts | null;
    if (share === null) await ctx.commits.leave(session.keyId, session.id!, params.newThreshold, params.newParties);
    else await ctx.commits.hold(statementOf(ctx, session, share), share.address, ctx.suite.encodeShare(share), "reshare", params.oldParties);
    return { kind: "generation", generation: session.id! };
  },

  async release(session, reason, ctx) {
    const params = paramsOf(session.params);
    if (params.oldParties.includes(ctx.self)) return;
    for (const sessionId of [session.routeId, session.id]) if (sessionId !== null) await ctx.store.markError(session.keyId, sessionId, reason);
  },
};

/** t old members that are ready: this node first if it is old, then the fastest. */
function pickDealers(readyOld: readonly PartyIndex[], threshold: number, self: PartyIndex): PartyIndex[] | null {
  if (readyOld.length < threshold) return null;
  const ordered = readyOld.includes(self) ? [self, ...readyOld.filter((p) => p !== self)] : [...readyOld];
  return uniqueSorted(ordered.slice(0, threshold));
}

/** Reshares to a new committee (same public key). Returns the key as this node now holds it, or null when it left. */
export async function coordinateReshare(engine: SessionEngine, keyId: string, newParties: readonly PartyIndex[], newThreshold: number): Promise<KeyRecord | null> {
  const ctx = engine.context;
  const key = await readyKey(ctx, keyId);
  const sortedNew = checkCommittee(newParties, newThreshold, "reshare");
  const oldParties = key.participants;
  await ctx.authority.approve({ operation: "reshare", keyId, publicKey: key.publicKey ?? "", oldParties, newParties: sortedNew, newThreshold });
  const candidates = uniqueSorted([...oldParties, ...sortedNew]);
  const params: PrepareParams = { operation: "reshare", oldParties, newParties: sortedNew, newThreshold, publicKey: key.publicKey ?? "" };
  const session = await engine.coordinate(keyId, params, key.generation, candidates, (ready) => {
    if (!sortedNew.every((p) => ready.includes(p))) return null;
    const dealers = pickDealers(
      oldParties.filter((p) => ready.includes(p)),
      key.threshold,
      ctx.self,
    );
    return dealers === null ? null : { participants: uniqueSorted([...dealers, ...sortedNew]), dealers };
  });
  const after = await settledKey(engine, session);
  return after?.status === "READY" && sortedNew.includes(ctx.self) ? after : null;
}
