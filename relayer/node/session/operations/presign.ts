/**
 * Presign: the message-independent rounds of signing, run ahead for the
 * coordinator's pool (pool.ts). A presignature belongs to the coordinator that
 * made it and to one generation; each member keeps at most
 * `limits.maxPresignaturesPerOwner` unused ones per key and coordinator, so a
 * member can't fill the others' stores.
 */
import type { SessionEngine } from "../engine.ts";
import { SessionError } from "../errors.ts";
import type { OperationHandler } from "../types.ts";
import { heldGeneration, readyKey } from "./common.ts";
import { pickSigners, type PresignatureRef } from "./sign.ts";

export const presignOperation: OperationHandler = {
  async prepare(session, ctx) {
    await heldGeneration(ctx, session);
    const unused = (await ctx.store.listPresigns(session.keyId)).filter((p) => p.owner === session.coordinator && !p.consumed).length;
    if (unused >= ctx.limits.maxPresignaturesPerOwner) throw new SessionError("conflict", `party ${session.coordinator} already has ${unused} unused presignatures for key ${session.keyId} here`);
  },

  async checkStart(session, participants, _dealers, ctx) {
    const { generation } = await heldGeneration(ctx, session);
    if (participants.length !== generation.threshold || !participants.every((p) => generation.participants.includes(p))) throw new SessionError("invalid", "bad signer set");
  },

  async instance(session, ctx) {
    return ctx.suite.presign({ sessionId: session.jointId!, keyId: session.keyId, share: await ctx.loadShare(session.keyId, session.generation!), signers: session.participants });
  },

  async finish(session, result, ctx) {
    await ctx.store.putPresign(
      { keyId: session.keyId, presignId: session.id!, owner: session.coordinator, signers: session.participants, generation: session.generation! },
      ctx.suite.encodePresignature(result),
    );
    return { kind: "presignature" };
  },

  async release() {},
};

/** Runs one presign session coordinated (and owned) by this node. */
export async function coordinatePresign(engine: SessionEngine, keyId: string): Promise<PresignatureRef> {
  const key = await readyKey(engine.context, keyId);
  const session = await engine.coordinate(keyId, { operation: "presign" }, key.generation, key.participants, (ready) => pickSigners(ready, key.threshold, engine.self));
  return { presignId: session.id!, signers: session.participants, generation: key.generation };
}
