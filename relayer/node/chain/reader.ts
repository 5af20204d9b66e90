/**
 * A node's own view of one chain through its RPC endpoints (endpoints.ts). A message counts as
 * final only when a quorum of endpoints report the same MessageSent log of the configured
 * SourceGateway, in a block each of them still has on its canonical chain and considers final under
 * the chain's `finality`. Nothing is believed on one endpoint's word, and nothing is remembered as
 * true: where a message was last seen final only tells the next question where to look again.
 */
import { BaseError, getAddress, TransactionReceiptNotFoundError, type Address, type Hex, type PublicClient } from "viem";
import { decodeMessageSent, finalBlock, type Message, sourceGatewayAbi, targetGatewayAbi, scanLogs, type BlockSpan } from "@mpc-relay/sdk";
import type { Finality, NodeChainConfig } from "./config.ts";
import { ChainReadError, Endpoints, summarize, tally, timedOut, type QuorumResult } from "./endpoints.ts";

export { ChainReadError, type QuorumResult } from "./endpoints.ts";

/** What one endpoint says about one message. */
export type MessageObservation =
  | { kind: "final"; messageId: Hex; message: Message; blockNumber: bigint; blockHash: Hex; txHash: Hex; logIndex: number }
  | { kind: "pending"; messageId: Hex; blockNumber: bigint; finalBlock: bigint }
  | { kind: "absent"; messageId: Hex; detail: string };

/** Where an endpoint looks for the logs: one transaction's receipt, or block ranges. */
type Where = { txHash: Hex; logIndex?: number } | { ranges: readonly BlockRange[] };
interface BlockRange {
  from: number;
  to: number;
}
type Hit = Omit<Extract<MessageObservation, { kind: "final" }>, "kind">;

const MESSAGE_SENT = sourceGatewayAbi.find((item) => item.type === "event" && item.name === "MessageSent") as Extract<(typeof sourceGatewayAbi)[number], { name: "MessageSent" }>;
/** Message locations remembered per chain (oldest forgotten first). */
const LOCATION_CACHE_SIZE = 100_000;
/** A range this short is read whole instead of filtered by many message ids. */
const SHORT_RANGE = 64;
/** eth_getLogs calls one endpoint may make for one question (range splits included). */
const MAX_LOG_CALLS = 256;
/** After a quorum told its head, how long the other endpoints get to tell theirs. */
const HEAD_GRACE_MS = 100;

export class ChainReader {
  readonly chainId: number;
  readonly quorum: number;
  readonly finality: Finality;
  readonly sourceGateway: Address;
  readonly targetGateway: Address;
  private readonly endpoints: Endpoints;
  /** Per endpoint, the eth_getLogs range it accepts (shrunk when it refuses one). */
  private readonly logRange: BlockSpan[];
  /** Block of each message last agreed final: a hint where to look, re-checked like any other. */
  private readonly locations = new Map<Hex, number>();

  constructor(private readonly config: NodeChainConfig) {
    this.chainId = config.chainId;
    this.quorum = config.quorum;
    this.finality = config.finality;
    this.sourceGateway = getAddress(config.sourceGateway);
    this.targetGateway = getAddress(config.targetGateway);
    this.endpoints = new Endpoints(config);
    this.logRange = config.rpcUrls.map(() => ({ value: config.maxLogRange }));
  }

  /**
   * The quorum's view of the MessageSent logs with these ids: by transaction when `coordinates` are
   * given, else where each was last seen final (if inside `range`), else by id within `range`, or
   * the last maxScanBlocks blocks below the agreed head. One deadline covers the whole question.
   */
  async observeMessages(ids: readonly Hex[], coordinates?: { txHash: Hex; logIndex?: number }, range?: { fromBlock?: number; toBlock?: number }): Promise<Map<Hex, QuorumResult<MessageObservation>>> {
    const deadline = this.endpoints.deadline();
    if (coordinates !== undefined) return this.observe(ids, coordinates, deadline);
    if (range?.fromBlock !== undefined && range.toBlock !== undefined && range.fromBlock > range.toBlock) throw new ChainReadError(`block range ${range.fromBlock}..${range.toBlock} is empty`);
    const results = new Map<Hex, QuorumResult<MessageObservation>>();
    const inRange = (block: number): boolean => block >= (range?.fromBlock ?? 0) && block <= (range?.toBlock ?? Number.MAX_SAFE_INTEGER);
    const located = ids.filter((id) => inRange(this.locations.get(id) ?? -1));
    if (located.length > 0) {
      const again = await this.observe(
        located,
        {
          ranges: mergeBlocks(
            located.map((id) => this.locations.get(id)!),
            this.config.maxLogRange,
          ),
        },
        deadline,
      );
      for (const [id, result] of again) {
        if (result.agreed?.kind === "final") results.set(id, result);
        else this.locations.delete(id);
      }
    }
    const rest = ids.filter((id) => !results.has(id));
    if (rest.length === 0) return results;
    const window = await this.scanWindow(range, deadline);
    for (const [id, result] of await this.observe(rest, { ranges: window === null ? [] : [window] }, deadline)) results.set(id, result);
    return results;
  }

