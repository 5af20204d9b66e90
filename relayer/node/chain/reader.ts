/**
 * A node's own view of one chain through one or more RPC endpoints. Every question is put to all
 * endpoints in parallel and an answer counts only when `quorum` of them return exactly the same
 * thing, so a single lying or lagging endpoint cannot make the node sign.
 */
import { createPublicClient, getAddress, http, type Address, type Hex, type PublicClient } from "viem";
import { decodeMessageSent, type Message } from "../../sdk/message.ts";
import { sourceGatewayAbi, targetGatewayAbi } from "../../sdk/abi.ts";
import type { NodeChainConfig } from "./config.ts";

/** What one endpoint says about one message. */
export type MessageObservation =
  | { kind: "final"; messageId: Hex; message: Message; blockNumber: bigint; blockHash: Hex; txHash: Hex; logIndex: number }
  | { kind: "pending"; messageId: Hex; depth: bigint }
  | { kind: "absent"; messageId: Hex; detail: string };

export class ChainReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChainReadError";
  }
}

export interface QuorumResult<T> {
  /** The answer `quorum` endpoints agreed on, or null. */
  agreed: T | null;
  /** Each endpoint's answer (or its error), for the refusal reason. */
  answers: (T | Error)[];
}

const MESSAGE_SENT = "MessageSent";
/** Final messages remembered per chain (oldest forgotten first). */
const FINAL_CACHE_SIZE = 100_000;
const DEFAULT_LOG_RANGE = 10_000;
/** A hinted block range this short is read whole instead of filtered by message id. */
const SHORT_RANGE = 64;

export class ChainReader {
  readonly chainId: number;
  readonly quorum: number;
  readonly confirmations: number;
  readonly sourceGateway: Address;
  readonly targetGateway: Address;
  private readonly clients: PublicClient[];
  private readonly verifiedChainId = new Set<number>();
  /** Messages already seen final by a quorum: finality does not go away, so they need no second look. */
  private readonly finalCache = new Map<Hex, Extract<MessageObservation, { kind: "final" }>>();

  constructor(private readonly config: NodeChainConfig) {
    this.chainId = config.chainId;
    this.quorum = config.quorum ?? config.rpcUrls.length;
    this.confirmations = config.confirmations;
    this.sourceGateway = getAddress(config.sourceGateway);
    this.targetGateway = getAddress(config.targetGateway);
    this.clients = config.rpcUrls.map(
      // cacheTime 0: a cached block number would make a fresh log look unconfirmed (or hide it).
      (url) => createPublicClient({ transport: http(url, { timeout: config.rpcTimeoutMs, retryCount: 1 }), cacheTime: 0 }) as PublicClient,
    );
  }

