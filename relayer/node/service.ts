/**
 * The signer node's operations as the HTTP API (and so the CLI and the
 * relayer) see them: key lifecycle, typed signing requests with the
 * presignature fast path and a full-signing fallback, status.
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import type { PeerDirectory } from "./directory.ts";
import { toHex } from "./frames.ts";
import { sharings, type Approval, type KeyRecord, type KeyStore } from "./keystore.ts";
import type { Logger } from "../shared/log.ts";
import type { NodeMetrics } from "./metrics.ts";
import type { PoolEntry, PresignPool } from "./pool.ts";
import { SessionError, type SessionManager, type SignResult } from "./session/index.ts";
import type { KeyAuthority } from "./session/authority.ts";
import type { ApprovableOperation } from "./session/ids.ts";

export interface SignResponse {
  keyId: string;
  address: string;
  signature: `0x${string}`;
  r: `0x${string}`;
  s: `0x${string}`;
  v: 27 | 28;
  digest: `0x${string}`;
  signers: PartyIndex[];
  sessionId: string;
  presigned: boolean;
  attempts: number;
}

/** A counting semaphore with a FIFO queue. */
class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get busy(): boolean {
    return this.active > 0;
  }

  acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.active -= 1;
  }
}

export class NodeService {
  private inFlight = 0;
  private draining = false;
  private readonly signSlots: Slots;
  private readonly onlineSlots: Slots;

  constructor(
    readonly self: PartyIndex,
    readonly peerId: string,
    private readonly store: KeyStore,
    private readonly sessions: SessionManager,
    private readonly authority: KeyAuthority,
    private readonly pool: PresignPool,
    private readonly directory: PeerDirectory,
    private readonly connectedPeers: () => number,
    private readonly log: Logger,
    private readonly metrics: NodeMetrics,
    maxConcurrentSigns: number,
  ) {
    this.signSlots = new Slots(maxConcurrentSigns);
    this.onlineSlots = new Slots(maxConcurrentSigns * 8);
  }

  keygen(keyId: string, threshold: number, parties?: PartyIndex[]): Promise<KeyRecord> {
    const committee = parties ?? this.directory.members().map((m) => m.index);
    this.requireKnown(committee);
    return this.sessions.keygen(keyId, committee, threshold);
  }

  refresh(keyId: string): Promise<KeyRecord> {
    return this.sessions.refresh(keyId);
  }

  reshare(keyId: string, newParties: PartyIndex[], newThreshold: number): Promise<KeyRecord | null> {
    this.requireKnown(newParties);
    return this.sessions.reshare(keyId, newParties, newThreshold);
  }

  /** This node's operator approves a keyGen or reshare another member will coordinate; returns the approval's hash. */
  async approve(op: ApprovableOperation, ttlMs?: number): Promise<{ hash: string; expiresAt: number }> {
    const hash = await this.authority.approve(op, ttlMs);
    const approval = await this.store.getApproval(hash);
    return { hash, expiresAt: approval?.expiresAt ?? 0 };
  }

  listApprovals(): Promise<Approval[]> {
    return this.store.listApprovals();
  }

  revokeApproval(hash: string): Promise<boolean> {
    return this.store.deleteApproval(hash);
  }

  private requireKnown(parties: readonly PartyIndex[]): void {
    for (const party of parties) if (this.directory.byIndex(party) === undefined) throw new SessionError("invalid", `party ${party} is not in the peer directory`);
  }

  deleteKey(keyId: string): Promise<boolean> {
    return this.sessions.deleteKey(keyId);
  }

  async getKey(keyId: string): Promise<KeyRecord | null> {
    return this.store.getKey(keyId);
  }

  listKeys(): Promise<KeyRecord[]> {
    return this.store.listKeys();
  }