  /** TargetGateway state for a relay rotation: current relay and rotation nonce, agreed by the quorum. */
  async targetRelayState(): Promise<QuorumResult<{ relay: Address; rotationNonce: bigint }>> {
    return this.endpoints.ask(
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

  /**
   * Whether this chain can be read now: `quorum` endpoints serve the configured chain id and tell
   * their final block (each endpoint's own; heads need not agree for the chain to be readable).
   */
  async health(): Promise<{ ok: boolean; detail: string }> {
    const answers = await this.endpoints.race(
      (client) => finalBlock(client, this.finality),
      (so) => so.filter((a) => typeof a === "bigint").length >= this.quorum || so.filter((a) => a instanceof Error).length > this.endpoints.count - this.quorum,
      this.endpoints.deadline(),
      HEAD_GRACE_MS,
    );
    const answered = answers.filter((a) => typeof a === "bigint").length;
    const detail = `chain ${this.chainId}: ${answered} of ${this.endpoints.count} endpoints answer (quorum ${this.quorum}); ${summarize(answers, (block) => `final block ${block}`)}`;
    return { ok: answered >= this.quorum, detail };
  }

  /**
   * The blocks to search by id: the request's range, or the last maxScanBlocks blocks, never past the
   * highest block a quorum of endpoints has reached (so an endpoint overstating its head cannot make
   * anyone scan forever). Null when there is nothing to search.
   */
  private async scanWindow(range: { fromBlock?: number; toBlock?: number } | undefined, deadline: number): Promise<BlockRange | null> {
    const quorum = this.quorum;
    const succeeded = (answers: readonly (bigint | Error | undefined)[]): bigint[] => answers.filter((a): a is bigint => typeof a === "bigint");
    const answers = await this.endpoints.race(
      (client) => client.getBlockNumber(),
      (so) => succeeded(so).length >= quorum,
      deadline,
      HEAD_GRACE_MS,
    );
    const heads = succeeded(answers).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    // The quorum-th highest head: at least a quorum, so at least one honest endpoint, has reached it.
    const head = heads[quorum - 1];
    if (head === undefined) throw new ChainReadError(`fewer than ${quorum} RPC endpoints of chain ${this.chainId} told their head (${summarize(answers, String)})`);
    const to = Math.min(Number(head), range?.toBlock ?? Number.MAX_SAFE_INTEGER);
    const from = Math.max(this.config.fromBlock, range?.fromBlock ?? to - this.config.maxScanBlocks + 1);
    if (to - from + 1 > this.config.maxScanBlocks) throw new ChainReadError(`blocks ${from}..${to} are more than the ${this.config.maxScanBlocks} this node searches for a message`);
    return from <= to ? { from, to } : null;
  }

  private async observe(ids: readonly Hex[], where: Where, deadline: number): Promise<Map<Hex, QuorumResult<MessageObservation>>> {
    const perEndpoint = await this.endpoints.race(
      (client, endpoint, signal) => this.observeOn(client, endpoint, signal, ids, where),
      (so) => ids.every((id) => tally(pick(so, id), observationKey, this.quorum).decided),
      deadline,
    );
    const results = new Map<Hex, QuorumResult<MessageObservation>>();
    for (const id of ids) {
      const answers = pick(perEndpoint, id) as (MessageObservation | Error)[];
      const { agreed } = tally(answers, observationKey, this.quorum);
      if (agreed?.kind === "final") this.remember(id, Number(agreed.blockNumber));
      results.set(id, { agreed, answers });
    }
    return results;
  }

  private remember(id: Hex, block: number): void {
    this.locations.delete(id);
    if (this.locations.size >= LOCATION_CACHE_SIZE) this.locations.delete(this.locations.keys().next().value!);
    this.locations.set(id, block);
  }

  /** One endpoint's observation of each id. */
  private async observeOn(client: PublicClient, endpoint: number, signal: AbortSignal, ids: readonly Hex[], where: Where): Promise<Map<Hex, MessageObservation>> {
    const finalNow = finalBlock(client, this.finality);
    finalNow.catch(() => undefined);
    const found = new Map<Hex, Hit>();
    const wanted = new Set(ids.map((id) => id.toLowerCase()));
    const consider = (log: {
      address: Address;
      topics: readonly Hex[];
      data: Hex;
      blockNumber: bigint | null;
      blockHash: Hex | null;
      transactionHash: Hex | null;
      logIndex: number | null;
      removed?: boolean;
    }): void => {
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
      if (!wanted.has(decoded.messageId.toLowerCase()) || getAddress(decoded.message.srcGateway) !== this.sourceGateway) return;
      found.set(decoded.messageId, {
        messageId: decoded.messageId,
        message: decoded.message,
        blockNumber: log.blockNumber,
        blockHash: log.blockHash,
        txHash: log.transactionHash,
        logIndex: log.logIndex,
      });
    };
    if ("txHash" in where) {
      const receipt = await client.getTransactionReceipt({ hash: where.txHash }).catch((error: unknown) => {
        // "No such transaction" is an answer; any other failure is not, and casts no vote.
        if (error instanceof BaseError && error.walk((e) => e instanceof TransactionReceiptNotFoundError) !== null) return null;
        throw error;
      });
      for (const log of receipt?.logs ?? []) if (where.logIndex === undefined || log.logIndex === where.logIndex) consider(log);
    } else {
      for (const range of where.ranges) for (const log of await this.logsIn(client, endpoint, signal, ids, range)) consider(log as never);
    }
    // A log is only as good as its block: make sure the block is still on this endpoint's canonical chain.
    const blocks = [...new Set([...found.values()].map((hit) => hit.blockNumber))];
    const hashes = new Map(await Promise.all(blocks.map(async (blockNumber) => [blockNumber, (await client.getBlock({ blockNumber })).hash] as const)));
    const final = found.size === 0 ? 0n : await finalNow;
    const observations = new Map<Hex, MessageObservation>();
    for (const id of ids) {
      const hit = found.get(id);
      if (hit === undefined || hashes.get(hit.blockNumber) !== hit.blockHash)
        observations.set(id, { kind: "absent", messageId: id, detail: `no MessageSent log with this id ${describeWhere(where)}` });
      else if (hit.blockNumber <= final) observations.set(id, { kind: "final", ...hit });
      else observations.set(id, { kind: "pending", messageId: id, blockNumber: hit.blockNumber, finalBlock: final });
    }
    return observations;
  }

  /**
   * MessageSent logs in `range` on one endpoint, in calls of at most the range it accepts (the
   * shared splitting rule, log-ranges.ts).
   */
  private async logsIn(client: PublicClient, endpoint: number, signal: AbortSignal, ids: readonly Hex[], range: BlockRange) {
    const byId = ids.length === 1 || range.to - range.from >= SHORT_RANGE;
    return scanLogs({
      from: range.from,
      to: range.to,
      span: this.logRange[endpoint]!,
      getLogs: (from, to) => client.getLogs({ address: this.sourceGateway, event: MESSAGE_SENT, ...(byId ? { args: { messageId: [...ids] } } : {}), fromBlock: BigInt(from), toBlock: BigInt(to) }),
      // Any answer but a timeout may be a refused range: split it (a timed-out call ends this endpoint's answer).
      splits: (error) => !timedOut(error),
      maxCalls: MAX_LOG_CALLS,
      signal,
      fail: (message, stop) => new ChainReadError(stop === "aborted" ? "the question ended" : message),
    });
  }
}

/** Each endpoint's answer about one id (an endpoint's error stands for all of its ids). */
function pick(perEndpoint: readonly (Map<Hex, MessageObservation> | Error | undefined)[], id: Hex): (MessageObservation | Error | undefined)[] {
  return perEndpoint.map((answer) => (answer === undefined || answer instanceof Error ? answer : answer.get(id)));
}

/** Ranges covering `blocks`, each at most `span` blocks long. */
function mergeBlocks(blocks: readonly number[], span: number): BlockRange[] {
  const ranges: BlockRange[] = [];
  for (const block of [...new Set(blocks)].sort((a, b) => a - b)) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && block - last.from < span) last.to = block;
    else ranges.push({ from: block, to: block });
  }
  return ranges;
}

function describeWhere(where: Where): string {
  if ("txHash" in where) return `in tx ${where.txHash}${where.logIndex === undefined ? "" : ` at log index ${where.logIndex}`}`;
  if (where.ranges.length === 0) return "(no block to search)";
  return `in blocks ${where.ranges.map((r) => `${r.from}..${r.to}`).join(", ")}`;
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

export function describeObservation(observation: MessageObservation): string {
  return observation.kind === "pending" ? `pending (block ${observation.blockNumber}, final up to ${observation.finalBlock})` : observation.kind;
}