  /** Runs `ask` on every endpoint; the agreed answer is one that `quorum` endpoints gave (compared by `key`). */
  async ask<T>(ask: (client: PublicClient) => Promise<T>, key: (answer: T) => string): Promise<QuorumResult<T>> {
    const answers = await Promise.all(
      this.clients.map(async (client, index) => {
        try {
          await this.checkChainId(client, index);
          return await ask(client);
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error));
        }
      }),
    );
    const tally = new Map<string, { answer: T; count: number }>();
    for (const answer of answers) {
      if (answer instanceof Error) continue;
      const k = key(answer);
      const entry = tally.get(k) ?? { answer, count: 0 };
      entry.count++;
      tally.set(k, entry);
    }
    return { agreed: this.agreement(tally), answers };
  }

  /** The one answer given by at least `quorum` endpoints; none if no answer, or more than one (a quorum below a majority), reaches it. */
  private agreement<T>(tally: Map<string, { answer: T; count: number }>): T | null {
    const reached = [...tally.values()].filter((entry) => entry.count >= this.quorum);
    return reached.length === 1 ? reached[0]!.answer : null;
  }

  private async checkChainId(client: PublicClient, index: number): Promise<void> {
    if (this.verifiedChainId.has(index)) return;
    const id = await client.getChainId();
    if (id !== this.chainId) throw new ChainReadError(`RPC endpoint ${index} serves chain ${id}, not ${this.chainId}`);
    this.verifiedChainId.add(index);
  }

  /**
   * The quorum's view of the MessageSent logs with these ids (by tx hash/log index when given, else by
   * id from the gateway's first block). Ids no endpoint quorum can vouch for come back as non-final.
   */
  async observeMessages(
    ids: readonly Hex[],
    coordinates?: { txHash: Hex; logIndex?: number },
    range?: { fromBlock?: number; toBlock?: number },
  ): Promise<Map<Hex, QuorumResult<MessageObservation>>> {
    const results = new Map<Hex, QuorumResult<MessageObservation>>();
    const wanted = ids.filter((id) => {
      const cached = this.finalCache.get(id);
      // Coordinates, when given, must name the cached log too: a request is judged as it was made.
      const usable =
        cached !== undefined &&
        (coordinates === undefined ||
          (cached.txHash.toLowerCase() === coordinates.txHash.toLowerCase() && (coordinates.logIndex === undefined || cached.logIndex === coordinates.logIndex)));
      if (usable) results.set(id, { agreed: cached, answers: [] });
      return !usable;
    });
    if (wanted.length === 0) return results;
    const perClient = await Promise.all(
      this.clients.map(async (client, index) => {
        try {
          await this.checkChainId(client, index);
          return await this.observeOn(client, wanted, coordinates, range);
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error));
        }
      }),
    );
    for (const id of wanted) {
      const answers = perClient.map((observations) => (observations instanceof Error ? observations : (observations.get(id) as MessageObservation)));
      const tally = new Map<string, { answer: MessageObservation; count: number }>();
      for (const answer of answers) {
        if (answer instanceof Error) continue;
        const k = observationKey(answer);
        const entry = tally.get(k) ?? { answer, count: 0 };
        entry.count++;
        tally.set(k, entry);
      }
      const agreed = this.agreement(tally);
      if (agreed?.kind === "final") this.remember(agreed);
      results.set(id, { agreed, answers });
    }
    return results;
  }

  private remember(observation: Extract<MessageObservation, { kind: "final" }>): void {
    if (this.finalCache.size >= FINAL_CACHE_SIZE) this.finalCache.delete(this.finalCache.keys().next().value!);
    this.finalCache.set(observation.messageId, observation);
  }

  /** One endpoint's observation of each id. */
  private async observeOn(
    client: PublicClient,
    ids: readonly Hex[],
    coordinates?: { txHash: Hex; logIndex?: number },
    range?: { fromBlock?: number; toBlock?: number },
  ): Promise<Map<Hex, MessageObservation>> {
    const head = await client.getBlockNumber();
    const found = new Map<Hex, { message: Message; blockNumber: bigint; blockHash: Hex; txHash: Hex; logIndex: number }>();
    const wanted = new Set(ids.map((id) => id.toLowerCase()));
    const consider = (log: { address: Address; topics: readonly Hex[]; data: Hex; blockNumber: bigint | null; blockHash: Hex | null; transactionHash: Hex | null; logIndex: number | null; removed?: boolean }): void => {
      if (log.removed === true || log.blockNumber === null || log.blockHash === null || log.transactionHash === null || log.logIndex === null) return;
      if (getAddress(log.address) !== this.sourceGateway) return;
      // The indexed id only preselects: the id that counts is re-derived from the decoded message below.
      if (!wanted.has(log.topics[1]?.toLowerCase() ?? "")) return;
      let decoded;
      try {
        decoded = decodeMessageSent({ data: log.data, topics: log.topics });
      } catch {
        return;
      }
      if (!wanted.has(decoded.messageId.toLowerCase())) return;
      found.set(decoded.messageId, { message: decoded.message, blockNumber: log.blockNumber, blockHash: log.blockHash, txHash: log.transactionHash, logIndex: log.logIndex });
    };
    if (coordinates !== undefined) {
      const receipt = await client.getTransactionReceipt({ hash: coordinates.txHash }).catch(() => null);
      for (const log of receipt?.logs ?? []) if (coordinates.logIndex === undefined || log.logIndex === coordinates.logIndex) consider(log);
    } else {
      const event = sourceGatewayAbi.find((item) => item.type === "event" && item.name === MESSAGE_SENT) as Extract<(typeof sourceGatewayAbi)[number], { name: "MessageSent" }>;
      const last = Math.min(Number(head), range?.toBlock ?? Number.MAX_SAFE_INTEGER);
      const step = this.config.maxLogRange ?? DEFAULT_LOG_RANGE;
      const first = Math.max(this.config.fromBlock, range?.fromBlock ?? 0);
      // Within a short hinted range every MessageSent log is fetched and matched here: endpoints answer
      // that faster than a filter over many ids. Otherwise the endpoint filters by id.
      const byId = ids.length === 1 || range?.fromBlock === undefined || range.toBlock === undefined || last - first >= SHORT_RANGE;
      for (let from = first; from <= last; from += step) {
        const to = Math.min(last, from + step - 1);
        const logs = await client.getLogs({ address: this.sourceGateway, event, ...(byId ? { args: { messageId: [...ids] } } : {}), fromBlock: BigInt(from), toBlock: BigInt(to) });
        for (const log of logs) consider(log as never);
      }
    }
    // A log is only as good as its block: make sure the block is still on this endpoint's canonical chain.
    const canonical = new Map<bigint, Hex>();
    for (const { blockNumber } of found.values()) {
      if (!canonical.has(blockNumber)) canonical.set(blockNumber, (await client.getBlock({ blockNumber })).hash);
    }
    const observations = new Map<Hex, MessageObservation>();
    for (const id of ids) {
      const hit = found.get(id);
      if (hit === undefined || canonical.get(hit.blockNumber) !== hit.blockHash) {
        observations.set(id, { kind: "absent", messageId: id, detail: coordinates === undefined ? "no MessageSent log with this id" : `no MessageSent log with this id in tx ${coordinates.txHash}${coordinates.logIndex === undefined ? "" : ` at log index ${coordinates.logIndex}`}` });
        continue;
      }
      const depth = head - hit.blockNumber + 1n;
      observations.set(id, depth >= BigInt(this.config.confirmations) ? { kind: "final", messageId: id, ...hit } : { kind: "pending", messageId: id, depth });
    }
    return observations;
  }

  /** TargetGateway state for a relay rotation: current relay and rotation nonce, agreed by the quorum. */
  async targetRelayState(): Promise<QuorumResult<{ relay: Address; rotationNonce: bigint }>> {
    return this.ask(
      async (client) => {
        const [relay, rotationNonce] = await Promise.all([
          client.readContract({ address: this.targetGateway, abi: targetGatewayAbi, functionName: "relay" }),
          client.readContract({ address: this.targetGateway, abi: targetGatewayAbi, functionName: "rotationNonce" }),
        ]);
        return { relay: getAddress(relay), rotationNonce };
      },
      (state) => `${state.relay}:${state.rotationNonce}`,
    );
  }
}

/** Two endpoints agree on a final message only if they saw the same log in the same block. */
function observationKey(observation: MessageObservation): string {
  switch (observation.kind) {
    case "final":
      return `final:${observation.messageId}:${observation.blockHash}:${observation.txHash}:${observation.logIndex}`;
    case "pending":
      return `pending:${observation.messageId}`;
    case "absent":
      return `absent:${observation.messageId}`;
  }
}
