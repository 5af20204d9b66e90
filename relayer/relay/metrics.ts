/** Prometheus metrics of the relayer (served on GET /metrics of its API). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class RelayMetrics {
  readonly registry = new Registry();
  readonly transitions = new Counter({
    name: "relay_message_transitions_total",
    help: "Messages entering each state, by route",
    labelNames: ["src_chain", "dst_chain", "state"] as const,
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: "relay_step_failures_total",
    help: "Failed attestation, delivery and retry attempts (each is retried with backoff)",
    labelNames: ["step"] as const,
    registers: [this.registry],
  });
  readonly attestationSeconds = new Histogram({
    name: "relay_attestation_duration_seconds",
    help: "From a message turning final to the network's checked signature",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly gasUsed = new Counter({
    name: "relay_gas_used_total",
    help: "Gas of mined delivery and retry transactions, by destination chain",
    labelNames: ["chain"] as const,
    registers: [this.registry],
  });
  readonly gasSpentWei = new Counter({
    name: "relay_gas_spent_wei_total",
    help: "Wei paid for mined delivery and retry transactions (gas used x effective gas price), by destination chain",
    labelNames: ["chain"] as const,
    registers: [this.registry],
  });
  /** What the backlog gauge counts at each scrape. */
  private backlogSource: () => Iterable<{ srcChainId: number; dstChainId: number; state: string }> = () => [];
  readonly backlog: Gauge<"src_chain" | "dst_chain" | "state">;
  readonly nodesReady = new Gauge({
    name: "relay_mpc_nodes_ready",
    help: "MPC nodes that answered with the relay key READY at the last probe",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const source = () => this.backlogSource();
    this.backlog = new Gauge({
      name: "relay_backlog_messages",
      help: "Messages not yet delivered, by route and state",
      labelNames: ["src_chain", "dst_chain", "state"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const m of source()) this.inc({ src_chain: String(m.srcChainId), dst_chain: String(m.dstChainId), state: m.state });
      },
    });
  }

  /** The messages the backlog gauge counts (the relayer's active records). */
  countBacklog(source: () => Iterable<{ srcChainId: number; dstChainId: number; state: string }>): void {
    this.backlogSource = source;
  }
}
