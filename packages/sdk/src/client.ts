/**
 * Typed client for dapp developers, on top of viem clients: quote the fee, send a message, top up
 * its gas, ask its one status (status.ts: source, target and, optionally, a relayer's API merged),
 * retry or abandon a failed one, and wait for delivery.
 *
 *   const relay = new MpcRelayClient({ source: { publicClient, walletClient, gateway, fromBlock },
 *                                      destinations: { [dstChainId]: { publicClient: dst, gateway: target, walletClient } } });
 *   const sent = await relay.send({ dstChainId, receiver, payload, gasLimit: 200_000n });
 *   await relay.waitForDelivery(sent.messageId);
 *   const { state } = await relay.status(sent.messageId);   // "sent" | "final" | "attested" | "delivered" | ...
 */
import {
  encodeEventTopics,
  getAddress,
  parseEventLogs,
  zeroAddress,
  BaseError,
  ContractFunctionRevertedError,
  TransactionReceiptNotFoundError,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type Log,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { sourceGatewayAbi, targetGatewayAbi } from "./abi.ts";
import { finalBlock, type SourceFinality } from "./finality.ts";
import { DestinationNotConfiguredError, GatewayCallRevertedError, MessageNotFoundError, MpcRelayError, NoMessageInTransactionError } from "./errors.ts";
import { LogScanner, type LogScanOptions } from "./logs.ts";
import { decodeMessageSent, messageId as idOf, type Message } from "./message.ts";
import { decodeRevertReason, type DecodedRevert } from "./revert.ts";
import { mergeStatus, relayerView, type MessageStatus, type SourceView, type TargetDeliveryState, type TargetView } from "./status.ts";

export type { MessageLifecycle, MessageStatus, RelayerView, SourceView, TargetDeliveryState, TargetView } from "./status.ts";
export type { DecodedRevert } from "./revert.ts";
export type { SourceFinality } from "./finality.ts";
export { decodeRevertReason } from "./revert.ts";
export * from "./errors.ts";

type Wallet = WalletClient<Transport, Chain | undefined, Account | undefined>;

export interface SentMessageInfo {
  messageId: Hex;
  message: Message;
  fee: bigint;
  txHash: Hex;
  blockNumber: bigint;
}

/** A MessageSent log found on the source chain. */
export interface LocatedMessage {
  messageId: Hex;
  message: Message;
  txHash: Hex;
  blockNumber: bigint;
  logIndex: number;
}

export interface MpcRelayClientOptions {
  /** fromBlock (the gateway's deployment block), maxBlockRange and maxLogCalls bound the log scans (logs.ts). */
  source: { publicClient: PublicClient; walletClient?: Wallet; gateway: Address; finality?: SourceFinality } & LogScanOptions;
  /** A walletClient is needed for retry() and abandon() on that chain. */
  destinations?: Record<number, { publicClient: PublicClient; gateway: Address; walletClient?: Wallet } & LogScanOptions>;
  /** Base URL of a relayer's status API (e.g. http://127.0.0.1:7600). Optional: status() works without it. */
  relayerApi?: string;
  relayerTimeoutMs?: number;
  /** Receivers' custom errors, to decode their revert reasons (Error(string) and Panic need nothing). */
  errorAbi?: Abi;
}

export class MessageAbandoned extends Error {
  constructor(readonly messageId: Hex) {
    super(`message ${messageId} was abandoned by its receiver`);
    this.name = "MessageAbandoned";
  }
}

const MESSAGE_SENT_TOPIC = encodeEventTopics({ abi: sourceGatewayAbi, eventName: "MessageSent" })[0]!;
const TARGET_EVENT_TOPICS = (["MessageDelivered", "MessageFailed", "MessageAbandoned"] as const).map((eventName) => encodeEventTopics({ abi: targetGatewayAbi, eventName } as never)[0]!) as Hex[];

/** A TargetGateway's record of `message`: not received, or delivered, failed (retryable) or abandoned. */
export async function readTargetState(client: PublicClient, gateway: Address, message: Message): Promise<TargetDeliveryState> {
  const received = await client.readContract({ address: gateway, abi: targetGatewayAbi, functionName: "isReceived", args: [message.srcChainId, message.srcGateway, message.nonce] });
  if (!received) return "unreceived";
  const failed = await client.readContract({ address: gateway, abi: targetGatewayAbi, functionName: "failedState", args: [idOf(message)] });
  return failed === 1 ? "failed" : failed === 2 ? "abandoned" : "delivered";
}

export class MpcRelayClient {
  private readonly sourceGateway: Address;
  /** One scanner per chain, so a range a provider refused is remembered across look-ups. */
  private readonly scanners: Partial<Record<number | "source", LogScanner>> = {};

  constructor(private readonly options: MpcRelayClientOptions) {
    this.sourceGateway = getAddress(options.source.gateway);
  }

  /** Fee in wei SourceGateway charges for this message. */
  quoteFee(p: { dstChainId: bigint | number; payload: Hex; gasLimit: bigint }): Promise<bigint> {
    return this.options.source.publicClient.readContract({
      address: this.sourceGateway,
      abi: sourceGatewayAbi,
      functionName: "quoteFee",
      args: [BigInt(p.dstChainId), BigInt((p.payload.length - 2) / 2), p.gasLimit],
    });
  }

  /** Sends a message paying the quoted fee (or `value`), waits for the receipt and returns the emitted message. */
  async send(p: { dstChainId: bigint | number; receiver: Address; payload: Hex; gasLimit: bigint; value?: bigint }): Promise<SentMessageInfo> {
    const wallet = this.wallet();
    const value = p.value ?? (await this.quoteFee(p));
    const hash = await wallet.writeContract({
      address: this.sourceGateway,
      abi: sourceGatewayAbi,
      functionName: "sendMessage",
      args: [BigInt(p.dstChainId), getAddress(p.receiver), p.payload, p.gasLimit],
      value,
      account: wallet.account!,
      chain: wallet.chain,
    });
    const receipt = await this.options.source.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (receipt.status !== "success") throw new Error(`sendMessage transaction ${hash} reverted`);
    const log = receipt.logs.find((l) => getAddress(l.address) === this.sourceGateway && parseEventLogs({ abi: sourceGatewayAbi, logs: [l], eventName: "MessageSent" }).length === 1);
    if (log === undefined) throw new Error(`transaction ${hash} emitted no MessageSent`);
    const sent = decodeMessageSent(log);
    return { ...sent, txHash: hash, blockNumber: receipt.blockNumber };
  }

  quoteAddGas(messageId: Hex, extraGas: bigint): Promise<bigint> {
    return this.options.source.publicClient.readContract({ address: this.sourceGateway, abi: sourceGatewayAbi, functionName: "quoteAddGas", args: [messageId, extraGas] });
  }

  /** Buys `extraGas` more destination gas for a sent message (the relayer retries a failed delivery with it). */
  async addGas(messageId: Hex, extraGas: bigint): Promise<Hex> {
    const wallet = this.wallet();
    const value = await this.quoteAddGas(messageId, extraGas);
    const hash = await wallet.writeContract({
      address: this.sourceGateway,
      abi: sourceGatewayAbi,
      functionName: "addGas",
      args: [messageId, extraGas],
      value,
      account: wallet.account!,
      chain: wallet.chain,
    });
    const receipt = await this.options.source.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (receipt.status !== "success") throw new Error(`addGas transaction ${hash} reverted`);
    return hash;
  }

  /** The MessageSent log with this id, searched newest first from the head down to source.fromBlock, or null. */
  async findSent(messageId: Hex): Promise<LocatedMessage | null> {
    return (await this.searchSent(messageId)).located;
  }

  /** The message a source gateway emitted under this id, or null. */
  async sentMessage(messageId: Hex): Promise<Message | null> {
    return (await this.findSent(messageId))?.message ?? null;
  }

  /** Every message the source gateway emitted in this transaction, in log order (a dapp may send several in one). */
  async messagesInTransaction(txHash: Hex): Promise<LocatedMessage[]> {
    let receipt;
    try {
      receipt = await this.options.source.publicClient.getTransactionReceipt({ hash: txHash });
    } catch (error) {
      if (error instanceof BaseError && error.walk((e) => e instanceof TransactionReceiptNotFoundError) !== null)
        throw new NoMessageInTransactionError(txHash, "no such transaction (or not mined yet) on the source chain", { cause: error }, true);
      throw error;
    }
    return receipt.logs.map((log) => this.locate(log)).filter((m) => m !== null);
  }

  /** The target gateway's record of the message (needs a destination client for its chain). */
  async targetState(message: Message): Promise<TargetDeliveryState> {
    const destination = this.destination(message, "destination client");
    return readTargetState(destination.publicClient, destination.gateway, message);
  }

  /**
   * The message's one status (status.ts): the source and target chains are read (and must answer);
   * the relayer, if configured, is asked too, and reported unavailable rather than thrown when down.
   */
  async status(messageId: Hex, p: { errorAbi?: Abi } = {}): Promise<MessageStatus> {
    const [located, relayer] = await Promise.all([this.requireSent(messageId), relayerView(this.options.relayerApi, messageId, this.options.relayerTimeoutMs)]);
    return this.statusOf(located, relayer, p.errorAbi);
  }

  /**
   * The status of the messages a source transaction emitted: all of them in log order, or with
   * `index` only the index-th MessageSent of the transaction (0-based, counting MessageSent logs only).
   */
  async statusOfTransaction(txHash: Hex, p: { index?: number; errorAbi?: Abi } = {}): Promise<MessageStatus[]> {
    const all = await this.messagesInTransaction(txHash);
    if (all.length === 0) throw new NoMessageInTransactionError(txHash, `emitted no MessageSent of source gateway ${this.sourceGateway}`);
    const chosen = p.index === undefined ? all : all.slice(p.index, p.index + 1);
    if (chosen.length === 0) throw new NoMessageInTransactionError(txHash, `has ${all.length} MessageSent log(s); there is no index ${p.index}`);
    return Promise.all(chosen.map(async (m) => this.statusOf(m, await relayerView(this.options.relayerApi, m.messageId, this.options.relayerTimeoutMs), p.errorAbi)));
  }

  /**
   * Runs a failed message again through retryMessage (anyone may; the destination walletClient pays
   * at least the message's gasLimit). Simulated first, so a retry that would revert throws
   * GatewayCallRevertedError with the decoded reason and costs nothing.
   */
  async retry(messageId: Hex, p: { errorAbi?: Abi; gas?: bigint } = {}): Promise<Hex> {
    const { message } = await this.requireSent(messageId);
    return this.gatewayCall("retryMessage", message, { address: this.destination(message, "destination client").gateway, abi: targetGatewayAbi, functionName: "retryMessage" }, p);
  }

  /**
   * Gives a failed message up. Only its receiver may (abandonMessage checks msg.sender): with a
   * wallet that is the receiver it calls the gateway; for a receiver contract pass `viaReceiver`,
   * the receiver's own function that takes the message and calls abandonMessage (its access rules apply).
   */
  async abandon(messageId: Hex, p: { viaReceiver?: { abi: Abi; functionName: string }; errorAbi?: Abi; gas?: bigint } = {}): Promise<Hex> {
    const { message } = await this.requireSent(messageId);
    const call =
      p.viaReceiver === undefined
        ? { address: this.destination(message, "destination client").gateway, abi: targetGatewayAbi as Abi, functionName: "abandonMessage" }
        : { address: message.receiver, ...p.viaReceiver };
    return this.gatewayCall("abandonMessage", message, call, p);
  }

  /**
   * Resolves when the target gateway has delivered the message (or, with `acceptFailed`, stored it as
   * failed); rejects if it was abandoned or on timeout.
   */
  async waitForDelivery(messageIdOrSent: Hex | SentMessageInfo, p: { timeoutMs?: number; pollMs?: number; acceptFailed?: boolean } = {}): Promise<TargetDeliveryState> {
    const timeoutMs = p.timeoutMs ?? 120_000;
    const pollMs = p.pollMs ?? 250;
    const deadline = Date.now() + timeoutMs;
    let message = typeof messageIdOrSent === "string" ? null : messageIdOrSent.message;
    const id = typeof messageIdOrSent === "string" ? messageIdOrSent : messageIdOrSent.messageId;
    for (;;) {
      message ??= await this.sentMessage(id);
      if (message !== null) {
        const state = await this.targetState(message);
        if (state === "delivered") return state;
        if (state === "abandoned") throw new MessageAbandoned(id);
        if (state === "failed" && p.acceptFailed === true) return state;
      }
      if (Date.now() > deadline) throw new Error(`message ${id} not delivered within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  private get sourceScanner(): LogScanner {
    return (this.scanners.source ??= new LogScanner(this.options.source.publicClient, this.options.source));
  }

  private targetScanner(chainId: number): LogScanner {
    const destination = this.options.destinations![chainId]!;
    return (this.scanners[chainId] ??= new LogScanner(destination.publicClient, destination));
  }

  private async sourceChainId(): Promise<number> {
    return this.options.source.publicClient.chain?.id ?? (await this.options.source.publicClient.getChainId());
  }

  /** A MessageSent of this client's source gateway, located; null for any other log. */
  private locate(log: { address: Address; data: Hex; topics: readonly Hex[]; transactionHash: Hex | null; blockNumber: bigint | null; logIndex: number | null }): LocatedMessage | null {
    if (getAddress(log.address) !== this.sourceGateway || log.topics[0] !== MESSAGE_SENT_TOPIC || log.transactionHash === null || log.blockNumber === null || log.logIndex === null) return null;
    try {
      const { messageId, message } = decodeMessageSent(log);
      return { messageId, message, txHash: log.transactionHash, blockNumber: log.blockNumber, logIndex: log.logIndex };
    } catch {
      return null; // not a well-formed MessageSent: not a message anyone will deliver
    }
  }

  private async searchSent(messageId: Hex): Promise<{ located: LocatedMessage | null; head: bigint }> {
    const { logs, head } = await this.sourceScanner.findNewest(this.sourceGateway, [MESSAGE_SENT_TOPIC, messageId.toLowerCase() as Hex]);
    // The indexed id only preselects: the id that counts is the one derived from the decoded message.
    const located = logs.map((log) => this.locate(log)).filter((m) => m !== null && m.messageId.toLowerCase() === messageId.toLowerCase());
    return { located: located[located.length - 1] ?? null, head };
  }

  private async requireSent(messageId: Hex): Promise<LocatedMessage> {
    const { located, head } = await this.searchSent(messageId);
    if (located !== null) return located;
    throw new MessageNotFoundError(messageId, { chainId: await this.sourceChainId(), fromBlock: this.sourceScanner.fromBlock, toBlock: head });
  }

  private destination(message: Message, what: string): { publicClient: PublicClient; gateway: Address; walletClient?: Wallet } {
    const destination = this.options.destinations?.[Number(message.dstChainId)];
    if (destination === undefined) throw new DestinationNotConfiguredError(Number(message.dstChainId), what);
    return { ...destination, gateway: getAddress(destination.gateway) };
  }

  private async statusOf(located: LocatedMessage, relayer: MessageStatus["relayer"], errorAbi: Abi | undefined): Promise<MessageStatus> {
    const { message, messageId } = located;
    const finalBlock = await this.finalBlock();
    const source: SourceView = {
      chainId: Number(message.srcChainId),
      txHash: located.txHash,
      blockNumber: located.blockNumber,
      logIndex: located.logIndex,
      finalBlock,
      final: located.blockNumber <= finalBlock,
    };
    const target = await this.targetView(message, messageId, errorAbi ?? this.options.errorAbi);
    return mergeStatus({ messageId, message, source, target, relayer });
  }

  private finalBlock(): Promise<bigint> {
    return finalBlock(this.options.source.publicClient, this.options.source.finality ?? "finalized", { cacheTime: 0 });
  }

  private async targetView(message: Message, messageId: Hex, errorAbi: Abi | undefined): Promise<TargetView> {
    const chainId = Number(message.dstChainId);
    if (this.options.destinations?.[chainId] === undefined) return { kind: "not-configured", chainId };
    const state = await this.targetState(message);
    if (state === "unreceived") return { kind: "read", chainId, state, txHash: null, reason: null, retry: null };
    const destination = this.destination(message, "destination client");
    const { logs } = await this.targetScanner(chainId).findNewest(destination.gateway, [TARGET_EVENT_TOPICS, messageId.toLowerCase() as Hex]);
    const events = parseEventLogs({ abi: targetGatewayAbi, logs: logs as Log[] });
    const newest = events[events.length - 1];
    const failedEvent = [...events].reverse().find((e) => e.eventName === "MessageFailed");
    const reason = failedEvent?.eventName === "MessageFailed" ? decodeRevertReason(failedEvent.args.reason, errorAbi) : null;
    let retry: Extract<TargetView, { kind: "read" }>["retry"] = null;
    if (state === "failed") {
      const error = await this.simulate(
        message,
        { address: destination.gateway, abi: targetGatewayAbi, functionName: "retryMessage" },
        destination.walletClient?.account?.address ?? zeroAddress,
        errorAbi,
      );
      retry = { possible: error === null, error };
    }
    return { kind: "read", chainId, state, txHash: newest?.transactionHash ?? null, reason, retry };
  }

  /** eth_call of `call(message)`: null if it would succeed, else its decoded revert. */
  private async simulate(message: Message, call: { address: Address; abi: Abi; functionName: string }, from: Address, errorAbi: Abi | undefined, gas?: bigint): Promise<DecodedRevert | null> {
    const destination = this.destination(message, "destination client");
    try {
      await destination.publicClient.simulateContract({ ...call, args: [message], account: from, ...(gas === undefined ? {} : { gas }) } as never);
      return null;
    } catch (error) {
      const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
      if (!(reverted instanceof ContractFunctionRevertedError)) throw error;
      return reverted.raw === undefined ? { kind: "raw", data: "0x", summary: reverted.shortMessage } : decodeRevertReason(reverted.raw, errorAbi ?? this.options.errorAbi);
    }
  }

  /** Simulates, then sends `call(message)` from the destination wallet and waits for its receipt. */
  private async gatewayCall(kind: "retryMessage" | "abandonMessage", message: Message, call: { address: Address; abi: Abi; functionName: string }, p: { errorAbi?: Abi; gas?: bigint }): Promise<Hex> {
    const destination = this.destination(message, "destination client");
    const wallet = destination.walletClient;
    if (wallet?.account === undefined) throw new DestinationNotConfiguredError(Number(message.dstChainId), "walletClient with an account");
    const id = idOf(message);
    const reason = await this.simulate(message, call, wallet.account.address, p.errorAbi, p.gas);
    if (reason !== null) throw new GatewayCallRevertedError(kind, id, reason);
    const hash = await wallet.writeContract({ ...call, args: [message], account: wallet.account, chain: wallet.chain, ...(p.gas === undefined ? {} : { gas: p.gas }) } as never);
    const receipt = await destination.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (receipt.status !== "success") throw new GatewayCallRevertedError(kind, id, null, { txHash: hash });
    return hash;
  }

  private wallet(): WalletClient<Transport, Chain | undefined, Account | undefined> {
    const wallet = this.options.source.walletClient;
    if (wallet === undefined || wallet.account === undefined) throw new MpcRelayError("sending needs a source walletClient with an account");
    return wallet;
  }
}
