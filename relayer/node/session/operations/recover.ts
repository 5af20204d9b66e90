/**
 * Recovery (issue 14): a member that a refresh went ahead without regains its
 * share of that generation from t holders (packages/mpc/src/recovery.ts), then
 * rejoins with a refresh over the holders and itself (refresh.ts).
 *
 * Who may ask: the recovered index is always the session's coordinator, i.e.
 * the authenticated peer that sent `prepare` (frames.ts: the claimed sender is
 * the connection's peer). A helper takes part only if its OWN record of the
 * generation names that member awaiting; the certificate in the parameters is
 * for the requester only. So no member can obtain another index's share, nor
 * its own share of a generation it was not left out of.
 *
 * Who helps: exactly t committed holders of the generation, chosen by the
 * requester among those ready. A helper learns nothing (masked terms).
 *
 * Lies: a helper's wrong term, mask or public shares abort the session at the
 * requester naming it (it is avoided on the retry); a share that does not
 * match the certified sharing is never stored. A lying requester learns only
 * its own share, which it was entitled to, and can make helpers do work once
 * per attempt like any coordinator. The requester keeps its old share until
 * its recovered one is stored and committed (commit.ts holdRecovered).
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import { fromHex, type Certificate, type PrepareParams } from "../../frames.ts";
import { heldShare, type Generation } from "../../keystore.ts";
import type { ShareFacts } from "../../protocols.ts";
import { type SessionEngine } from "../engine.ts";
import { uniqueSorted } from "../parties.ts";
import { SessionError } from "../errors.ts";
import type { OperationContext, OperationHandler, Session } from "../types.ts";
import { coordinateRejoin } from "./refresh.ts";

type RecoverParams = Extract<PrepareParams, { operation: "recover" }>;
const certificateOf = (session: Session): Certificate => (session.params as RecoverParams).certificate;

export const recoverOperation: OperationHandler = {
  async prepare(session, ctx) {
    const certificate = certificateOf(session);
    if (certificate.keyId !== session.keyId || certificate.generation !== session.generation) throw new SessionError("invalid", "the certificate is not of the session's generation");
    if (session.coordinator === ctx.self) return requesterCheck(ctx, certificate);
    await helperGeneration(ctx, session);
  },

  async checkStart(session, participants, _dealers, ctx) {
    const helpers = participants.filter((p) => p !== session.coordinator);
    const parties = session.coordinator === ctx.self ? certificateOf(session).parties : (await helperGeneration(ctx, session)).participants;
    const threshold = certificateOf(session).threshold;
    if (!participants.includes(session.coordinator) || helpers.length !== threshold || helpers.some((h) => !parties.includes(h))) {
      throw new SessionError("invalid", `recovery runs with the requester and exactly ${threshold} holders`);
    }
  },

  async instance(session, ctx) {
    const target = session.coordinator;
    const helpers = uniqueSorted(session.participants.filter((p) => p !== target));
    const base = { sessionId: session.jointId!, keyId: session.keyId, self: ctx.self, target, helpers };
    if (target !== ctx.self) return ctx.suite.recover({ ...base, share: await ctx.loadShare(session.keyId, session.generation!), sharing: null });
    const c = certificateOf(session);
    return ctx.suite.recover({
      ...base,
      share: null,
      sharing: { threshold: c.threshold, parties: uniqueSorted(c.parties), publicKey: fromHex(c.publicKey), epoch: fromHex(c.generation), digest: fromHex(c.digest) },
    });
  },

  async finish(session, result, ctx) {
    if (session.coordinator !== ctx.self) return { kind: "recovered" };
    const share = result as ShareFacts;
    // Stored and committed with the holders' certificate: this deletes our share of the older sharing.
    await ctx.commits.holdRecovered(certificateOf(session), share.address, ctx.suite.encodeShare(share));
    ctx.log.info("share recovered", { keyId: session.keyId, generation: session.generation, helpers: session.participants.filter((p) => p !== ctx.self) });
    return { kind: "generation", generation: session.generation! };
  },

  async release() {},
};

/** The requester's own check: a valid certificate of a generation it is named awaiting in and does not hold. */
async function requesterCheck(ctx: OperationContext, certificate: Certificate): Promise<void> {
  if (!(certificate.awaiting ?? []).includes(ctx.self) || !(await ctx.commits.verifies(certificate))) throw new SessionError("invalid", "no valid certificate naming this node awaiting");
  const key = await ctx.store.getKey(certificate.keyId);
  if (key?.generations.some((g) => g.id === certificate.generation && g.holder) === true) throw new SessionError("conflict", "this node holds that generation already");
}

/** A helper's rule: it holds the committed generation, and its own record names the requester awaiting. */
async function helperGeneration(ctx: OperationContext, session: Session): Promise<Generation> {
  const key = await ctx.store.getKey(session.keyId);
  const generation = heldShare(key, session.generation, true);
  if (generation === undefined || !generation.participants.includes(ctx.self))
    throw new SessionError("conflict", `this node holds no committed share of generation ${session.generation ?? "(none)"} of key ${session.keyId}`);
  if (!(generation.awaiting ?? []).includes(session.coordinator))
    throw new SessionError("unauthorized", `party ${session.coordinator} does not await generation ${generation.id}: it may recover only its own share of a generation it was left out of`);
  return generation;
}

/** The requester's side: recover from the fastest t holders (avoiding `avoid`), then rejoin. */
export async function coordinateRecover(engine: SessionEngine, certificate: Certificate, avoid: readonly PartyIndex[] = []): Promise<void> {
  const key = await engine.context.store.getKey(certificate.keyId);
  if (heldShare(key, certificate.generation) === undefined) {
    const candidates = certificate.parties.filter((p) => !avoid.includes(p));
    const t = certificate.threshold;
    await engine.coordinate(certificate.keyId, { operation: "recover", certificate }, certificate.generation, candidates, (ready) => {
      const helpers = ready.filter((p) => p !== engine.self);
      return helpers.length >= t ? uniqueSorted([engine.self, ...helpers.slice(0, t)]) : null;
    });
  }
  await coordinateRejoin(engine, certificate.keyId);
}
