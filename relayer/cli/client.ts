/** Typed client for a signer node's HTTP API (used by the CLI, the relayer and tests). */
import type { SignResponse } from "../node/service.ts";
import type { ApprovableOperation } from "../node/session/ids.ts";
import type { Approval, KeyRecord as KeyView } from "../node/keystore.ts";

export class NodeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "NodeApiError";
  }
}

export class NodeClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  health(): Promise<{ ok: boolean; index: number; peerId: string }> {
    return this.call("GET", "/health");
  }
  status(): Promise<Record<string, unknown>> {
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
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new NodeApiError(response.status, `non-JSON response (${response.status}): ${text.slice(0, 200)}`);
    }
    if (!response.ok) {
      const message = typeof parsed === "object" && parsed !== null && "error" in parsed ? String(parsed.error) : text;
      throw new NodeApiError(response.status, message);
    }
    return parsed as T;
  }
}

export type { KeyView };

/** What the node answers to a sign request. */
export type SignView = SignResponse;
