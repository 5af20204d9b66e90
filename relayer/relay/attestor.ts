/**
 * Attestation requests to the MPC network over each signer node's API channel (libp2p with the
 * relayer's peer id, or the local HTTP API: relayer/node/api/channel.ts). Any node can coordinate;
 * when one is down or overloaded the next one is asked. A refusal (422) is the network's answer about
 * the message (e.g. not final on the nodes' view yet) and is returned to the caller to retry later.
 */
import type { Hex } from "viem";
import type { ApiChannel } from "../node/api/channel.ts";
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
  /**
   * Nodes whose last request or probe got no answer (down, or a host cut off without a reset): asked
   * after the others, so one dead coordinator does not cost every request a full timeout.
   */
  private readonly silent = new Set<number>();

  constructor(
    private readonly nodes: readonly ApiChannel[],
    private readonly keyId: string,
    private readonly timeoutMs: number,
    private readonly log: RelayLogger,
    /** Aborts requests in flight when the relayer stops. */
    private readonly stopSignal: AbortSignal = new AbortController().signal,
  ) {
    if (nodes.length === 0) throw new Error("no MPC node configured");
  }

  private signal(): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopSignal]);
  }

  /** The relay key's address, from the first node that answers. */
  async relayAddress(): Promise<Hex> {
    let lastError: unknown = null;
    for (const node of this.nodes) {
      try {
        const response = await node.request("GET", `/v1/keys/${encodeURIComponent(this.keyId)}`, undefined, this.signal());
        const body = response.body as { key?: { address?: string | null; status?: string }; error?: string };
        if (response.status === 200 && body.key?.status === "READY" && typeof body.key.address === "string") return body.key.address as Hex;
        lastError = new Error(`${node.name}: ${body.error ?? `key ${this.keyId} is not READY`}`);
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`cannot learn the relay address of key ${this.keyId}: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }

  /** Records whether node `index` (in config order) answered a probe. */
  noteProbe(index: number, answered: boolean): void {
    if (answered) this.silent.delete(index);
    else this.silent.add(index);
  }

  /** Coordinators to ask, in turn from a rotating start, those that last answered first. */
  private coordinators(): number[] {
    const start = this.next;
    this.next = (this.next + 1) % this.nodes.length;
    const order = this.nodes.map((_, i) => (start + i) % this.nodes.length);
    return [...order.filter((i) => !this.silent.has(i)), ...order.filter((i) => this.silent.has(i))];
  }

  /** Asks coordinators in turn until one answers; refusals are not retried on another node. */
  async sign(request: AttestationRequest): Promise<MpcSignature> {
    let lastError: unknown = null;
    for (const index of this.coordinators()) {
      const node = this.nodes[index]!;
      let response;
      try {
        response = await node.request("POST", `/v1/keys/${encodeURIComponent(this.keyId)}/sign`, { request }, this.signal());
        this.silent.delete(index);
      } catch (error) {
        if (this.stopSignal.aborted) throw error;
        this.silent.add(index);
        lastError = error;
        this.log.warn("MPC node unreachable; failing over", { node: node.name, error: error instanceof Error ? error.message : String(error) });
        continue;
      }
      const body = (typeof response.body === "object" && response.body !== null ? response.body : {}) as Record<string, unknown>;
      if (response.status === 200) return body as unknown as MpcSignature;
      const reason = typeof body.error === "string" ? body.error : `status ${response.status}`;
      // 4xx other than 409/429: this request itself is refused; asking another coordinator changes nothing.
      if (response.status >= 400 && response.status < 500 && response.status !== 409 && response.status !== 429) throw new AttestationRefused(reason, response.status);
      lastError = new AttestationRefused(reason, response.status);
      this.log.warn("MPC coordinator could not sign; failing over", { node: node.name, status: response.status, reason: reason.slice(0, 300) });
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }
}
