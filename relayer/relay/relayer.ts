/**
 * The relayer: source watchers feed message records; a scheduler moves each record through
 * final -> attested -> delivered (or failed -> retried -> delivered) with backoff, singly or in
 * batches; every step is persisted before the next, and the target gateway's state is consulted
 * before anything is sent, so a restart neither loses nor duplicates a delivery.
 *
 * Longer than our ~400-line rule on purpose: the steps are one state machine over a record and share
 * its in-flight bookkeeping; the I/O each step needs lives in watcher.ts, attestor.ts, submitter.ts,
 * store.ts and api.ts.
 */
import type { Server } from "node:http";
import { createPublicClient, fallback, getAddress, http, recoverAddress, type Address, type Hex, type PublicClient, type TransactionReceipt } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { batchDigest, MessageBatch, messageDigest, messageFromJson, type Message } from "@mpc-relay/sdk";
import { MpcClient, type SourceBlocks } from "./attestor.ts";
import { httpChannel, p2pChannel, type ApiChannel } from "../node/api/channel.ts";
import type { Readiness } from "../node/api/http.ts";
import { startRelayerApi } from "./api.ts";
import { RelayMetrics } from "./metrics.ts";
import type { NodeView, PerformanceView } from "./api-types.ts";
import { nodeViews } from "./nodes.ts";
import { listMessages, performance } from "./queries.ts";
import { P2pApiClient } from "../node/api/p2p.ts";
import { loadIdentity } from "../node/identity.ts";
import { nodeToken, readSubmitterKey, type RelayerConfig } from "./config.ts";
import { relayLogger, type RelayLogger } from "./log.ts";
import { backoffMs } from "../shared/backoff.ts";
import { RelayStore, TERMINAL_STATES, transition, type MessageRecord, type MessageState } from "./store.ts";
import { batchMessageGas, ChainSubmitter, RevertedWith, type DeliveryOutcome, type Signer } from "./submitter.ts";
import { SourceWatcher } from "./watcher.ts";

/** What `status(messageId)` and the API return. */
export interface MessageStatus {
  messageId: Hex;
  state: MessageState;
  srcChainId: number;
  dstChainId: number;
  sourceTxHash: Hex;
  blockNumber: number;
  deliveryTxHash: Hex | null;
  attempts: number;
  extraGas: string;
  lastError: string | null;
  batched: boolean;
  /** The committee members (party indices) whose shares made the attestation, once attested. */
  signers: number[] | null;
  history: { state: MessageState; at: number; detail?: string }[];
}

export interface Relayer {
  /** Port of the HTTP status API, or null without one. */
  readonly apiPort: number | null;
  status(messageId: Hex): Promise<MessageStatus | null>;
  /** Resolves once the message is in one of `states`; rejects after `timeoutMs`. */
  waitFor(messageId: Hex, states: readonly MessageState[], timeoutMs: number): Promise<MessageStatus>;
  stop(): Promise<void>;
}

const PARKED = Number.MAX_SAFE_INTEGER;
const MAX_CONCURRENT_TASKS = 32;
const TICK_MS = 25;
/** How often the MPC nodes are asked whether they hold the relay key READY (readiness, metrics). */
const NODE_PROBE_MS = 10_000;
/** How long one reading of the nodes' status answers GET /v1/nodes. */
const NODE_VIEW_TTL_MS = 2_000;
/** How long one computation of a window's statistics answers GET /v1/stats. */
const STATS_TTL_MS = 2_000;

export async function startRelayer(config: RelayerConfig, options: { log?: RelayLogger } = {}): Promise<Relayer> {
  const log = options.log ?? relayLogger(config.logLevel);
  const store = await RelayStore.open(config.storePath);
  try {
    return await Engine.start(config, store, log);
  } catch (error) {
    await store.close();
    throw error;
  }
}

