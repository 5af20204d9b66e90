/**
 * Drives this node's recovery (session/operations/recover.ts): holders send a
 * member that a refresh went ahead without the generation's certificate, again
 * with backoff (commit.ts); once one arrives, verified, this node recovers its
 * share from t holders and rejoins, retrying with backoff and avoiding helpers
 * that were caught lying, until it holds a share of the current sharing again.
 * Only the newest certificate per key is kept (an older generation's holders
 * have deleted it and would refuse).
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import type { Certificate } from "./frames.ts";
import type { Logger } from "../shared/log.ts";
import { SessionError } from "./session/errors.ts";
import { backoffMs, type BackoffLimits } from "../shared/backoff.ts";

const RETRY: BackoffLimits = { firstMs: 1_000, maxMs: 60_000 };

interface Pending {
  certificate: Certificate;
  at: number;
  failures: number;
  avoid: Set<PartyIndex>;
}

export class RecoveryDriver {
  private readonly pending = new Map<string, Pending>();
  private readonly running = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly recover: (certificate: Certificate, avoid: readonly PartyIndex[]) => Promise<void>,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), 500);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** A verified certificate naming this node awaiting (commit.ts onAwaiting). */
  offer(certificate: Certificate): void {
    const known = this.pending.get(certificate.keyId);
    if (known?.certificate.generation === certificate.generation) return;
    this.log.info("a refresh went ahead without this node: recovering its share", { keyId: certificate.keyId, generation: certificate.generation });
    this.pending.set(certificate.keyId, { certificate, at: Date.now(), failures: 0, avoid: new Set() });
    this.tick();
  }

  private tick(): void {
    const now = Date.now();
    for (const [keyId, entry] of this.pending) {
      if (this.running.has(keyId) || entry.at > now) continue;
      this.running.add(keyId);
      void this.attempt(keyId, entry).finally(() => this.running.delete(keyId));
    }
  }

  private async attempt(keyId: string, entry: Pending): Promise<void> {
    try {
      await this.recover(entry.certificate, [...entry.avoid]);
      if (this.pending.get(keyId) === entry) this.pending.delete(keyId);
      this.log.info("recovered and rejoined the key's sharing", { keyId, generation: entry.certificate.generation });
    } catch (error) {
      // Helpers a failed attempt named (a lying term, silence) are left out next time, unless too few would remain.
      if (error instanceof SessionError) for (const party of error.avoid) entry.avoid.add(party);
      if (entry.certificate.parties.length - entry.avoid.size < entry.certificate.threshold) entry.avoid.clear();
      entry.failures += 1;
      entry.at = Date.now() + backoffMs(entry.failures, RETRY);
      this.log.warn("recovery failed; retrying", { keyId, generation: entry.certificate.generation, avoid: [...entry.avoid], retryInMs: entry.at - Date.now(), error: String(error).slice(0, 500) });
    }
  }
}
