/**
 * Local HTTP API for the operator and the relayer, on 127.0.0.1 only.
 * Everything under /v1 needs `Authorization: Bearer <token>` (compared in
 * constant time); /health and /metrics are open for probes and Prometheus.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { z } from "zod";
import { keyIdSchema, partyIndexSchema, thresholdSchema } from "./frames.ts";
import type { Logger } from "./log.ts";
import type { NodeMetrics } from "./metrics.ts";
import type { NodeService } from "./service.ts";
import { SessionError, type SessionErrorKind } from "./session/index.ts";
import { MAX_APPROVAL_TTL_MS } from "./session/authority.ts";
import { RequestRejected } from "./validators.ts";
import type { StakingAgent } from "../staking/agent.ts";
import { ProposalRefused } from "../staking/votes.ts";

const MAX_BODY_BYTES = 1024 * 1024;

const parties = z.array(partyIndexSchema).min(2).max(256);
const keygenBody = z.object({ keyId: keyIdSchema, threshold: thresholdSchema, parties: parties.optional() }).strict();
const signBody = z.object({ request: z.record(z.string(), z.unknown()) }).strict();
const absenceBody = z.object({ operator: z.string().regex(/^0x[0-9a-fA-F]{40}$/) }).strict();
const reshareBody = z.object({ newParties: parties, newThreshold: thresholdSchema }).strict();
const approvalBody = z
  .object({
    ttlMs: z.number().int().positive().max(MAX_APPROVAL_TTL_MS).optional(),
    operation: z.discriminatedUnion("operation", [
      z.object({ operation: z.literal("keygen"), keyId: keyIdSchema, parties, threshold: thresholdSchema }).strict(),
      z
        .object({
          operation: z.literal("reshare"),
          keyId: keyIdSchema,
          publicKey: z.string().regex(/^[0-9a-f]{66}$/),
          oldParties: parties,
          newParties: parties,
          newThreshold: thresholdSchema,
        })
        .strict(),
    ]),
  })
  .strict();

/** One HTTP status per kind of session error. */
const STATUS_OF: Record<SessionErrorKind, number> = {
  invalid: 400,
  unauthorized: 403,
  "not-found": 404,
  conflict: 409,
  rejected: 422,
  failed: 502,
  unavailable: 503,
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function startApi(p: {
  port: number;
  token: string;
  service: NodeService;
  staking?: StakingAgent | null;
  metrics: NodeMetrics;
  log: Logger;
}): Promise<Server> {
  const expected = createHash("sha256").update(p.token).digest();
  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
    // Hashing first gives equal lengths, so the comparison time reveals nothing about the token.
    return timingSafeEqual(createHash("sha256").update(presented).digest(), expected);
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res, p, authorized)
      .catch((error: unknown) => {
        const status =
          error instanceof HttpError
            ? error.status
            : error instanceof SessionError
              ? STATUS_OF[error.kind]
              : error instanceof RequestRejected || error instanceof ProposalRefused
                ? 422
                : 500;
        if (status >= 500) p.log.error("request failed", { method: req.method, url: req.url, error: String(error) });
        send(res, status, { error: error instanceof Error ? error.message : String(error) });
      })
      .finally(() => p.log.debug("http", { method: req.method, url: req.url, status: res.statusCode, ms: Date.now() - started }));
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(p.port, "127.0.0.1", () => resolve(server));
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  p: { service: NodeService; staking?: StakingAgent | null; metrics: NodeMetrics },
  authorized: (req: IncomingMessage) => boolean,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const path = url.pathname;
  const method = req.method ?? "GET";
  if (method === "GET" && path === "/health") return send(res, 200, { ok: true, index: p.service.self, peerId: p.service.peerId });
  if (method === "GET" && path === "/metrics") {
    res.writeHead(200, { "content-type": p.metrics.registry.contentType });
    res.end(await p.metrics.registry.metrics());
    return;
  }
  if (!path.startsWith("/v1/")) throw new HttpError(404, "not found");
  if (!authorized(req)) throw new HttpError(401, "missing or wrong bearer token");

  const service = p.service;
  if (method === "GET" && path === "/v1/status") return send(res, 200, await service.status());
  if (method === "GET" && path === "/v1/absences") return send(res, 200, { absences: await service.absences() });
  if (path.startsWith("/v1/staking")) {
    const staking = p.staking;
    if (staking === undefined || staking === null) throw new HttpError(404, "this node has no staking config");
    if (method === "GET" && path === "/v1/staking") return send(res, 200, await staking.status());
    if (method === "POST" && path === "/v1/staking/cluster-key") return send(res, 200, { submitted: await staking.submitEpochKey() });
    if (method === "POST" && path === "/v1/staking/absence") {
      const body = parse(absenceBody, await readJson(req));
      const result = await staking.proposeAbsence(body.operator as `0x${string}`);
      return send(res, 200, {
        txHash: result.txHash,
        signers: result.signers,
        proposal: { epoch: result.proposal.epoch.toString(), node: result.proposal.node, fromBlock: result.proposal.fromBlock.toString(), toBlock: result.proposal.toBlock.toString() },
      });
    }
    throw new HttpError(404, "not found");
  }
  if (method === "GET" && path === "/v1/approvals") return send(res, 200, { approvals: await service.listApprovals() });
  if (method === "POST" && path === "/v1/approvals") {
    const body = parse(approvalBody, await readJson(req));
    return send(res, 200, await service.approve(body.operation, body.ttlMs));
  }
  const approval = /^\/v1\/approvals\/([0-9a-f]{64})$/.exec(path);
  if (approval !== null && method === "DELETE") return send(res, 200, { revoked: await service.revokeApproval(approval[1]!) });
  if (method === "GET" && path === "/v1/keys") return send(res, 200, { keys: await service.listKeys() });
  if (method === "POST" && path === "/v1/keys") {
    const body = parse(keygenBody, await readJson(req));
    return send(res, 200, { key: await service.keygen(body.keyId, body.threshold, body.parties) });
  }
  const match = /^\/v1\/keys\/([^/]+)(?:\/(sign|refresh|reshare))?$/.exec(path);
  if (match === null) throw new HttpError(404, "not found");
  let rawKeyId: string;
  try {
    rawKeyId = decodeURIComponent(match[1]!);
  } catch {
    throw new HttpError(400, "invalid input: key id: malformed URL encoding");
  }
  const keyId = parse(keyIdSchema, rawKeyId);
  const action = match[2];
  if (action === undefined && method === "GET") {
    const key = await service.getKey(keyId);
    if (key === null) throw new HttpError(404, `key ${keyId} not found`);
    return send(res, 200, { key });
  }
  if (action === undefined && method === "DELETE") return send(res, 200, { deleted: await service.deleteKey(keyId) });
  if (action === "sign" && method === "POST") {
    const body = parse(signBody, await readJson(req));
    return send(res, 200, await service.sign(keyId, body.request));
  }
  if (action === "refresh" && method === "POST") return send(res, 200, { key: await service.refresh(keyId) });
  if (action === "reshare" && method === "POST") {
    const body = parse(reshareBody, await readJson(req));
    return send(res, 200, { key: await service.reshare(keyId, body.newParties, body.newThreshold) });
  }
  throw new HttpError(405, `${method} not allowed on ${path}`);
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, `invalid input: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  return parsed.data;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "request body too large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "request body is not JSON");
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
