/**
 * The node's key operations, as the service and the staking agent call them:
 * one engine (engine.ts) running the operations of operations/*.ts, and the
 * commit tracker (commit.ts) for new generations. Frames about generations go
 * to the tracker, every other session frame to the engine.
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import { isCommitFrame, type Certificate, type Frame } from "../frames.ts";
import type { KeyRecord } from "../keystore.ts";
import type { ShareFacts } from "../protocols.ts";
import { SessionEngine } from "./engine.ts";
import { SessionError } from "./errors.ts";
import { coordinateKeygen, keygenOperation } from "./operations/keygen.ts";
import { coordinatePresign, presignOperation } from "./operations/presign.ts";
import { coordinateRecover, recoverOperation } from "./operations/recover.ts";
import { coordinateRefresh, refreshOperation } from "./operations/refresh.ts";
import { coordinateReshare, reshareOperation } from "./operations/reshare.ts";
import { signFull, signOperation, signPresigned, type PresignatureRef, type SignResult } from "./operations/sign.ts";
import type { FrameSender, MessageAuthenticator, OperationContext, ProvenFault } from "./types.ts";

export { SessionError, type SessionErrorKind } from "./errors.ts";
export { sameMembers } from "./engine.ts";
export type { FrameSender, MessageAuthenticator, ProvenFault } from "./types.ts";
export type { PresignatureRef, SignResult } from "./operations/sign.ts";

export class SessionManager<Share extends ShareFacts = ShareFacts, Presignature = unknown> {
  private readonly engine: SessionEngine;

  constructor(
    context: Omit<OperationContext<Share, Presignature>, "isReserved" | "reserve" | "loadShare">,
    sender: FrameSender,
    auth: MessageAuthenticator | null,
    private readonly signAttempts: number,
    proposalId?: () => string,
  ) {
    this.engine = new SessionEngine(
      context as unknown as Omit<OperationContext, "isReserved" | "reserve" | "loadShare">,
      { keygen: keygenOperation, refresh: refreshOperation, reshare: reshareOperation, sign: signOperation, presign: presignOperation, recover: recoverOperation },
      sender,
      auth,
      proposalId,
    );
  }

  /** Hook for the staking agent: a peer's fault that its own signed messages prove. */
  set onFault(hook: (fault: ProvenFault) => void) {
    this.engine.faults.onFault = hook;
  }

  /** A commit changed the key's generations: sessions on a deleted one end at once (engine.ts). */
  generationsChanged(keyId: string): void {
    void this.engine.generationsChanged(keyId).catch((error: unknown) => this.engine.context.log.warn("ending superseded sessions failed", { keyId, error: String(error) }));
  }

  activeSessions(): number {
    return this.engine.activeSessions();
  }

  /** Whether a keyGen, refresh, reshare or recovery of the key involves this node now. */
  dealing(keyId: string): boolean {
    return this.engine.dealing(keyId);
  }

  handleFrame(from: PartyIndex, frame: Frame): void {
    if (isCommitFrame(frame.body)) this.engine.context.commits.handle(from, frame.body);
    else this.engine.handleFrame(from, frame);
  }

  /** keyGen; a READY key with the same parameters is returned as it is. */
  keygen(keyId: string, parties: readonly PartyIndex[], threshold: number): Promise<KeyRecord> {
    return coordinateKeygen(this.engine, keyId, parties, threshold);
  }

  /** An operator's refresh, or with `slot` the scheduled refresh of that slot (refresh-scheduler.ts). */
  refresh(keyId: string, slot?: number): Promise<KeyRecord> {
    return coordinateRefresh(this.engine, keyId, slot);
  }

  /** Recovers this node's share of the certified generation it awaits from t holders (avoiding `avoid`), then rejoins. */
  recover(certificate: Certificate, avoid: readonly PartyIndex[] = []): Promise<void> {
    return coordinateRecover(this.engine, certificate, avoid);
  }

  /** Reshares to a new committee (same public key); t old parties deal. The key as this node now holds it, or null. */
  reshare(keyId: string, newParties: readonly PartyIndex[], newThreshold: number): Promise<KeyRecord | null> {
    return coordinateReshare(this.engine, keyId, newParties, newThreshold);
  }

  signFull(keyId: string, request: Record<string, unknown>, firstAttempt = 1, excluded: readonly PartyIndex[] = []): Promise<SignResult> {
    return signFull(this.engine, keyId, request, this.signAttempts, firstAttempt, excluded);
  }

  signPresigned(keyId: string, request: Record<string, unknown>, presignature: PresignatureRef): Promise<SignResult> {
    return signPresigned(this.engine, keyId, request, presignature);
  }

  presign(keyId: string): Promise<PresignatureRef> {
    return coordinatePresign(this.engine, keyId);
  }

  /** Deletes this node's share of the key, on its own operator's request only (no other member is told or asked). */
  async deleteKey(keyId: string): Promise<boolean> {
    const { store, authority, commits, log } = this.engine.context;
    const key = await store.getKey(keyId);
    if (key === null) return false;
    await authority.authorizeDelete(key);
    const deleted = await store.deleteKey(keyId);
    commits.onChange(keyId);
    log.info("key deleted by this node's operator", { keyId });
    return deleted;
  }

  /** Throws SessionError("not-found") when the key is unknown here. */
  async requireKey(keyId: string): Promise<KeyRecord> {
    const key = await this.engine.context.store.getKey(keyId);
    if (key === null) throw new SessionError("not-found", `key ${keyId} not found`);
    return key;
  }
}
