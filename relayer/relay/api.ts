/**
 * The relayer's HTTP API, read-only: message status (public facts from the chains), the message list
 * and statistics the explorer shows, the nodes as the relayer sees them, liveness, readiness and
 * Prometheus metrics. It carries no secret (no key, token or share: docs/security.md), so it may bind
 * any host the operator chooses; anyone who reaches it can read it, and nothing it answers changes state.
 *   GET /health, /health/live    the process answers
 *   GET /health/ready            200 when it can deliver now, else 503 with the failing checks
 *   GET /metrics                 Prometheus
 *   GET /v1/messages/<id>        a message's state and history
 *   GET /v1/messages?q=&route=&state=&page=&pageSize=   search, filter and page the relayer's records
 *   GET /v1/stats?window=<ms>    latency, throughput, backlog and gas series (PerformanceView)
 *   GET /v1/nodes                each signer node's public status, as the relayer reads it now
 */
import { createServer, type Server } from "node:http";
import type { Hex } from "viem";
import type { z } from "zod";
import type { Readiness } from "../node/api/http.ts";
import { requestUrl } from "../shared/request-url.ts";
import type { MessagePage, NodeView, PerformanceView } from "./api-types.ts";
import type { RelayMetrics } from "./metrics.ts";
import { messageQuerySchema, statsQuerySchema, type MessageQuery } from "./queries.ts";

export interface RelayerApiOptions {
  host: string;
  port: number;
  status(messageId: Hex): Promise<unknown>;
  messages(query: MessageQuery): Promise<MessagePage>;
  stats(windowMs: number): Promise<PerformanceView>;
  nodes(): Promise<NodeView[]>;
  readiness(): Readiness;
  metrics: RelayMetrics;
  onError(error: unknown): void;
}

class BadQuery extends Error {}

export async function startRelayerApi(p: RelayerApiOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const answer = (work: Promise<unknown>, notFound?: string): void => {
      work.then(
        (body) => (body === null && notFound !== undefined ? reply(404, { error: notFound }) : reply(200, body)),
        (error: unknown) => {
          if (error instanceof BadQuery) return reply(400, { error: error.message });
          p.onError(error);
          reply(500, { error: error instanceof Error ? error.message.split("\n")[0] : String(error) });
        },
      );
    };
    const url = requestUrl(req);
    if (url === null) return reply(400, { error: "the request's path is not a valid URL path" });
    const path = url.pathname;
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
    if (path === "/v1/messages") return answer(Promise.resolve().then(() => p.messages(parseQuery(messageQuerySchema, url.searchParams))));
    if (path === "/v1/stats") return answer(Promise.resolve().then(() => p.stats(parseQuery(statsQuerySchema, url.searchParams).window)));
    if (path === "/v1/nodes") return answer(p.nodes().then((nodes) => ({ nodes })));
    const match = /^\/v1\/messages\/(0x[0-9a-fA-F]{64})$/.exec(path);
    if (match === null) return reply(404, { error: "not found; routes: /v1/messages, /v1/messages/<messageId>, /v1/stats, /v1/nodes, /health, /health/ready, /metrics" });
    answer(p.status(match[1] as Hex), `message ${match[1]} unknown to this relayer`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(p.port, p.host, () => resolve());
  });
  return server;
}

/** A query string through its schema: each name once, every value checked, unknown names refused. */
function parseQuery<T>(schema: z.ZodType<T>, params: URLSearchParams): T {
  const raw = new Map<string, string>();
  for (const [name, value] of params) {
    if (raw.has(name)) throw new BadQuery(`query parameter ${name} given twice`);
    raw.set(name, value);
  }
  // fromEntries makes own properties even of names like __proto__, so the strict schema refuses them.
  const parsed = schema.safeParse(Object.fromEntries(raw));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new BadQuery(`invalid query: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
}