class Engine implements Relayer {
  apiPort: number | null = null;
  private readonly active = new Map<Hex, MessageRecord>();
  private readonly inFlight = new Set<Hex>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly polls = new Set<Promise<void>>();
  /** The pending timer of each loop (one per source chain, one for the scheduler). */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly watchers: SourceWatcher[] = [];
  private readonly submitters = new Map<number, ChainSubmitter>();
  private server: Server | null = null;
  private stopped = false;
  /** The store is closed (after stop): only records in memory can be answered. */
  private closed = false;
  /** The libp2p host the relayer dials nodes with, when any node is given by peer id. */
  p2p: P2pApiClient | null = null;
  private channels: ApiChannel[] = [];
  readonly metrics = new RelayMetrics();
  /** When each chain's watcher last polled successfully. */
  private readonly lastPoll = new Map<number, number>();
  private nodeProbe = { ready: 0, threshold: 0, probedAt: 0 };
  /** The MPC key's address: every attestation must recover to it. */
  private relayAddress: Address = "0x0000000000000000000000000000000000000000";
  private nodeRead: { at: number; views: Promise<NodeView[]> } | null = null;
  private readonly statsRead = new Map<number, { at: number; view: Promise<PerformanceView> }>();

  private constructor(
    private readonly config: RelayerConfig,
    private readonly store: RelayStore,
    private readonly mpc: MpcClient,
    private readonly stopping: AbortController,
    private readonly log: RelayLogger,
  ) {}

  static async start(config: RelayerConfig, store: RelayStore, log: RelayLogger): Promise<Engine> {
    const p2pNodes = config.mpc.nodes.filter((node) => "peerId" in node);
    const p2p = p2pNodes.length === 0 ? null : await P2pApiClient.start(await loadIdentity(config.mpc.identityKeyFile!), p2pNodes);
    if (p2p !== null) log.info("speaking to nodes over libp2p", { peerId: p2p.peerId, nodes: p2pNodes.length });
    const channels = config.mpc.nodes.map((node) => ("peerId" in node ? p2pChannel(p2p!, node) : httpChannel(node.apiUrl, nodeToken(node))));
    const stopping = new AbortController();
    const mpc = new MpcClient(channels, config.mpc.keyId, config.mpc.requestTimeoutMs, log, stopping.signal);
    const engine = new Engine(config, store, mpc, stopping, log);
    engine.p2p = p2p;
    engine.relayAddress = getAddress(await mpc.relayAddress());
    const signer: Signer =
      config.delivery.mode === "permissionless" ? { kind: "local", account: privateKeyToAccount(await readSubmitterKey(config.delivery)) } : { kind: "mpc", mpc, address: engine.relayAddress };
    const clients = new Map<number, PublicClient>();
    for (const chain of config.chains) {
      const client = createPublicClient({
        transport: fallback(chain.rpcUrls.map((url) => http(url, { timeout: 10_000, retryCount: 1 }))),
        pollingInterval: Math.min(chain.pollIntervalMs, 1_000),
        cacheTime: 0,
      }) as PublicClient;
      const chainId = await client.getChainId();
      if (chainId !== chain.chainId) throw new Error(`chain "${chain.name}": RPC serves chain id ${chainId}, config says ${chain.chainId}`);
      clients.set(chain.chainId, client);
      engine.submitters.set(chain.chainId, new ChainSubmitter(chain, client, signer, config.delivery, log));
    }
    for (const chain of config.chains) {
      engine.watchers.push(
        new SourceWatcher(
          chain,
          clients.get(chain.chainId)!,
          store,
          {
            lookup: (id) => engine.lookup(id),
            changed: (records) => engine.adopt(records),
            isRoutable: (dstChainId) => engine.submitters.has(dstChainId),
          },
          log,
        ),
      );
    }
    for (const record of await store.all()) {
      if (TERMINAL_STATES.has(record.state)) continue;
      if (record.nextAttemptAt !== PARKED) record.nextAttemptAt = Date.now();
      engine.active.set(record.messageId, record);
      for (const watcher of engine.watchers) watcher.adopt(record);
    }
    engine.channels = channels;
    engine.metrics.countBacklog(() => engine.active.values());
    for (const submitter of engine.submitters.values()) {
      submitter.onReceipt = (receipt) => {
        const chain = String(submitter.chainId);
        engine.metrics.gasUsed.inc({ chain }, Number(receipt.gasUsed));
        engine.metrics.gasSpentWei.inc({ chain }, Number(receipt.gasUsed * receipt.effectiveGasPrice));
        engine.noteGas(submitter.chainId, receipt);
      };
    }
    if (config.api !== undefined) await engine.startApi(config.api);
    engine.run();
    log.info("relayer started", {
      chains: config.chains.map((c) => ({ chainId: c.chainId, name: c.name, confirmations: c.confirmations })),
      mode: config.delivery.mode,
      submitter: signer.kind === "local" ? signer.account.address : signer.address,
      batch: config.batch.enabled,
      resumed: engine.active.size,
      apiPort: engine.apiPort,
    });
    return engine;
  }

