/**
 * Typed client of a node's API (routes.ts), over either channel (channel.ts):
 * the operator's HTTP API with its bearer token, or libp2p with the caller's
 * own peer id (a relayer, or a remote operator the node admitted).
 */
import { ApiError } from "@mpc-relay/sdk";
import type { Approval, KeyRecord } from "../keystore.ts";
import type { SignResponse } from "../service.ts";
import type { ApprovableOperation } from "../session/ids.ts";
import { httpChannel, type ApiChannel } from "./channel.ts";

export type KeyView = KeyRecord;
export type SignView = SignResponse;

/** The node answered with an error status; `message` is its reason. */
export class NodeApiError extends ApiError {
  constructor(url: string, status: number, message: string) {
    super("node API", url, status, message);
    this.name = "NodeApiError";
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
  /** Per READY key: its current sharing (keyGen, refresh or reshare), when it was made and how old it is; `refreshedAt` when a refresh made it. */
  sharings: { keyId: string; generation: string; origin: string; sharedAt: number; refreshedAt: number | null; ageSeconds: number }[];
  rssBytes: number;
}

export class NodeClient {
  constructor(
    readonly channel: ApiChannel,
    private readonly timeoutMs = 120_000,
  ) {}

  /** The operator's HTTP API at `baseUrl`. */
  static http(baseUrl: string, token: string): NodeClient {
    return new NodeClient(httpChannel(baseUrl, token));
  }

  /** Liveness of the node (its HTTP API; over libp2p, `status` answers instead). */
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
    return this.call("POST", `/v1/keys/${encodeURIComponent(keyId)}/refresh`);
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
  staking(): Promise<Record<string, unknown>> {
    return this.call("GET", "/v1/staking");
  }

  private async call<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
    const response = await this.channel.request(method, path, body, AbortSignal.timeout(this.timeoutMs));
    if (response.status < 200 || response.status >= 300) {
      const reason = typeof response.body === "object" && response.body !== null && "error" in response.body ? String(response.body.error) : JSON.stringify(response.body);
      throw new NodeApiError(this.channel.name + path, response.status, reason);
    }
    return response.body as T;
  }
}
