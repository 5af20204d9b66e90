/**
 * Presignature pool: per key, the presignatures this node created as
 * coordinator (so only it spends them), refilled in the background so a
 * signing request needs a single online round. Each presignature is bound to
 * its signer set; the store marks it consumed before the online partial
 * leaves any node. A key joins the pool once this node coordinated a signature
 * for it (demand-driven, so idle keys cost nothing).
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import { backoffMs } from "../shared/backoff.ts";
import type { KeyStore } from "./keystore.ts";
import type { Logger } from "../shared/log.ts";
import type { NodeMetrics } from "./metrics.ts";
import type { PresignatureRef } from "./session/index.ts";

export type PoolEntry = PresignatureRef;

/** What the pool needs from the session manager. */
export interface PresignRunner {
  presign(keyId: string): Promise<PoolEntry>;
}

const SUSPECT_MS = 30_000;
const TICK_MS = 100;

export class PresignPool {
  private readonly entries = new Map<string, PoolEntry[]>();
  private readonly active = new Set<string>();
  private readonly filling = new Set<string>();
  private readonly suspects = new Map<PartyIndex, number>();
  private refilling = false;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Refills wait while this returns true (the node is busy signing), so the pool never slows live requests. */
  busy: () => boolean = () => false;

  constructor(
    private readonly self: PartyIndex,
    private readonly store: KeyStore,
    private readonly runner: PresignRunner,
    private readonly targetSize: number,
    private readonly log: Logger,
    private readonly metrics: NodeMetrics,
  ) {}

  /** Loads the unconsumed presignatures this node owns; their keys become active. */
  async load(): Promise<void> {
    for (const key of await this.store.listKeys()) {
      if (key.status !== "READY") continue;
      const own = (await this.store.listPresigns(key.keyId)).filter((p) => p.owner === this.self && !p.consumed && p.generation === key.generation);
      await this.store.deleteConsumedPresigns(key.keyId);
      if (own.length === 0) continue;
      this.entries.set(
        key.keyId,
        own.map((p) => ({ presignId: p.presignId, signers: p.signers, generation: p.generation })),
      );
      this.active.add(key.keyId);
      this.metrics.presignPool.set({ key_id: key.keyId }, own.length);
    }
  }

  start(): void {
    if (this.targetSize === 0) return;
    this.timer = setInterval(() => void this.refillOne(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  size(keyId: string): number {
    return this.entries.get(keyId)?.length ?? 0;
  }

  sizes(): Record<string, number> {
    return Object.fromEntries([...this.active].map((keyId) => [keyId, this.size(keyId)]));
  }

  /** Takes a presignature whose signers are not under suspicion, and marks the key active for refills. */
  take(keyId: string): PoolEntry | null {
    this.active.add(keyId);
    const list = this.entries.get(keyId);
    if (list === undefined) return null;
    const now = Date.now();
    const index = list.findIndex((entry) => entry.signers.every((p) => (this.suspects.get(p) ?? 0) < now));
    if (index < 0) return null;
    const [entry] = list.splice(index, 1);
    this.metrics.presignPool.set({ key_id: keyId }, list.length);
    return entry ?? null;
  }

  /** Returns an entry that was taken but never started (its signing request was refused before `start`): it is unused everywhere. */
  putBack(keyId: string, entry: PoolEntry): void {
    const list = this.entries.get(keyId);
    if (list === undefined || list.some((e) => e.generation !== entry.generation)) return;
    list.unshift(entry);
    this.metrics.presignPool.set({ key_id: keyId }, list.length);
  }

  /** Parties that just failed a session are avoided for a while. */
  suspect(parties: readonly PartyIndex[]): void {
    for (const party of parties) if (party !== this.self) this.suspects.set(party, Date.now() + SUSPECT_MS);
  }

  /** The key's share changed or the key is gone: its presignatures are void. */
  forget(keyId: string): void {
    this.entries.delete(keyId);
    this.metrics.presignPool.set({ key_id: keyId }, 0);
  }

  /** Runs at most one presign session at a time, for the active key with the emptiest pool. */
  private async refillOne(): Promise<void> {
    if (this.refilling || this.busy()) return;
    // Hysteresis: a pool starts refilling at half its target and then fills up, so the
    // background presign sessions come in bursts instead of after every signature.
    for (const keyId of this.active) if (this.size(keyId) <= Math.floor(this.targetSize / 2)) this.filling.add(keyId);
    const candidates = [...this.filling].filter((keyId) => {
      if (this.size(keyId) < this.targetSize) return true;
      this.filling.delete(keyId);
      return false;
    });
    if (candidates.length === 0) return;
    const keyId = candidates.reduce((a, b) => (this.size(a) <= this.size(b) ? a : b));
    this.refilling = true;
    try {
      const key = await this.store.getKey(keyId);
      if (key === null || key.status !== "READY" || !key.participants.includes(this.self)) {
        this.active.delete(keyId);
        this.filling.delete(keyId);
        this.forget(keyId);
        return;
      }
      const entry = await this.runner.presign(keyId);
      // A new generation that committed meanwhile voided it (the store already dropped it).
      if ((await this.store.getKey(keyId))?.generation !== entry.generation) return;
      const list = this.entries.get(keyId) ?? [];
      list.push(entry);
      this.entries.set(keyId, list);
      this.metrics.presignPool.set({ key_id: keyId }, list.length);
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      this.log.warn("presignature refill failed", { keyId, error: String(error) });
      // Back off so a missing peer doesn't turn the pool into a busy loop.
      await new Promise((resolve) => setTimeout(resolve, backoffMs(this.failures, { firstMs: 400, maxMs: 5_000 })).unref());
    } finally {
      this.refilling = false;
    }
  }
}