  // ---- public API ----

  async status(messageId: Hex): Promise<MessageStatus | null> {
    const record = await this.lookup(messageId.toLowerCase() as Hex);
    return record === null ? null : view(record);
  }

  async waitFor(messageId: Hex, states: readonly MessageState[], timeoutMs: number): Promise<MessageStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status(messageId);
      if (status !== null && states.includes(status.state)) return status;
      if (Date.now() > deadline) throw new Error(`message ${messageId} not ${states.join("/")} within ${timeoutMs} ms (now ${status?.state ?? "unknown"})`);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.stopping.abort();
    for (const submitter of this.submitters.values()) submitter.halt();
    await Promise.allSettled([...this.tasks, ...this.polls]);
    if (this.server !== null) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    await this.p2p?.stop();
    this.closed = true;
    await this.store.close();
    this.log.info("relayer stopped");
  }

  // ---- loops ----

  private run(): void {
    for (const watcher of this.watchers) {
      const chain = this.config.chains.find((c) => c.chainId === watcher.chainId)!;
      const loop = async (): Promise<void> => {
        if (this.stopped) return;
        const poll = watcher.poll();
        this.polls.add(poll);
        try {
          await poll;
          this.lastPoll.set(watcher.chainId, Date.now());
        } catch (error) {
          if (!this.stopped) this.log.warn("source scan failed; retrying", { chainId: watcher.chainId, error: short(error) });
        } finally {
          this.polls.delete(poll);
        }
        if (!this.stopped)
          this.timers.set(
            `watch:${watcher.chainId}`,
            setTimeout(() => void loop(), chain.pollIntervalMs),
          );
      };
      void loop();
    }
    const probe = (): void => {
      if (this.stopped) return;
      void this.probeNodes().finally(() => {
        if (!this.stopped) this.timers.set("probe", setTimeout(probe, NODE_PROBE_MS));
      });
    };
    probe();
    const tick = (): void => {
      if (this.stopped) return;
      this.schedule();
      this.timers.set("schedule", setTimeout(tick, TICK_MS));
    };
    tick();
  }

  private adopt(records: MessageRecord[]): void {
    for (const record of records) {
      if (TERMINAL_STATES.has(record.state)) this.active.delete(record.messageId);
      else this.active.set(record.messageId, record);
    }
  }

  private async lookup(messageId: Hex): Promise<MessageRecord | null> {
    return this.active.get(messageId) ?? (this.closed ? null : await this.store.get(messageId));
  }

  /** Starts the due work: attestations (single or batched), deliveries, retries. */
  private schedule(): void {
    const now = Date.now();
    const batchCandidates = new Map<string, MessageRecord[]>();
    const attestedBatches = new Map<string, MessageRecord[]>();
    for (const record of this.active.values()) {
      if (this.tasks.size >= MAX_CONCURRENT_TASKS) break;
      if (this.inFlight.has(record.messageId) || record.nextAttemptAt > now) continue;
      switch (record.state) {
        case "final":
          if (this.config.batch.enabled) push(batchCandidates, `${record.srcChainId}>${record.dstChainId}`, record);
          else this.launch([record], () => this.attestOne(record));
          break;
        case "attested":
          if (record.batchIds !== undefined) push(attestedBatches, `${record.signature}`, record);
          else this.launch([record], () => this.deliverOne(record));
          break;
        case "failed":
        case "retried":
          this.launch([record], () => this.retry(record));
          break;
        default:
          break;
      }
    }
    for (const group of attestedBatches.values()) this.launch(group, () => this.deliverBatch(group));
    for (const candidates of batchCandidates.values()) {
      const oldest = Math.min(...candidates.map((r) => r.updatedAt));
      if (candidates.length < this.config.batch.maxMessages && now - oldest < this.config.batch.maxWaitMs) continue;
      for (let i = 0; i < candidates.length; i += this.config.batch.maxMessages) {
        const group = candidates.slice(i, i + this.config.batch.maxMessages);
        this.launch(group, () => this.attestBatch(group));
      }
    }
  }

  /** Splits records into groups whose messages' gas limits (plus gateway overhead) fit one transaction. */
  private gasBoundGroups(records: MessageRecord[]): MessageRecord[][] {
    const groups: MessageRecord[][] = [];
    let group: MessageRecord[] = [];
    let gas = 0n;
    for (const record of records) {
      const need = batchMessageGas(record.message);
      if (group.length > 0 && gas + need > BigInt(this.config.batch.maxGas)) {
        groups.push(group);
        group = [];
        gas = 0n;
      }
      group.push(record);
      gas += need;
    }
    if (group.length > 0) groups.push(group);
    return groups;
  }

  private launch(records: MessageRecord[], work: () => Promise<void>): void {
    for (const record of records) this.inFlight.add(record.messageId);
    const task = work()
      .catch((error: unknown) => this.log.error("relayer task crashed", { error: short(error) }))
      .finally(() => {
        for (const record of records) this.inFlight.delete(record.messageId);
        this.tasks.delete(task);
      });
    this.tasks.add(task);
  }

  // ---- steps ----

  private async attestOne(record: MessageRecord): Promise<void> {
    const submitter = this.submitter(record);
    const message = messageFromJson(record.message);
    try {
      if (await this.settledOnTarget(record, submitter, message)) return;
      const signed = await this.mpc.sign({
        type: "messageAttestation",
        srcChainId: record.srcChainId,
        messageId: record.messageId,
        txHash: record.txHash,
        logIndex: record.logIndex,
        dstChainId: record.dstChainId,
        targetGateway: submitter.targetGateway,
      });
      await verifyAttestation(messageDigest(message, submitter.targetGateway), signed.signature, this.relayAddress);
      record.signature = signed.signature;
      record.signers = signed.signers;
      record.attempts = 0;
      transition(record, "attested", `signed by parties ${signed.signers.join(",")}`);
      this.counted(record);
      await this.save(record);
    } catch (error) {
      return this.backoff(record, error, "attestation");
    }
    await this.deliverOne(record);
  }

  private async attestBatch(records: MessageRecord[]): Promise<void> {
    const first = records[0]!;
    const submitter = this.submitter(first);
    const open: MessageRecord[] = [];
    let batch: MessageBatch;
    try {
      // Fresh messages skip the target check: receiveBatch itself skips anything already received.
      const fresh = records.filter((r) => r.attempts === 0 && r.pendingTx === undefined);
      open.push(
        ...fresh,
        ...(await this.unsettled(
          records.filter((r) => !fresh.includes(r)),
          submitter,
        )),
      );
      if (open.length === 0) return;
      const ids = open.map((r) => r.messageId);
      const blocks = open.map((r) => r.blockNumber);
      const started = Date.now();
      const signing = this.mpc.sign({
        type: "batchAttestation",
        srcChainId: first.srcChainId,
        messageIds: ids,
        dstChainId: first.dstChainId,
        targetGateway: submitter.targetGateway,
        fromBlock: Math.min(...blocks),
        toBlock: Math.max(...blocks),
      });
      // Build the tree while the network signs.
      signing.catch(() => undefined);
      batch = new MessageBatch(open.map((r) => messageFromJson(r.message)));
      const signed = await signing;
      await verifyAttestation(batchDigest(batch.root, first.dstChainId, submitter.targetGateway), signed.signature, this.relayAddress);
      for (const record of open) {
        record.signature = signed.signature;
        record.batchIds = ids;
        record.signers = signed.signers;
        record.attempts = 0;
        transition(record, "attested", `batch of ${ids.length} signed by parties ${signed.signers.join(",")}`);
        this.counted(record);
      }
      await this.store.commit(open);
      this.log.info("batch attested", { srcChainId: first.srcChainId, dstChainId: first.dstChainId, messages: ids.length, ms: Date.now() - started });
    } catch (error) {
      const at = Date.now();
      for (const record of open.length > 0 ? open : records) await this.backoff(record, error, "batch attestation", at);
      return;
    }
    await this.deliverBatch(open, batch);
  }

  private async deliverOne(record: MessageRecord): Promise<void> {
    const submitter = this.submitter(record);
    const message = messageFromJson(record.message);
    try {
      if (await this.settledOnTarget(record, submitter, message)) return;
      const outcome = await submitter.deliverOne(message, record.signature!, (hash, nonce) => this.noteSent([record], hash, nonce, "deliver"), sourceBlocks([record]));
      await this.settle(record, outcome);
    } catch (error) {
      await this.deliveryError([record], error);
    }
  }

  /**
   * Delivers attested members of one signed batch. The signature covers the whole root, so any subset
   * can go with its own multiproof: members are split into transactions within the gas bound and sent
   * side by side.
   */
  /** `attested`: the batch as just signed (its members all still open); otherwise it is rebuilt from the store. */
  private async deliverBatch(records: MessageRecord[], attested?: MessageBatch): Promise<void> {
    const submitter = this.submitter(records[0]!);
    const justAttested = attested !== undefined;
    let batch: MessageBatch;
    let open: MessageRecord[];
    try {
      if (attested !== undefined) {
        batch = attested;
        open = records;
      } else {
        const members: Message[] = [];
        for (const id of records[0]!.batchIds!) {
          const member = await this.lookup(id);
          if (member === null) throw new Error(`batch member ${id} missing from the store`);
          members.push(messageFromJson(member.message));
        }
        batch = new MessageBatch(members);
        open = await this.unsettled(records, submitter);
      }
    } catch (error) {
      return this.deliveryError(records, error);
    }
    await Promise.all(
      this.gasBoundGroups(open).map(async (group) => {
        try {
          const { messages, proof, proofFlags } = batch.multiProof(group.map((r) => messageFromJson(r.message)));
          const started = Date.now();
          let sentAt = 0;
          const outcomes = await submitter.deliverBatch(
            messages,
            proof,
            proofFlags,
            group[0]!.signature!,
            (hash, nonce) => {
              sentAt ||= Date.now();
              return this.noteSent(group, hash, nonce, "deliver");
            },
            justAttested,
            sourceBlocks(group),
          );
          this.log.info("batch delivered", { dstChainId: group[0]!.dstChainId, messages: group.length, prepareMs: sentAt - started, minedMs: Date.now() - sentAt });
          for (const record of group) await this.settle(record, outcomes.get(record.messageId)!);
        } catch (error) {
          await this.deliveryError(group, error);
        }
      }),
    );
  }

  private async retry(record: MessageRecord): Promise<void> {
    const submitter = this.submitter(record);
    const message = messageFromJson(record.message);
    try {
      if (record.pendingTx !== undefined) await submitter.settlePending(record.pendingTx.hash);
      const outcome = await submitter.retry(
        message,
        BigInt(record.extraGas),
        async (hash, nonce) => {
          if (record.state !== "retried") transition(record, "retried", `retry transaction ${hash}`);
          await this.noteSent([record], hash, nonce, "retry");
        },
        sourceBlocks([record]),
      );
      if (outcome.state === "stillFailing") {
        if (record.state === "retried") transition(record, "failed", outcome.reason);
        delete record.pendingTx;
        record.attempts++;
        record.lastError = outcome.reason;
        if (record.attempts >= this.config.retry.maxAttempts) {
          record.nextAttemptAt = PARKED;
          this.log.warn("failed message parked until its gas is topped up", { messageId: record.messageId, attempts: record.attempts, reason: outcome.reason });
        } else {
          record.nextAttemptAt = Date.now() + this.delay(record.attempts);
          this.log.info("failed message still fails; retrying later", { messageId: record.messageId, attempts: record.attempts, reason: outcome.reason });
        }
        await this.save(record);
        return;
      }
      await this.settle(record, outcome);
    } catch (error) {
      await this.backoff(record, error, "retry");
    }
  }

  // ---- bookkeeping ----

  /** True (and the record settled) if the target already received the message. */
  private async settledOnTarget(record: MessageRecord, submitter: ChainSubmitter, message: Message): Promise<boolean> {
    if (record.pendingTx !== undefined) await submitter.settlePending(record.pendingTx.hash);
    const state = await submitter.targetState(message);
    if (state === "unreceived") return false;
    await this.settle(record, { state, txHash: null });
    return true;
  }

  /** The records the target has not received yet (the others are settled on the way), checked in parallel. */
  private async unsettled(records: MessageRecord[], submitter: ChainSubmitter): Promise<MessageRecord[]> {
    const settled = await Promise.all(records.map((record) => this.settledOnTarget(record, submitter, messageFromJson(record.message))));
    return records.filter((_, i) => !settled[i]);
  }

  private async settle(record: MessageRecord, outcome: DeliveryOutcome): Promise<void> {
    delete record.pendingTx;
    if (outcome.txHash !== null) record.deliveryTxHash = outcome.txHash;
    if (outcome.state === "failed") {
      if (record.state !== "failed") transition(record, "failed", `receiver reverted on chain ${record.dstChainId}; kept there for retry`);
      record.attempts = 0;
      record.nextAttemptAt = Date.now() + this.config.retry.initialBackoffMs;
      this.log.warn("message failed on the target; will retry", { messageId: record.messageId, tx: outcome.txHash });
    } else {
      transition(record, outcome.state, outcome.txHash === null ? "found settled on the target" : `tx ${outcome.txHash}`);
      this.log.info(`message ${outcome.state}`, { messageId: record.messageId, srcChainId: record.srcChainId, dstChainId: record.dstChainId, tx: outcome.txHash });
    }
    this.counted(record);
    await this.save(record);
    if (TERMINAL_STATES.has(record.state)) this.active.delete(record.messageId);
  }

  /** Counts the state the record just entered; an attestation also records how long it took since the message was final. */
  private counted(record: MessageRecord): void {
    const route = { src_chain: String(record.srcChainId), dst_chain: String(record.dstChainId) };
    this.metrics.transitions.inc({ ...route, state: record.state });
    if (record.state === "attested") {
      const final = [...record.history].reverse().find((h) => h.state === "final");
      if (final !== undefined) this.metrics.attestationSeconds.observe((Date.now() - final.at) / 1000);
    }
  }

  private async noteSent(records: MessageRecord[], hash: Hex, nonce: number, kind: "deliver" | "retry"): Promise<void> {
    for (const record of records) {
      record.pendingTx = { hash, nonce, kind };
      record.updatedAt = Date.now();
    }
    await this.store.commit(records);
  }

  private async deliveryError(records: MessageRecord[], error: unknown): Promise<void> {
    // One retry time for the whole group, so a batch is retried as a batch.
    const attempts = Math.max(...records.map((r) => r.attempts));
    const at = Date.now();
    for (const record of records) record.attempts = attempts;
    for (const record of records) {
      if (error instanceof RevertedWith && error.errorName === "InvalidSignature") {
        // The target no longer accepts the signer (e.g. relay rotated): attest again.
        delete record.signature;
        delete record.batchIds;
        transition(record, "final", "signature no longer accepted by the target; re-attesting");
      }
      await this.backoff(record, error, "delivery", at);
    }
  }

  /** Schedules the next attempt; members of one batch pass the same `at` so they stay together. */
  private async backoff(record: MessageRecord, error: unknown, step: string, at = Date.now()): Promise<void> {
    this.metrics.failures.inc({ step });
    record.attempts++;
    record.lastError = `${step}: ${short(error)}`;
    record.nextAttemptAt = at + this.delay(record.attempts);
    record.updatedAt = Date.now();
    // A first refusal or two is routine (a node not yet at the message's final block); one that persists is not.
    const level = record.attempts < 3 ? "info" : "warn";
    this.log[level](`${step} failed; backing off`, { messageId: record.messageId, attempts: record.attempts, error: record.lastError });
    if (!this.stopped) await this.save(record);
  }

  private delay(attempts: number): number {
    const { initialBackoffMs, maxBackoffMs } = this.config.retry;
    return backoffMs(attempts, { firstMs: initialBackoffMs, maxMs: maxBackoffMs });
  }

  private async save(record: MessageRecord): Promise<void> {
    if (this.stopped) return;
    await this.store.put(record);
  }

  private submitter(record: MessageRecord): ChainSubmitter {
    const submitter = this.submitters.get(record.dstChainId);
    if (submitter === undefined) throw new Error(`no destination chain ${record.dstChainId} configured`);
    return submitter;
  }

  private async startApi(api: { host: string; port: number }): Promise<void> {
    this.server = await startRelayerApi({
      ...api,
      status: (id) => this.status(id),
      messages: async (query) => listMessages(await this.store.digests(), query),
      stats: (windowMs) => this.stats(windowMs),
      nodes: () => this.nodeViews(),
      readiness: () => this.readiness(),
      metrics: this.metrics,
      onError: (error) => this.log.warn("status request failed", { error: short(error) }),
    });
    const address = this.server.address();
    this.apiPort = typeof address === "object" && address !== null ? address.port : api.port;
  }

  /** The statistics of a window, computed at most every STATS_TTL_MS per window however many callers ask. */
  private stats(windowMs: number): Promise<PerformanceView> {
    const cached = this.statsRead.get(windowMs);
    if (cached !== undefined && Date.now() - cached.at <= STATS_TTL_MS) return cached.view;
    const view = (async () => performance(await this.store.digests(), await this.store.gasSince(Date.now() - windowMs), windowMs))();
    // Windows are few in practice (the page offers four) but any number may be asked: old entries go first.
    if (this.statsRead.size >= 16) this.statsRead.delete(this.statsRead.keys().next().value!);
    this.statsRead.set(windowMs, { at: Date.now(), view });
    view.catch(() => this.statsRead.delete(windowMs));
    return view;
  }

  /** The nodes' status, asked at most every NODE_VIEW_TTL_MS however many callers ask (the API is open to anyone). */
  private nodeViews(): Promise<NodeView[]> {
    if (this.nodeRead === null || Date.now() - this.nodeRead.at > NODE_VIEW_TTL_MS) this.nodeRead = { at: Date.now(), views: nodeViews(this.channels) };
    return this.nodeRead.views;
  }

  /** Keeps what a mined delivery or retry transaction cost, for the statistics (metrics keep only totals). */
  noteGas(chainId: number, receipt: TransactionReceipt): void {
    if (this.closed) return;
    const entry = { at: Date.now(), chainId, txHash: receipt.transactionHash, gasUsed: receipt.gasUsed.toString(), costWei: (receipt.gasUsed * receipt.effectiveGasPrice).toString() };
    this.store.putGas(entry).catch((error: unknown) => this.log.warn("could not record a transaction's gas", { tx: receipt.transactionHash, error: short(error) }));
  }

  /** Ready: enough MPC nodes hold the relay key READY to sign, and every chain answered its last poll. */
  readiness(): Readiness {
    const checks: Readiness["checks"] = {};
    const { ready, threshold, probedAt } = this.nodeProbe;
    checks.mpc =
      probedAt === 0
        ? { ok: false, detail: "the MPC nodes were not probed yet" }
        : { ok: ready >= threshold && threshold > 0, detail: `${ready} node(s) hold key ${this.config.mpc.keyId} READY; ${threshold} must sign` };
    for (const chain of this.config.chains) {
      const at = this.lastPoll.get(chain.chainId) ?? 0;
      const fresh = Date.now() - at < 3 * chain.pollIntervalMs + 10_000;
      checks[`chain-${chain.chainId}`] = { ok: fresh, detail: at === 0 ? "not polled yet" : `last poll ${Date.now() - at} ms ago` };
    }
    return { ready: !this.stopped && Object.values(checks).every((c) => c.ok), checks };
  }

  /** Asks every node how it holds the relay key; the count of READY answers drives readiness and a metric. */
  private async probeNodes(): Promise<void> {
    const answers = await Promise.all(
      this.channels.map(async (channel, index) => {
        try {
          const response = await channel.request("GET", `/v1/keys/${encodeURIComponent(this.config.mpc.keyId)}`, undefined, AbortSignal.timeout(5_000));
          this.mpc.noteProbe(index, true);
          const key = (response.body as { key?: { status?: string; threshold?: number } }).key;
          return response.status === 200 && key?.status === "READY" ? (key.threshold ?? 0) : null;
        } catch {
          this.mpc.noteProbe(index, false);
          return null;
        }
      }),
    );
    const ready = answers.filter((a): a is number => a !== null);
    this.nodeProbe = { ready: ready.length, threshold: Math.max(0, ...ready), probedAt: Date.now() };
    this.metrics.nodesReady.set(ready.length);
  }
}

