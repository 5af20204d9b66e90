/** Prometheus metrics of one signer node (served on GET /metrics). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Sharing } from "./keystore.ts";

/** How long one read of the key store's sharings answers the sharing gauges. */
const SHARINGS_READ_TTL_MS = 1_000;

export class NodeMetrics {
  readonly registry = new Registry();
  readonly sessions = new Counter({
    name: "mpc_sessions_total",
    help: "Protocol sessions by operation and outcome",
    labelNames: ["operation", "outcome"] as const,
    registers: [this.registry],
  });
  readonly sessionSeconds = new Histogram({
    name: "mpc_session_duration_seconds",
    help: "Duration of sessions this node took part in",
    labelNames: ["operation"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly signRequests = new Counter({
    name: "mpc_sign_requests_total",
    help: "Signing requests coordinated by this node, by request type, path and outcome",
    labelNames: ["type", "path", "outcome"] as const,
    registers: [this.registry],
  });
  readonly framesDropped = new Counter({
    name: "mpc_frames_dropped_total",
    help: "Inbound frames dropped before use, by reason",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly framesReceived = new Counter({
    name: "mpc_frames_received_total",
    help: "Inbound frames accepted",
    registers: [this.registry],
  });
  readonly framesUndelivered = new Counter({
    name: "mpc_frames_undelivered_total",
    help: "Outbound frames given up after every retry of their stream failed",
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: "mpc_prepare_refusals_total",
    help: "Operations this node refused to take part in, by operation and reason kind",
    labelNames: ["operation", "kind"] as const,
    registers: [this.registry],
  });
  readonly generations = new Counter({
    name: "mpc_generations_total",
    help: "Key sharings this node came to hold, by event (held, committed, dropped, left)",
    labelNames: ["event"] as const,
    registers: [this.registry],
  });
  readonly absences = new Counter({
    name: "mpc_absences_total",
    help: "Absent participants recorded by this node as coordinator",
    registers: [this.registry],
  });
  readonly presignPool = new Gauge({
    name: "mpc_presign_pool_size",
    help: "Unconsumed presignatures this node can use as coordinator",
    labelNames: ["key_id"] as const,
    registers: [this.registry],
  });
  readonly connectedPeers = new Gauge({
    name: "mpc_connected_peers",
    help: "Committee peers with an open connection",
    registers: [this.registry],
  });

  readonly refreshFailures = new Counter({
    name: "mpc_refresh_failures_total",
    help: "Scheduled refreshes this node coordinated that failed (each is retried within its slot), per key",
    labelNames: ["key_id"] as const,
    registers: [this.registry],
  });

  readonly sharingCreated: Gauge<"key_id">;
  readonly refreshedAt: Gauge<"key_id">;
  private sharingSource: () => Promise<readonly Sharing[]> = async () => [];

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Both gauges below read the sharings: one read serves a whole scrape.
    let read: { at: number; sharings: Promise<readonly Sharing[]> } | null = null;
    const source = (): Promise<readonly Sharing[]> => {
      if (read === null || Date.now() - read.at > SHARINGS_READ_TTL_MS) read = { at: Date.now(), sharings: this.sharingSource() };
      return read.sharings;
    };
    this.sharingCreated = new Gauge({
      name: "mpc_sharing_created_timestamp_seconds",
      help: "When the sharing this node signs with was made (keyGen, refresh or reshare), per key; time() minus it is the share's age",
      labelNames: ["key_id"] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const sharing of await source()) this.set({ key_id: sharing.keyId }, sharing.sharedAt / 1000);
      },
    });
    this.refreshedAt = new Gauge({
      name: "mpc_refresh_last_success_timestamp_seconds",
      help: "When the last successful refresh made the sharing this node signs with, per key (absent after a keyGen or reshare)",
      labelNames: ["key_id"] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const sharing of await source()) if (sharing.refreshedAt !== null) this.set({ key_id: sharing.keyId }, sharing.refreshedAt / 1000);
      },
    });
  }

  /** Where the sharing times come from, read at each scrape. */
  watchSharings(source: () => Promise<readonly Sharing[]>): void {
    this.sharingSource = source;
  }
}
