/**
 * Watches one SourceGateway. Logs above the finality depth are recorded as "seen" with their block
 * hash; once their block is deep enough and the log is still there they become "final"; a seen log
 * that disappears (reorg) is "dropped". The cursor is the last block whose logs were all handled as
 * final, written atomically with those records, so a restart re-scans from it without loss or double
 * counting (GasAdded top-ups included).
 */
import { getAddress, parseAbiItem, type Address, type Hex, type PublicClient } from "viem";
import { decodeMessageSent, messageToJson } from "@mpc-relay/sdk";
import type { RelayerChainConfig } from "./config.ts";
import type { RelayLogger } from "./log.ts";
import { transition, type MessageRecord, type RelayStore } from "./store.ts";

const messageSentEvent = parseAbiItem(
  "event MessageSent(bytes32 indexed messageId, uint64 indexed dstChainId, address indexed sender, (uint64 nonce, uint64 srcChainId, address srcGateway, address sender, uint64 dstChainId, address receiver, uint64 gasLimit, bytes payload) message, uint256 fee)",
);
const gasAddedEvent = parseAbiItem("event GasAdded(bytes32 indexed messageId, uint64 extraGas, uint256 fee)");

export interface WatcherHooks {
  /** The record of a message id, from the relayer's memory or store. */
  lookup(messageId: Hex): Promise<MessageRecord | null>;
  /** Records changed by a scan (already committed to the store). */
  changed(records: MessageRecord[]): void;
  isRoutable(dstChainId: number): boolean;
}

export class SourceWatcher {
  readonly chainId: number;
  private readonly gateway: Address;
  /** Seen-but-not-final records of this chain. */
  private readonly unfinal = new Map<Hex, MessageRecord>();

  constructor(
    private readonly chain: RelayerChainConfig,
    private readonly client: PublicClient,
    private readonly store: RelayStore,
    private readonly hooks: WatcherHooks,
    private readonly log: RelayLogger,
  ) {
    this.chainId = chain.chainId;
    this.gateway = getAddress(chain.sourceGateway);
  }

  /** Restores the seen records after a restart. */
  adopt(record: MessageRecord): void {
    if (record.srcChainId === this.chainId && record.state === "seen") this.unfinal.set(record.messageId, record);
  }

  async poll(): Promise<void> {
    const head = Number(await this.client.getBlockNumber());
    const cursor = (await this.store.cursor(this.chainId)) ?? this.chain.fromBlock - 1;
    if (head <= cursor) return;
    const finalHead = head - this.chain.confirmations + 1;
    let from = cursor + 1;
    while (from <= head) {
      const to = Math.min(head, from + this.chain.maxBlockRange - 1);
      await this.scan(from, to, finalHead);
      from = to + 1;
    }
  }

  /** One getLogs range: new messages, reorged-away ones, finality, and final GasAdded top-ups. */
  private async scan(from: number, to: number, finalHead: number): Promise<void> {
    const logs = await this.client.getLogs({ address: this.gateway, events: [messageSentEvent, gasAddedEvent], fromBlock: BigInt(from), toBlock: BigInt(to) });
    const changed = new Map<Hex, MessageRecord>();
    const present = new Set<Hex>();
    const now = Date.now();
    for (const log of logs) {
      if (log.removed || log.blockNumber === null || log.blockHash === null || log.transactionHash === null || log.logIndex === null) continue;
      const blockNumber = Number(log.blockNumber);
      const isFinal = blockNumber <= finalHead;
      if (log.eventName === "GasAdded") {
        if (!isFinal) continue; // handled when final, exactly once, together with the cursor
        const id = log.args.messageId!;
        const record = changed.get(id) ?? (await this.hooks.lookup(id));
        if (record === null) continue;
        record.extraGas = (BigInt(record.extraGas) + BigInt(log.args.extraGas!)).toString();
        record.attempts = 0;
        record.nextAttemptAt = now;
        record.history.push({ state: record.state, at: now, detail: `gas topped up by ${log.args.extraGas} (tx ${log.transactionHash})` });
        changed.set(id, record);
        continue;
      }
      let sent;
      try {
        sent = decodeMessageSent({ data: log.data, topics: log.topics });
      } catch (error) {
        this.log.warn("undecodable MessageSent log skipped", { chainId: this.chainId, tx: log.transactionHash, error: String(error) });
        continue;
      }
      const id = sent.messageId;
      present.add(id);
      const dstChainId = Number(sent.message.dstChainId);
      if (sent.message.srcChainId !== BigInt(this.chainId) || !this.hooks.isRoutable(dstChainId)) {
        this.log.warn("message for an unconfigured route ignored", { messageId: id, srcChainId: this.chainId, dstChainId });
        continue;
      }
      let record = changed.get(id) ?? this.unfinal.get(id) ?? (await this.hooks.lookup(id));
      if (record === null) {
        record = {
          messageId: id,
          srcChainId: this.chainId,
          dstChainId,
          message: messageToJson(sent.message),
          txHash: log.transactionHash,
          logIndex: log.logIndex,
          blockNumber,
          blockHash: log.blockHash,
          state: "seen",
          extraGas: "0",
          attempts: 0,
          nextAttemptAt: now,
          history: [],
          updatedAt: now,
        };
        transition(record, "seen", `block ${blockNumber}`);
        changed.set(id, record);
      } else if ((record.state === "seen" && record.blockHash !== log.blockHash) || record.state === "dropped") {
        // Re-mined in another block after a reorg: track the new block.
        record.blockHash = log.blockHash;
        record.blockNumber = blockNumber;
        record.txHash = log.transactionHash;
        record.logIndex = log.logIndex;
        transition(record, "seen", `re-included in block ${blockNumber}`);
        changed.set(id, record);
      }
      if (record.state === "seen" && isFinal) {
        transition(record, "final", `block ${blockNumber} has ${this.chain.confirmations} confirmation(s)`);
        record.nextAttemptAt = now;
        changed.set(id, record);
      }
    }
    // Seen logs of this range that the chain no longer has were reorged out.
    for (const record of this.unfinal.values()) {
      if (record.blockNumber < from || record.blockNumber > to || present.has(record.messageId)) continue;
      transition(record, "dropped", `log vanished from block ${record.blockNumber} (reorg)`);
      changed.set(record.messageId, record);
    }
    const records = [...changed.values()];
    const cursor = Math.min(to, finalHead);
    await this.store.commit(records, cursor >= from ? { chainId: this.chainId, block: cursor } : undefined);
    for (const record of records) {
      if (record.state === "seen") this.unfinal.set(record.messageId, record);
      else this.unfinal.delete(record.messageId);
    }
    if (records.length > 0) this.hooks.changed(records);
  }
}