/** The source blocks holding these records' messages. */
function sourceBlocks(records: readonly MessageRecord[]): SourceBlocks {
  const blocks = records.map((record) => record.blockNumber);
  return { fromBlock: Math.min(...blocks), toBlock: Math.max(...blocks) };
}

/** The network's signature must be the relay key's over the digest this relayer computed itself. */
async function verifyAttestation(digest: Hex, signature: Hex, relayAddress: Address): Promise<void> {
  const signer = await recoverAddress({ hash: digest, signature });
  if (signer !== relayAddress) throw new Error(`attestation recovers to ${signer}, not the relay address ${relayAddress}`);
}

function view(record: MessageRecord): MessageStatus {
  return {
    messageId: record.messageId,
    state: record.state,
    srcChainId: record.srcChainId,
    dstChainId: record.dstChainId,
    sourceTxHash: record.txHash,
    blockNumber: record.blockNumber,
    deliveryTxHash: record.deliveryTxHash ?? null,
    attempts: record.attempts,
    extraGas: record.extraGas,
    lastError: record.lastError ?? null,
    batched: record.batchIds !== undefined,
    signers: record.signers ?? null,
    history: record.history,
  };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function short(error: unknown): string {
  const text = error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error);
  return text.split("\n")[0]!.slice(0, 300);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
