/**
 * Signing: full (presign + online in one session) or online only, from a
 * presignature the coordinator owns. Each signer rebuilds the digest from the
 * typed request with its own validators before it answers `ready`; a
 * presignature is consumed only at `start`, i.e. once every signer validated
 * the request, so refused requests never drain the pool.
 *
 * Full signing first names its signers in `prepare` and starts without `start`
 * (session/direct.ts); if that attempt fails, the retries ask every candidate
 * and take the fastest t, as before.
 */
import { checkSignerSet as checkLibrarySignerSet, type PartyIndex, InvalidPartiesError } from "@mpc-relay/mpc";
import type { Generation } from "../../keystore.ts";
import { fromHex, type PrepareParams } from "../../frames.ts";
import type { SignatureLike } from "../../protocols.ts";
import { RequestRejected } from "../../validators.ts";
import { sameMembers, type SessionEngine } from "../engine.ts";
import { uniqueSorted } from "../parties.ts";
import { SessionError } from "../errors.ts";
import type { OperationHandler } from "../types.ts";
import { heldGeneration, readyKey } from "./common.ts";

type SignParams = Extract<PrepareParams, { operation: "sign" }>;
const paramsOf = (params: PrepareParams): SignParams => params as SignParams;

export interface SignResult {
  signature: SignatureLike;
  digest: Uint8Array;
  signers: PartyIndex[];
  sessionId: string;
  presigned: boolean;
  attempts: number;
}

/** A presignature this node owns, as the pool hands it out. */
export interface PresignatureRef {
  readonly presignId: string;
  readonly signers: PartyIndex[];
  readonly generation: string;
}

export const signOperation: OperationHandler = {
  async prepare(session, ctx) {
    const params = paramsOf(session.params);
    const { generation } = await heldGeneration(ctx, session);
    try {
      session.digest = (await ctx.validators.digestFor(params.request, { keyId: session.keyId, address: generation.address ?? "" })).digest;
    } catch (error) {
      if (error instanceof RequestRejected) throw new SessionError("rejected", error.message, [], { cause: error });
      throw error;
    }
    if (params.signers !== null) checkSignerSet(generation, params.signers, session.coordinator, ctx.self);
    if (params.presignId !== null) {
      const presign = await ctx.store.getPresign(session.keyId, params.presignId);
      if (presign === null || presign.consumed) throw new SessionError("conflict", `presignature ${params.presignId} unavailable`);
      if (presign.owner !== session.coordinator) throw new SessionError("unauthorized", "presignature belongs to another coordinator");
      if (presign.generation !== session.generation) throw new SessionError("conflict", "presignature of another generation");
      if (params.signers === null || !sameMembers(presign.signers, params.signers)) throw new SessionError("invalid", "presignature bound to other signers");
    }
  },

  async checkStart(session, participants, _dealers, ctx) {
    const params = paramsOf(session.params);
    const { generation } = await heldGeneration(ctx, session);
    checkSignerSet(generation, participants, session.coordinator, ctx.self);
    if (params.presignId !== null && !sameMembers(participants, params.signers ?? [])) throw new SessionError("invalid", "presigned signing must start with the presignature's signers");
  },

  async instance(session, ctx) {
    const params = paramsOf(session.params);
    if (params.presignId !== null) {
      // Marked consumed on disk before our online partial can leave this node.
      const bytes = await ctx.store.consumePresign(session.keyId, params.presignId, session.participants);
      const presignature = ctx.suite.decodePresignature(bytes);
      bytes.fill(0);
      return ctx.suite.onlineSign({ sessionId: session.jointId!, keyId: session.keyId, presignature, digest: session.digest! });
    }
    const share = await ctx.loadShare(session.keyId, session.generation!);
    return ctx.suite.sign({ sessionId: session.jointId!, keyId: session.keyId, share, signers: session.participants, digest: session.digest! });
  },

  async finish(session, result, ctx) {
    const signature = result as SignatureLike;
    const { generation } = await heldGeneration(ctx, session);
    if (!ctx.suite.verify(fromHex(generation.publicKey ?? ""), session.digest!, signature)) throw new Error("the signature does not verify");
    return { kind: "signature", signature };
  },

  async release() {},
};

function signResult(session: { outcome: unknown; digest: Uint8Array | null; participants: PartyIndex[]; id: string | null }, presigned: boolean, attempts: number): SignResult {
  const outcome = session.outcome as { kind: string; signature?: SignatureLike } | null;
  if (outcome?.kind !== "signature" || outcome.signature === undefined || session.digest === null) throw new SessionError("failed", "signing produced no signature");
  return { signature: outcome.signature, digest: session.digest, signers: session.participants, sessionId: session.id!, presigned, attempts };
}

/**
 * The one rule for a signer set, named in `prepare` or started: t distinct members of the generation,
 * the coordinator and this node among them, none banned here.
 */
