/**
 * Attestation requests to the MPC network over the signer nodes' HTTP API. Any node can coordinate;
 * when one is down or overloaded the next one is asked. A refusal (422) is the network's answer about
 * the message (e.g. not final on the nodes' view yet) and is returned to the caller to retry later.
 */
import type { Hex } from "viem";
import type { RelayLogger } from "./log.ts";

export interface MpcSignature {
  signature: Hex;
  r: Hex;
  s: Hex;
  v: 27 | 28;
  digest: Hex;
  address: string;
  signers: number[];
}

/** Block range of messages' logs on their source chain: it only narrows where the nodes look. */
export interface SourceBlocks {
  fromBlock: number;
  toBlock: number;
}

export type AttestationRequest =
  | { type: "messageAttestation"; srcChainId: number; messageId: Hex; txHash?: Hex; logIndex?: number; dstChainId: number; targetGateway: Hex }
  | { type: "batchAttestation"; srcChainId: number; messageIds: Hex[]; dstChainId: number; targetGateway: Hex; fromBlock?: number; toBlock?: number }
  | {
      type: "relayTransaction";
      chainId: number;
      nonce: number;
      to: Hex;
      data: Hex;
      value: string;
      gas: string;
      maxFeePerGas: string;
      maxPriorityFeePerGas: string;
      sourceBlocks?: SourceBlocks;
    };

/** The network refused the request (the reason comes from the coordinator, often quoting other nodes). */
export class AttestationRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "AttestationRefused";
  }
}

export class MpcClient {
  private next = 0;

  constructor(
    private readonly nodes: readonly { apiUrl: string; token: string }[],
    private readonly keyId: string,
    private readonly timeoutMs: number,
    private readonly log: RelayLogger,
    /** Aborts requests in flight when the relayer stops. */
    private readonly stopSignal: AbortSignal = new AbortController().signal,
  ) {
    if (nodes.length === 0) throw new Error("no MPC node configured");
  }

  /** The relay key's address, from the first node that answers. */
  async relayAddress(): Promise<Hex> {
    let lastError: unknown = null;
    for (const node of this.nodes) {
      try {
        const response = await fetch(`${node.apiUrl.replace(/\/$/, "")}/v1/keys/${encodeURIComponent(this.keyId)}`, {
          headers: { authorization: `Bearer ${node.token}` },
          signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopSignal]),
        });
        const body = (await response.json()) as { key?: { address?: string | null; status?: string }; error?: string };
        if (response.ok && body.key?.status === "READY" && typeof body.key.address === "string") return body.key.address as Hex;
        lastError = new Error(body.error ?? `key ${this.keyId} is not READY on ${node.apiUrl}`);
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`cannot learn the relay address of key ${this.keyId}: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }

  /** Asks coordinators in turn (round robin start) until one answers; refusals are not retried on another node. */
  async sign(request: AttestationRequest): Promise<MpcSignature> {
    const start = this.next;
    this.next = (this.next + 1) % this.nodes.length;
    let lastError: unknown = null;
    for (let i = 0; i < this.nodes.length; i++) {
      const node = this.nodes[(start + i) % this.nodes.length]!;
      let response: Response;
      try {
        response = await fetch(`${node.apiUrl.replace(/\/$/, "")}/v1/keys/${encodeURIComponent(this.keyId)}/sign`, {
          method: "POST",
          headers: { authorization: `Bearer ${node.token}`, "content-type": "application/json" },
          body: JSON.stringify({ request }),
          signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopSignal]),
        });
      } catch (error) {
        if (this.stopSignal.aborted) throw error;
        lastError = error;
        this.log.warn("MPC node unreachable; failing over", { node: node.apiUrl, error: String(error) });
        continue;
      }
      const text = await response.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { error: text.slice(0, 200) };
      }
      if (response.ok) return body as unknown as MpcSignature;
      const reason = typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
      // 4xx other than 409/429: this request itself is refused; asking another coordinator changes nothing.
      if (response.status >= 400 && response.status < 500 && response.status !== 409 && response.status !== 429) throw new AttestationRefused(reason, response.status);
      lastError = new AttestationRefused(reason, response.status);
      this.log.warn("MPC coordinator could not sign; failing over", { node: node.apiUrl, status: response.status, reason });
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }
}
