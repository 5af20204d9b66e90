/**
 * The relayer's HTTP API, read-only: message status (public facts from the
 * chains), liveness, readiness and Prometheus metrics. It carries no secret,
 * so it may bind any host the operator chooses.
 *   GET /health, /health/live    the process answers
 *   GET /health/ready            200 when it can deliver now, else 503 with the failing checks
 *   GET /metrics                 Prometheus
 *   GET /v1/messages/<id>        a message's state and history
 */
import { createServer, type Server } from "node:http";
import type { Hex } from "viem";
import type { Readiness } from "../node/api/http.ts";
import type { RelayMetrics } from "./metrics.ts";

export interface RelayerApiOptions {
  host: string;
  port: number;
  status(messageId: Hex): Promise<unknown>;
  readiness(): Readiness;
  metrics: RelayMetrics;
  onError(error: unknown): void;
}

export async function startRelayerApi(p: RelayerApiOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? "/", "http://relayer").pathname;
    if (req.method !== "GET") return reply(405, { error: "only GET" });
    if (path === "/health" || path === "/health/live") return reply(200, { ok: true });
    if (path === "/health/ready") {
      const readiness = p.readiness();
      return reply(readiness.ready ? 200 : 503, readiness);
    }
    if (path === "/metrics") {
      p.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": p.metrics.registry.contentType });
          res.end(text);
        },
        (error: unknown) => reply(500, { error: String(error) }),
      );
      return;
    }
    const match = /^\/v1\/messages\/(0x[0-9a-fA-F]{64})$/.exec(path);
    if (match === null) return reply(404, { error: "not found; use /v1/messages/<messageId>" });
    p.status(match[1] as Hex).then(
      (status) => (status === null ? reply(404, { error: `message ${match[1]} unknown to this relayer` }) : reply(200, status)),
      (error: unknown) => {
        p.onError(error);
        reply(500, { error: error instanceof Error ? error.message.split("\n")[0] : String(error) });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(p.port, p.host, () => resolve());
  });
  return server;
}