export function checkSignerSet(generation: Generation, signers: readonly PartyIndex[], coordinator: PartyIndex, self: PartyIndex): void {
  let sorted: PartyIndex[];
  try {
    sorted = checkLibrarySignerSet({ threshold: generation.threshold, parties: generation.participants, banned: generation.banned }, signers, self);
  } catch (error) {
    if (error instanceof InvalidPartiesError) throw new SessionError("invalid", `bad signer set: ${error.message}`);
    throw error;
  }
  if (!sorted.includes(coordinator)) throw new SessionError("invalid", "bad signer set: without the coordinator");
}

/** Sharings a signing request may follow (refreshes committing while it runs) before it gives up. */
const MAX_SHARING_SWITCHES = 3;

/** The coordinator plus the first t-1 other ready nodes (ready is in answer order: fastest first). */
export function pickSigners(ready: readonly PartyIndex[], threshold: number, self: PartyIndex): PartyIndex[] | null {
  const others = ready.filter((p) => p !== self);
  if (!ready.includes(self) || others.length < threshold - 1) return null;
  return uniqueSorted([self, ...others.slice(0, threshold - 1)]);
}

/**
 * Full signing, retried with other signers when one fails, refuses or stays silent. The first attempt
 * names its signers (direct start, no `start` round trip); a direct attempt that ended before the
 * protocol ran here costs no attempt. Retries ask every candidate and take the fastest t.
 */
export async function signFull(engine: SessionEngine, keyId: string, request: Record<string, unknown>, attempts: number, firstAttempt = 1, excluded: readonly PartyIndex[] = []): Promise<SignResult> {
  let key = await readyKey(engine.context, keyId);
  let banned = key.generations.find((g) => g.id === key.generation)?.banned ?? [];
  let switches = 0;
  const avoid = new Set(excluded);
  let lastError: SessionError | null = null;
  let direct = true;
  let latest: readonly PartyIndex[] = [];
  for (let attempt = firstAttempt; attempt <= Math.max(firstAttempt, attempts); attempt++) {
    let candidates = key.participants.filter((p) => p === engine.self || !avoid.has(p));
    if (candidates.length < key.threshold) {
      // Too many put out: those of earlier attempts may be back (a paused or restarted node); only the last attempt's stay out.
      avoid.clear();
      for (const party of [...excluded, ...latest]) avoid.add(party);
      candidates = key.participants.filter((p) => p === engine.self || !avoid.has(p));
      if (candidates.length < key.threshold) break;
    }
    const signers = direct ? engine.direct.pick(candidates, key.threshold, banned) : null;
    direct = false;
    try {
      const session =
        signers !== null
          ? await engine.coordinate(keyId, { operation: "sign", request, presignId: null, signers }, key.generation, signers, () => signers)
          : await engine.coordinate(keyId, { operation: "sign", request, presignId: null, signers: null }, key.generation, candidates, (ready) =>
              ready.length >= key.threshold ? pickSigners(ready, key.threshold, engine.self) : null,
            );
      return signResult(session, false, attempt);
    } catch (error) {
      // A refresh or reshare committed meanwhile: the request goes on under the new sharing (costs no attempt).
      if (error instanceof SessionError && (error.kind === "conflict" || error.superseded) && switches < MAX_SHARING_SWITCHES) {
        // A member may have committed before this node: give our own commit a prepare window to arrive.
        let now = await readyKey(engine.context, keyId);
        for (const deadline = Date.now() + engine.context.timeouts.prepareMs; now.generation === key.generation && Date.now() < deadline; now = await readyKey(engine.context, keyId)) {
          await new Promise((r) => setTimeout(r, 50));
        }
        if (now.generation !== key.generation) {
          switches++;
          key = now;
          banned = key.generations.find((g) => g.id === key.generation)?.banned ?? [];
          direct = true;
          attempt--;
          engine.context.log.info("the key got a new sharing during signing; signing under it", { keyId, generation: key.generation });
          continue;
        }
      }
      // A direct attempt's refusal puts only the refuser out: the classic retry takes any t that are ready.
      if (!(error instanceof SessionError) || !(error.retryable || (signers !== null && error.avoid.length > 0))) throw error;
      lastError = error;
      latest = error.avoid;
      for (const party of error.avoid) avoid.add(party);
      if (signers !== null) engine.direct.suspect(error.avoid);
      engine.context.log.warn("sign attempt failed; retrying with other signers", { keyId, attempt, direct: signers !== null, absentees: error.absentees, avoid: error.avoid });
      if (signers !== null && !error.startedProtocol) attempt--;
    }
  }
  throw lastError ?? new SessionError("unavailable", `fewer than ${key.threshold} signers available`);
}

/** One online round from a presignature this node owns; the caller falls back to signFull on failure. */
export async function signPresigned(engine: SessionEngine, keyId: string, request: Record<string, unknown>, presignature: PresignatureRef): Promise<SignResult> {
  const { presignId, signers, generation } = presignature;
  const session = await engine.coordinate(keyId, { operation: "sign", request, presignId, signers }, generation, signers, (ready) => (ready.length === signers.length ? [...signers] : null));
  return signResult(session, true, 1);
}