  /**
   * Signs a typed request: from a pooled presignature when one is available,
   * else (or on failure) by full signing. At most `maxConcurrentSigns` run at
   * once from this coordinator; the rest wait their turn, so a burst doesn't
   * starve the rounds already running into timeouts.
   */
  async sign(keyId: string, request: Record<string, unknown>): Promise<SignResponse> {
    if (this.draining) throw new SessionError("unavailable", "this node is stopping; ask another node");
    this.inFlight += 1;
    try {
      // An online round costs little CPU, so presigned requests get more slots than full signing.
      const entry = this.pool.take(keyId);
      const slots = entry === null ? this.signSlots : this.onlineSlots;
      await slots.acquire();
      try {
        return await this.signNow(keyId, request, entry);
      } finally {
        slots.release();
      }
    } finally {
      this.inFlight -= 1;
    }
  }

  /**
   * A graceful stop: new signing requests are turned away, and this waits (up to `ms`) until the
   * requests under way and every session this node takes part in have finished.
   */
  async drain(ms: number): Promise<{ inFlight: number; sessions: number }> {
    this.draining = true;
    const deadline = Date.now() + ms;
    while ((this.inFlight > 0 || this.sessions.activeSessions() > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return { inFlight: this.inFlight, sessions: this.sessions.activeSessions() };
  }

  /** True while this node coordinates or queues signing work (the pool refills only when idle). */
  get signingBusy(): boolean {
    return this.signSlots.busy || this.onlineSlots.busy;
  }

  private async signNow(keyId: string, request: Record<string, unknown>, entry: PoolEntry | null): Promise<SignResponse> {
    const type = typeof request === "object" && request !== null && "type" in request ? String(request.type) : "unknown";
    let result: SignResult;
    try {
      if (entry !== null) {
        try {
          result = await this.sessions.signPresigned(keyId, request, entry);
        } catch (error) {
          // Refused before `start`: no signer consumed it, so a refused request costs no presignature.
          if (error instanceof SessionError && !error.startedProtocol && error.kind === "rejected") this.pool.putBack(keyId, entry);
          // A rejection of the request stands; anything else (a dead signer, a stale presignature) falls back.
          if (!(error instanceof SessionError) || ["rejected", "invalid", "unauthorized", "not-found"].includes(error.kind)) throw error;
          this.pool.suspect(error.absentees);
          this.log.warn("presigned signing failed; falling back to full signing", { keyId, absentees: error.absentees });
          result = await this.sessions.signFull(keyId, request, 2, error.absentees);
        }
      } else {
        result = await this.sessions.signFull(keyId, request);
      }
    } catch (error) {
      this.metrics.signRequests.inc({ type, path: entry === null ? "full" : "presigned", outcome: "failed" });
      throw error;
    }
    this.metrics.signRequests.inc({ type, path: result.presigned ? "presigned" : "full", outcome: "ok" });
    const key = await this.store.getKey(keyId);
    const { signature } = result;
    return {
      keyId,
      address: key?.address ?? "",
      signature: `0x${toHex(signature.bytes)}`,
      r: `0x${signature.r.toString(16).padStart(64, "0")}`,
      s: `0x${signature.s.toString(16).padStart(64, "0")}`,
      v: signature.v,
      digest: `0x${toHex(result.digest)}`,
      signers: result.signers,
      sessionId: result.sessionId,
      presigned: result.presigned,
      attempts: result.attempts,
    };
  }

  async status(): Promise<Record<string, unknown>> {
    const keys = await this.store.listKeys();
    return {
      index: this.self,
      peerId: this.peerId,
      peers: this.directory.members().map((m) => ({ index: m.index, peerId: m.peerId, address: m.address })),
      connectedPeers: this.connectedPeers(),
      activeSessions: this.sessions.activeSessions(),
      presignPool: this.pool.sizes(),
      keys,
      /** Per READY key: when its current sharing was made (a refresh renews it) and its age. */
      sharings: sharings(keys).map((s) => ({ ...s, ageSeconds: Math.round((Date.now() - s.sharedAt) / 1000) })),
      rssBytes: process.memoryUsage().rss,
    };
  }

  absences(): Promise<unknown[]> {
    return this.store.listAbsences();
  }
}
