/**
 * Typed client for dapp developers, on top of viem clients: quote the fee, send a message, top up
 * its gas, read its status on the source, the target and (optionally) a relayer's API, and wait for
 * delivery.
 *
 *   const relay = new MpcRelayClient({ source: { publicClient, walletClient, gateway },
 *                                      destinations: { [dstChainId]: { publicClient: dst, gateway: target } } });
 *   const sent = await relay.send({ dstChainId, receiver, payload, gasLimit: 200_000n });
 *   await relay.waitForDelivery(sent.messageId);
 */
import {
  getAddress,
  parseEventLogs,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { sourceGatewayAbi, targetGatewayAbi } from "./abi.ts";
import { decodeMessageSent, messageId as idOf, type Message } from "./message.ts";

export type TargetDeliveryState = "unreceived" | "delivered" | "failed" | "abandoned";

export interface SentMessageInfo {
  messageId: Hex;
  message: Message;
  fee: bigint;
  txHash: Hex;
  blockNumber: bigint;
}

export interface MessageStatusView {
  messageId: Hex;
  /** Whether the source gateway emitted it. */
  sent: boolean;
  /** The target gateway's view, when a destination client is configured and the message is known. */
  target: TargetDeliveryState | null;
  /** The relayer's record (seen/final/attested/delivered/failed/retried/...), when a relayer API is configured. */
  relayer: { state: string; history: unknown[]; deliveryTxHash: Hex | null; lastError: string | null } | null;
}

export interface MpcRelayClientOptions {
  source: { publicClient: PublicClient; walletClient?: WalletClient<Transport, Chain | undefined, Account | undefined>; gateway: Address; fromBlock?: bigint };
  destinations?: Record<number, { publicClient: PublicClient; gateway: Address }>;
  /** Base URL of a relayer's status API (e.g. http://127.0.0.1:7600). */
  relayerApi?: string;
}

export class MessageAbandoned extends Error {
  constructor(readonly messageId: Hex) {
    super(`message ${messageId} was abandoned by its receiver`);
    this.name = "MessageAbandoned";
  }
}

export class MpcRelayClient {
  private readonly sourceGateway: Address;

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
    const hash = await wallet.writeContract({ address: this.sourceGateway, abi: sourceGatewayAbi, functionName: "addGas", args: [messageId, extraGas], value, account: wallet.account!, chain: wallet.chain });
    const receipt = await this.options.source.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (receipt.status !== "success") throw new Error(`addGas transaction ${hash} reverted`);
    return hash;
  }

  /** The message a source gateway emitted under this id, or null. */
  async sentMessage(messageId: Hex): Promise<Message | null> {
    const logs = await this.options.source.publicClient.getLogs({
      address: this.sourceGateway,
      event: sourceGatewayAbi.find((item) => item.type === "event" && item.name === "MessageSent") as Extract<(typeof sourceGatewayAbi)[number], { name: "MessageSent" }>,
      args: { messageId },
      fromBlock: this.options.source.fromBlock ?? 0n,
      toBlock: "latest",
    });
    const log = logs[0];
    return log === undefined ? null : decodeMessageSent(log).message;
  }

  /** The target gateway's record of the message (needs a destination client for its chain). */
  async targetState(message: Message): Promise<TargetDeliveryState> {
    const destination = this.options.destinations?.[Number(message.dstChainId)];
    if (destination === undefined) throw new Error(`no destination client for chain ${message.dstChainId}`);
    const gateway = getAddress(destination.gateway);
    const received = await destination.publicClient.readContract({ address: gateway, abi: targetGatewayAbi, functionName: "isReceived", args: [message.srcChainId, message.srcGateway, message.nonce] });
    if (!received) return "unreceived";
    const failed = await destination.publicClient.readContract({ address: gateway, abi: targetGatewayAbi, functionName: "failedState", args: [idOf(message)] });
    return failed === 1 ? "failed" : failed === 2 ? "abandoned" : "delivered";
  }

  /** Everything known about a message: source, target and relayer views. */
  async status(messageId: Hex): Promise<MessageStatusView> {
    const message = await this.sentMessage(messageId);
    const target = message !== null && this.options.destinations?.[Number(message.dstChainId)] !== undefined ? await this.targetState(message) : null;
    let relayer: MessageStatusView["relayer"] = null;
    if (this.options.relayerApi !== undefined) {
      const response = await fetch(`${this.options.relayerApi.replace(/\/$/, "")}/v1/messages/${messageId.toLowerCase()}`);
      if (response.ok) relayer = (await response.json()) as MessageStatusView["relayer"];
      else if (response.status !== 404) throw new Error(`relayer API answered ${response.status}`);
    }
    return { messageId, sent: message !== null, target, relayer };
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

  private wallet(): WalletClient<Transport, Chain | undefined, Account | undefined> {
    const wallet = this.options.source.walletClient;
    if (wallet === undefined || wallet.account === undefined) throw new Error("sending needs a walletClient with an account");
    return wallet;
  }
}
