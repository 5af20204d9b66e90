/**
 * The operator's HTTP API (routes.ts) on a configured host: plain HTTP on a
 * loopback host, HTTPS (the operator's certificate) anywhere else, so the
 * bearer token never crosses a network in clear text (config.ts enforces it).
 * `/v1/*` needs `Authorization: Bearer <token>`, compared in constant time.
 * Open, for probes and Prometheus: `/health` and `/health/live` (the process
 * answers), `/health/ready` (503 with the failing checks until ready) and
 * `/metrics`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { Logger } from "../../shared/log.ts";
import { requestUrl } from "../../shared/request-url.ts";
import type { NodeMetrics } from "../metrics.ts";
import { route, RouteError, statusOf, type ApiContext } from "./routes.ts";

const MAX_BODY_BYTES = 1024 * 1024;

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

export interface HttpApiOptions {
  host: string;
  port: number;
  token: string;
  tls?: { certFile: string; keyFile: string } | undefined;
  context: ApiContext;
  identity: { index: number; peerId: string };
  readiness: () => Promise<Readiness>;
  metrics: NodeMetrics;
  log: Logger;
}

export async function startHttpApi(p: HttpApiOptions): Promise<Server> {
  const expected = createHash("sha256").update(p.token).digest();
  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
    // Hashing first gives equal lengths, so the comparison time reveals nothing about the token.
    return timingSafeEqual(createHash("sha256").update(presented).digest(), expected);
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = Date.now();
    // For the log only: a request whose path is no URL path is logged as sent (handle refuses it).
    const logged = requestUrl(req)?.pathname ?? req.url;
    handle(req, res, p, authorized)
      .catch((error: unknown) => {
        const status = statusOf(error);
        if (status >= 500) p.log.error("request failed", { method: req.method, path: logged, error: String(error).slice(0, 500) });
        send(res, status, { error: error instanceof Error ? error.message : String(error) });
      })
      .finally(() => p.log.debug("http", { method: req.method, path: logged, status: res.statusCode, ms: Date.now() - started }));
  };
  const server = p.tls === undefined ? createServer(handler) : createTlsServer({ cert: await readFile(p.tls.certFile), key: await readFile(p.tls.keyFile) }, handler);
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(p.port, p.host, () => resolve(server));
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, p: HttpApiOptions, authorized: (req: IncomingMessage) => boolean): Promise<void> {
  const path = requestUrl(req)?.pathname;
  if (path === undefined) throw new RouteError(400, "the request's path is not a valid URL path");
  const method = req.method ?? "GET";
  if (method === "GET" && (path === "/health" || path === "/health/live")) return send(res, 200, { ok: true, index: p.identity.index, peerId: p.identity.peerId });
  if (method === "GET" && path === "/health/ready") {
    const readiness = await p.readiness();
    return send(res, readiness.ready ? 200 : 503, { ...readiness, index: p.identity.index });
  }
  if (method === "GET" && path === "/metrics") {
    res.writeHead(200, { "content-type": p.metrics.registry.contentType });
    res.end(await p.metrics.registry.metrics());
    return;
  }
  if (!path.startsWith("/v1/")) throw new RouteError(404, "not found");
  if (!authorized(req)) throw new RouteError(401, "missing or wrong bearer token");
  const body = method === "GET" || method === "DELETE" ? undefined : await readJson(req);
  const response = await route({ method, path, body, principal: { kind: "operator" } }, p.context);
  send(res, response.status, response.body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new RouteError(413, "request body too large");
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new RouteError(400, "request body is not JSON");
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
