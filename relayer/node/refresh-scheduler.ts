/**
 * Scheduled refresh (issue 14): every node looks at the READY keys it holds
 * and, when a key's refresh is due in the current slot and the current window
 * is its turn (session/schedule.ts), coordinates the refresh itself. The other
 * members check the same schedule with their own clocks before they take part,
 * so the schedule, not this node, authorizes the session.
 *
 * A failed attempt is logged, counted (mpc_refresh_failures_total) and retried
 * with backoff while the window lasts; after it the next member in the slot's
 * order takes over. Signing goes on meanwhile: the old sharing signs until the
 * new one commits (commit.ts), and running signing sessions follow the switch.
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import type { KeyRecord, KeyStore } from "./keystore.ts";
import type { Logger } from "../shared/log.ts";
import type { NodeMetrics } from "./metrics.ts";
import { coordinatorOf, dueIn, slotAt, windowAt, type RefreshSchedule } from "./session/schedule.ts";
import { backoffMs } from "../shared/backoff.ts";

/** First retry after a failed attempt; doubles up to the window's length. */
const FIRST_RETRY_MS = 1_000;

export class RefreshScheduler {
  private timer: NodeJS.Timeout | null = null;
  private readonly running = new Set<string>();
  /** Per key: when the next attempt may start, the failures in a row within the slot, and that slot. */
  private readonly backoff = new Map<string, { slot: number; at: number; failures: number }>();

  constructor(
    private readonly self: PartyIndex,
    private readonly store: KeyStore,
    private readonly schedule: RefreshSchedule,
    private readonly refresh: (keyId: string, slot: number) => Promise<unknown>,
    /** Whether another session dealing the key's shares involves this node (e.g. the slot's refresh a member before us started). */
    private readonly dealing: (keyId: string) => boolean,
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.schedule.periodMs === 0) return;
    const tickMs = Math.max(100, Math.min(5_000, Math.floor(this.schedule.graceMs / 4)));
    this.timer = setInterval(() => void this.tick().catch((error: unknown) => this.log.warn("refresh schedule check failed", { error: String(error) })), tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Starts the refreshes that are due and this node's turn. */
  private async tick(): Promise<void> {
    const now = Date.now();
    const slot = slotAt(this.schedule, now);
    for (const key of await this.store.listKeys()) {
      if (!this.mayCoordinate(key, slot, now) || this.running.has(key.keyId) || this.dealing(key.keyId)) continue;
      const retry = this.backoff.get(key.keyId);
      if (retry !== undefined && retry.slot === slot && retry.at > now) continue;
      this.running.add(key.keyId);
      void this.attempt(key.keyId, slot).finally(() => this.running.delete(key.keyId));
    }
  }

  private mayCoordinate(key: KeyRecord, slot: number, now: number): boolean {
    if (key.status !== "READY" || !key.participants.includes(this.self)) return false;
    const newest = Math.max(...key.generations.map((g) => g.createdAt));
    if (!dueIn(this.schedule, slot, newest)) return false;
    return coordinatorOf(key.participants, slot, windowAt(this.schedule, slot, now)) === this.self;
  }

  private async attempt(keyId: string, slot: number): Promise<void> {
    this.log.info("scheduled refresh starting", { keyId, slot });
    try {
      await this.refresh(keyId, slot);
      this.backoff.delete(keyId);
      this.log.info("scheduled refresh done", { keyId, slot });
    } catch (error) {
      const last = this.backoff.get(keyId);
      const failures = last?.slot === slot ? last.failures + 1 : 1;
      const delayMs = backoffMs(failures, { firstMs: FIRST_RETRY_MS, maxMs: this.schedule.graceMs });
      this.backoff.set(keyId, { slot, at: Date.now() + delayMs, failures });
      this.metrics.refreshFailures.inc({ key_id: keyId });
      this.log.error("scheduled refresh failed; retrying within the slot", { keyId, slot, retryInMs: delayMs, error: String(error).slice(0, 500) });
    }
  }
}
