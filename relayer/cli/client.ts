/** Typed client for a signer node's HTTP API (used by the CLI, the relayer and tests). */
import type { SignResponse } from "../node/service.ts";
import type { ApprovableOperation } from "../node/session/ids.ts";
import type { Approval, KeyRecord as KeyView } from "../node/keystore.ts";

/** An HTTP API answered, with an error status. `message` is the server's own reason. */
export class ApiError extends Error {
  constructor(
    /** Which API, e.g. "node API". */
    readonly api: string,
    /** The request's URL. */
    readonly url: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export class NodeApiError extends ApiError {
  constructor(url: string, status: number, message: string) {
    super("node API", url, status, message);
    this.name = "NodeApiError";
  }
}

/** An HTTP API could not be asked at all: nothing listening, unknown host, timeout, TLS. */
export class ApiUnreachableError extends Error {
  constructor(
    readonly api: string,
    readonly baseUrl: string,
    readonly reason: string,
    options: { cause: unknown },
  ) {
    super(`cannot reach ${api} ${baseUrl}: ${reason}`, options);
    this.name = "ApiUnreachableError";
  }
}

/** Network error codes (Node's and undici's) in words. */
const FAILURE_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  UND_ERR_SOCKET: "connection closed by the server",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed (temporary)",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_HEADERS_TIMEOUT: "no answer in time",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EADDRNOTAVAIL: "address not available",
};

/** The first error code in a fetch failure's cause chain (an AggregateError holds one per address tried). */
function errorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 4) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code !== "") return code;
  if (error instanceof AggregateError) return errorCode(error.errors[0], depth + 1);
  return errorCode((error as { cause?: unknown }).cause, depth + 1);
}

/** Why a fetch threw, in words: the network cause, not undici's "fetch failed". */
export function fetchFailureReason(error: unknown): string {
  const code = errorCode(error);
  if (code !== undefined && code in FAILURE_REASONS) return FAILURE_REASONS[code]!;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (code !== undefined && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS: ${message}`;
  return code === undefined ? message : `${message} (${code})`;
}

/** fetch, with a failure to connect turned into an ApiUnreachableError naming the API and its URL. */
export async function fetchApi(api: string, baseUrl: string, path: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(baseUrl + path, init);
  } catch (error) {
    throw new ApiUnreachableError(api, baseUrl, fetchFailureReason(error), { cause: error });
  }
}

/** GET /v1/status of a node. */
export interface NodeStatusView {
  index: number;
  peerId: string;
  peers: { index: number; peerId: string; address: string }[];
  connectedPeers: number;
  activeSessions: number;
  /** Presignatures ready per key this node coordinates. */
  presignPool: Record<string, number>;
  keys: KeyView[];
  rssBytes: number;
}

export class NodeClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  health(): Promise<{ ok: boolean; index: number; peerId: string }> {
    return this.call("GET", "/health");
  }
  status(): Promise<NodeStatusView> {
    return this.call("GET", "/v1/status");
  }
  listKeys(): Promise<{ keys: KeyView[] }> {
    return this.call("GET", "/v1/keys");
  }
  getKey(keyId: string): Promise<{ key: KeyView }> {
    return this.call("GET", `/v1/keys/${encodeURIComponent(keyId)}`);
  }
  keygen(keyId: string, threshold: number, parties?: number[]): Promise<{ key: KeyView }> {
    return this.call("POST", "/v1/keys", { keyId, threshold, ...(parties === undefined ? {} : { parties }) });
  }
  sign(keyId: string, request: Record<string, unknown>): Promise<SignView> {
    return this.call("POST", `/v1/keys/${encodeURIComponent(keyId)}/sign`, { request });
  }
  refresh(keyId: string): Promise<{ key: KeyView }> {
    return this.call("POST", `/v1/keys/${encodeURIComponent(keyId)}/refresh`, {});
  }
  reshare(keyId: string, newParties: number[], newThreshold: number): Promise<{ key: KeyView | null }> {
    return this.call("POST", `/v1/keys/${encodeURIComponent(keyId)}/reshare`, { newParties, newThreshold });
  }
  deleteKey(keyId: string): Promise<{ deleted: boolean }> {
    return this.call("DELETE", `/v1/keys/${encodeURIComponent(keyId)}`);
  }
  /** This node's operator approves a keyGen or reshare (by the hash of its exact parameters). */
  approve(operation: ApprovableOperation, ttlMs?: number): Promise<{ hash: string; expiresAt: number }> {
    return this.call("POST", "/v1/approvals", { operation, ...(ttlMs === undefined ? {} : { ttlMs }) });
  }
  approvals(): Promise<{ approvals: Approval[] }> {
    return this.call("GET", "/v1/approvals");
  }
  revokeApproval(hash: string): Promise<{ revoked: boolean }> {
    return this.call("DELETE", `/v1/approvals/${hash}`);
  }
  absences(): Promise<{ absences: { sessionId: string; keyId: string; operation: string; absentees: number[]; at: number }[] }> {
    return this.call("GET", "/v1/absences");
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetchApi("node API", this.baseUrl, path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const url = this.baseUrl + path;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new NodeApiError(url, response.status, `not a JSON answer: ${text.slice(0, 200)}`);
    }
    if (!response.ok) {
      const message = typeof parsed === "object" && parsed !== null && "error" in parsed ? String(parsed.error) : text;
      throw new NodeApiError(url, response.status, message);
    }
    return parsed as T;
  }
}

export type { KeyView };

/** What the node answers to a sign request. */
export type SignView = SignResponse;
