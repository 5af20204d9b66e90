/**
 * The node's API, independent of how a request arrived: a method, a path, a
 * JSON body and who asks (the principal). Two servers carry it:
 * - http.ts: the operator's API (bearer token), on the host it is bound to;
 * - p2p.ts: relayers over libp2p, each known by its own peer id, which may
 *   only read keys and status and ask for signatures.
 * Every session error kind maps to one status (STATUS_OF).
 */
import { z } from "zod";
import { keyIdSchema, partyIndexSchema, thresholdSchema } from "../frames.ts";
import type { NodeService } from "../service.ts";
import { MAX_APPROVAL_TTL_MS } from "../session/authority.ts";
import { SessionError, type SessionErrorKind } from "../session/index.ts";
import { RequestRejected } from "../validators.ts";
import type { NodePlugin } from "../plugin.ts";

/** Who a request comes from: this node's operator (all routes; bearer token or an operator peer id) or an admitted relayer (reads and signing). */
export type Principal = { kind: "operator"; peerId?: string } | { kind: "relayer"; peerId: string };

export interface ApiRequest {
  readonly method: string;
  /** Path without query, e.g. /v1/keys/relay/sign. */
  readonly path: string;
  /** Parsed JSON body (undefined when there is none). */
  readonly body: unknown;
  readonly principal: Principal;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface ApiContext {
  readonly service: NodeService;
  /** The node's extension (staking), answering the routes under its prefix. */
  readonly plugin: NodePlugin | null;
}

export class RouteError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "RouteError";
  }
}

const parties = z.array(partyIndexSchema).min(2).max(256);
const keygenBody = z.object({ keyId: keyIdSchema, threshold: thresholdSchema, parties: parties.optional() }).strict();
const signBody = z.object({ request: z.record(z.string(), z.unknown()) }).strict();
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
export const STATUS_OF: Record<SessionErrorKind, number> = {
  invalid: 400,
  unauthorized: 403,
  "not-found": 404,
  conflict: 409,
  rejected: 422,
  failed: 502,
  unavailable: 503,
};

/** The status an error answers with; 500 only for what nobody anticipated. */
export function statusOf(error: unknown): number {
  if (error instanceof RouteError) return error.status;
  if (error instanceof SessionError) return STATUS_OF[error.kind];
  if (error instanceof RequestRejected) return 422;
  return 500;
}

/** Routes an admitted relayer may use: its relay key's facts and signatures, and the node's status. */
const RELAYER_ROUTES = [/^GET \/health$/, /^GET \/v1\/status$/, /^GET \/v1\/keys\/[^/]+$/, /^POST \/v1\/keys\/[^/]+\/sign$/];

export async function route(request: ApiRequest, context: ApiContext): Promise<ApiResponse> {
  try {
    const { plugin } = context;
    if (plugin !== null && request.path.startsWith(plugin.routePrefix) && request.principal.kind === "operator") {
      const answer = await plugin.route(request.method, request.path, request.body);
      if (answer !== null) return answer;
      throw new RouteError(404, "not found");
    }
    return { status: 200, body: await dispatch(request, context) };
  } catch (error) {
    return { status: statusOf(error), body: { error: error instanceof Error ? error.message : String(error) } };
  }
}

async function dispatch(request: ApiRequest, { service }: ApiContext): Promise<unknown> {
  const { method, path } = request;
  if (method === "GET" && path === "/health") return { ok: true, index: service.self, peerId: service.peerId };
  if (!path.startsWith("/v1/")) throw new RouteError(404, "not found");
  if (request.principal.kind !== "operator" && !RELAYER_ROUTES.some((allowed) => allowed.test(`${method} ${path}`))) {
    throw new RouteError(403, `${method} ${path} is for this node's operator only`);
  }
  if (method === "GET" && path === "/v1/status") return service.status();
  if (method === "GET" && path === "/v1/absences") return { absences: await service.absences() };
  if (path.startsWith("/v1/staking")) throw new RouteError(404, "this node has no staking config");
  if (method === "GET" && path === "/v1/approvals") return { approvals: await service.listApprovals() };
  if (method === "POST" && path === "/v1/approvals") {
    const body = parse(approvalBody, request.body);
    return service.approve(body.operation, body.ttlMs);
  }
  const approval = /^\/v1\/approvals\/([0-9a-f]{64})$/.exec(path);
  if (approval !== null && method === "DELETE") return { revoked: await service.revokeApproval(approval[1]!) };
  if (method === "GET" && path === "/v1/keys") return { keys: await service.listKeys() };
  if (method === "POST" && path === "/v1/keys") {
    const body = parse(keygenBody, request.body);
    return { key: await service.keygen(body.keyId, body.threshold, body.parties) };
  }
  const match = /^\/v1\/keys\/([^/]+)(?:\/(sign|refresh|reshare))?$/.exec(path);
  if (match === null) throw new RouteError(404, "not found");
  let rawKeyId: string;
  try {
    rawKeyId = decodeURIComponent(match[1]!);
  } catch {
    throw new RouteError(400, "invalid input: key id: malformed URL encoding");
  }
  const keyId = parse(keyIdSchema, rawKeyId);
  const action = match[2];
  if (action === undefined && method === "GET") {
    const key = await service.getKey(keyId);
    if (key === null) throw new RouteError(404, `key ${keyId} not found`);
    return { key };
  }
  if (action === undefined && method === "DELETE") return { deleted: await service.deleteKey(keyId) };
  if (action === "sign" && method === "POST") return service.sign(keyId, parse(signBody, request.body).request);
  if (action === "refresh" && method === "POST") return { key: await service.refresh(keyId) };
  if (action === "reshare" && method === "POST") {
    const body = parse(reshareBody, request.body);
    return { key: await service.reshare(keyId, body.newParties, body.newThreshold) };
  }
  throw new RouteError(405, `${method} not allowed on ${path}`);
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RouteError(400, `invalid input: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  return parsed.data;
}
