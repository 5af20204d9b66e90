/**
 * Delivery to one destination chain's TargetGateway: gas estimation, local nonce management, fee
 * bumping of stuck transactions, and exactly-once semantics on top of the gateway's replay protection
 * (the target's own state is read before sending, and "already received" is an answer, not an error).
 * Transactions are signed either by the relayer's own funded key (permissionless) or by the MPC
 * network as EIP-1559 transactions from the relay address itself.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  decodeEventLog,
  encodeFunctionData,
  serializeTransaction,
  type Address,
  type Hex,
  type PrivateKeyAccount,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import { targetGatewayAbi, messageId, readTargetState, toCompactSignature, type Message, type TargetDeliveryState } from "@mpc-relay/sdk";
import type { MpcClient, SourceBlocks } from "./attestor.ts";
import type { RelayerChainConfig, RelayerConfig } from "./config.ts";
import type { RelayLogger } from "./log.ts";

/** What the target gateway knows about a message. */

export type DeliveryOutcome = { state: Exclude<TargetDeliveryState, "unreceived">; txHash: Hex | null };

/** Gas a retry transaction needs beyond what it forwards to the receiver (intrinsic, calldata, gateway). */
const RETRY_OVERHEAD_GAS = 60_000n;
/** Gateway work per batched message besides the receiver's own gas (hashing, proof, replay bit, failed-state slot, event). */
const BATCH_MESSAGE_OVERHEAD_GAS = 60_000n;

/** The most gas one message of a batch can cost: what its receiver may use, the gateway's work and its calldata. */
export function batchMessageGas(message: { gasLimit: bigint | string; payload: Hex }): bigint {
  const payloadBytes = BigInt((message.payload.length - 2) / 2);
  return (BigInt(message.gasLimit) * 64n) / 63n + BATCH_MESSAGE_OVERHEAD_GAS + 16n * (payloadBytes + 512n);
}
/** Intrinsic gas of calldata: 16 per non-zero byte, 4 per zero byte. */
function calldataGas(data: Hex): bigint {
  let gas = 0n;
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === "00" ? 4n : 16n;
  return gas;
}

/** EIP-7825 per-transaction gas cap. */
const TX_GAS_CAP = 16_777_216n;
const RECEIPT_POLL_MS = 100;

export type Signer = { kind: "local"; account: PrivateKeyAccount } | { kind: "mpc"; mpc: MpcClient; address: Address };

export class RevertedWith extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = "RevertedWith";
  }
}

/** The custom error name of a reverted call/estimate, if the node reported one. */
export function revertName(error: unknown): string | null {
  if (!(error instanceof BaseError)) return null;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return reverted instanceof ContractFunctionRevertedError ? (reverted.data?.errorName ?? null) : null;
}

export class ChainSubmitter {
  readonly chainId: number;
  readonly targetGateway: Address;
  private nonce: number | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  private halted = false;
  /** Every mined delivery or retry transaction of this submitter (for the gas-spent metrics). */
  onReceipt: (receipt: TransactionReceipt) => void = () => {};

  constructor(
    chain: RelayerChainConfig,
    private readonly client: PublicClient,
    private readonly signer: Signer,
    private readonly delivery: RelayerConfig["delivery"],
    private readonly log: RelayLogger,
  ) {
    this.chainId = chain.chainId;
    this.targetGateway = chain.targetGateway as Address;
  }

  /** Stops waiting for receipts (the relayer is shutting down; the persisted pending tx is checked on restart). */
  halt(): void {
    this.halted = true;
  }

  get from(): Address {
    return this.signer.kind === "local" ? this.signer.account.address : this.signer.address;
  }

  targetState(message: Message): Promise<TargetDeliveryState> {
    return readTargetState(this.client, this.targetGateway, message);
  }

  /**
   * receiveMessage with the relay's 65-byte signature (sent in EIP-2098 compact form); per message id the outcome the target recorded.
   * `source` (here and below): where the messages' logs are, for the MPC nodes to check a relay-address transaction.
   */
  async deliverOne(message: Message, signature: Hex, onSent: (hash: Hex, nonce: number) => Promise<void>, source?: SourceBlocks): Promise<DeliveryOutcome> {
    const data = encodeFunctionData({ abi: targetGatewayAbi, functionName: "receiveMessage", args: [message, ...toCompactSignature(signature)] });
    const outcomes = await this.deliverData(data, [message], onSent, source);
    return outcomes.get(messageId(message))!;
  }

  /**
   * receiveBatch over a multiproof of `messages` (already in leaf order). `optimistic` (a batch just
   * attested and checked against the relay key) skips the simulation and sends with the batch's
   * upper-bound gas: unused gas is not paid for, and a failed attempt falls back to simulating.
   * `signature` is the relay's 65-byte signature, sent in EIP-2098 compact form.
   */
  async deliverBatch(
    messages: Message[],
    proof: Hex[],
    proofFlags: boolean[],
    signature: Hex,
    onSent: (hash: Hex, nonce: number) => Promise<void>,
    optimistic = false,
    source?: SourceBlocks,
  ): Promise<Map<Hex, DeliveryOutcome>> {
    const data = encodeFunctionData({ abi: targetGatewayAbi, functionName: "receiveBatch", args: [messages, proof, proofFlags, ...toCompactSignature(signature)] });
    if (!optimistic) return this.deliverData(data, messages, onSent, source);
    const bound = messages.reduce((sum, m) => sum + batchMessageGas(m), 21_000n + 16n * BigInt((data.length - 2) / 2));
    const receipt = await this.send(data, min(bound, TX_GAS_CAP), onSent, source);
    return this.outcomesFromTarget(messages, receipt);
  }

  /**
   * retryMessage with at most the gas the sender paid for (gasLimit plus top-ups) plus overhead.
   * Returns null when the receiver would still revert within that budget (wait and retry, or wait for addGas).
   */
  async retry(message: Message, extraGas: bigint, onSent: (hash: Hex, nonce: number) => Promise<void>, source?: SourceBlocks): Promise<DeliveryOutcome | { state: "stillFailing"; reason: string }> {
    const data = encodeFunctionData({ abi: targetGatewayAbi, functionName: "retryMessage", args: [message] });
    // The gateway forwards at least the whole limit on a retry too, and the calldata (the message) costs besides.
    const cap = ((message.gasLimit + extraGas) * 64n) / 63n + RETRY_OVERHEAD_GAS + calldataGas(data);
    let estimate: bigint;
    try {
      estimate = await this.client.estimateContractGas({ address: this.targetGateway, abi: targetGatewayAbi, functionName: "retryMessage", args: [message], account: this.from });
    } catch (error) {
      const name = revertName(error);
      if (name === "NotFailed") return { state: (await this.targetState(message)) as Exclude<TargetDeliveryState, "unreceived">, txHash: null };
      return { state: "stillFailing", reason: name ?? shortError(error) };
    }
    if (estimate > cap) return { state: "stillFailing", reason: `receiver needs ${estimate} gas, more than the ${cap} paid for (top up with addGas)` };
    const gas = min((estimate * BigInt(this.delivery.gasHeadroomPct)) / 100n, cap);
    const receipt = await this.send(data, gas, onSent, source);
    const id = messageId(message);
    if (receipt.status === "success" && this.deliveredIds(receipt).has(id)) return { state: "delivered", txHash: receipt.transactionHash };
    return { state: "stillFailing", reason: `retry transaction ${receipt.transactionHash} reverted` };
  }

  /**
   * Gives a transaction sent before a restart the usual time to be mined, so it is not raced by a
   * second one (which would only revert as already received, but costs gas).
   */
  async settlePending(hash: Hex): Promise<void> {
    await this.waitForAny([hash], this.delivery.receiptTimeoutMs);
  }

  private async deliverData(data: Hex, messages: Message[], onSent: (hash: Hex, nonce: number) => Promise<void>, source?: SourceBlocks): Promise<Map<Hex, DeliveryOutcome>> {
    // The gateway needs gasLimit*64/63 + reserve left when it calls each receiver; never send less.
    const reservation = messages.reduce((most, m) => max(most, (m.gasLimit * 64n) / 63n + 10_000n), 0n);
    const floor = reservation + 60_000n;
    let gas: bigint;
    try {
      // One execution instead of estimateGas's binary search: execution may consume up to a quarter
      // more than the refunded gasUsed, and the reservation keeps every receiver call's gas check met.
      const { gasUsed } = await this.client.createAccessList({ account: this.from, to: this.targetGateway, data });
      gas = (gasUsed * 5n) / 4n + reservation;
    } catch {
      // Reverts (or a node without eth_createAccessList): estimateGas names the revert.
      const estimate = await this.estimateDelivery(data, messages);
      if (estimate === "alreadyReceived") return this.outcomesFromTarget(messages, null);
      gas = (estimate * BigInt(this.delivery.gasHeadroomPct)) / 100n;
    }
    gas = min(max(gas, floor), TX_GAS_CAP);
    const receipt = await this.send(data, gas, onSent, source);
    if (receipt.status !== "success") {
      this.log.warn("delivery transaction reverted; reading the target's state", { chainId: this.chainId, tx: receipt.transactionHash });
    }
    return this.outcomesFromTarget(messages, receipt);
  }

  /** estimateGas, or a simulation with a generous budget where the node cannot estimate; throws RevertedWith on a revert. */
  private async estimateDelivery(data: Hex, messages: Message[]): Promise<bigint | "alreadyReceived"> {
    try {
      return await this.client.estimateGas({ account: this.from, to: this.targetGateway, data });
    } catch (error) {
      const name = revertName(error) ?? revertNameFromData(error);
      if (name === "AlreadyReceived") return "alreadyReceived";
      if (name !== null) throw new RevertedWith(name, `delivery would revert: ${name}`);
    }
    // Some nodes refuse to estimate when a receiver runs out of its own gas limit (which the gateway
    // records as a failed message). Simulate with the most the messages can need; a real revert still shows.
    const budget = min(
      messages.reduce((sum, m) => sum + batchMessageGas(m), 21_000n + 16n * BigInt((data.length - 2) / 2)),
      TX_GAS_CAP,
    );
    try {
      await this.client.call({ account: this.from, to: this.targetGateway, data, gas: budget });
    } catch (callError) {
      const callName = revertName(callError) ?? revertNameFromData(callError);
      if (callName === "AlreadyReceived") return "alreadyReceived";
      throw new RevertedWith(callName ?? "unknown", `delivery would revert: ${callName ?? shortError(callError)}`);
    }
    return budget;
  }

  /** Per message, what the target recorded: from the receipt's events, else from the target's state. */
  private async outcomesFromTarget(messages: Message[], receipt: TransactionReceipt | null): Promise<Map<Hex, DeliveryOutcome>> {
    const delivered = receipt?.status === "success" ? this.deliveredIds(receipt) : new Set<Hex>();
    const failed = receipt?.status === "success" ? this.failedIds(receipt) : new Set<Hex>();
    const outcomes = new Map<Hex, DeliveryOutcome>();
    for (const message of messages) {
      const id = messageId(message);
      if (delivered.has(id)) outcomes.set(id, { state: "delivered", txHash: receipt!.transactionHash });
      else if (failed.has(id)) outcomes.set(id, { state: "failed", txHash: receipt!.transactionHash });
      else {
        const state = await this.targetState(message);
        if (state === "unreceived") throw new Error(`message ${id} is still not received on chain ${this.chainId}${receipt === null ? "" : ` after ${receipt.transactionHash}`}`);
        outcomes.set(id, { state, txHash: null });
      }
    }
    return outcomes;
  }

  private deliveredIds(receipt: TransactionReceipt): Set<Hex> {
    return this.eventIds(receipt, "MessageDelivered");
  }

  private failedIds(receipt: TransactionReceipt): Set<Hex> {
    return this.eventIds(receipt, "MessageFailed");
  }

  private eventIds(receipt: TransactionReceipt, eventName: "MessageDelivered" | "MessageFailed"): Set<Hex> {
    const ids = new Set<Hex>();
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.targetGateway.toLowerCase()) continue;
      try {
        const decoded = decodeEventLog({ abi: targetGatewayAbi, data: log.data, topics: log.topics });
        if (decoded.eventName === eventName) ids.add((decoded.args as { messageId: Hex }).messageId);
      } catch {
        // another event of the gateway
      }
    }
    return ids;
  }

  /** Sends with a fresh nonce, then replaces it with higher fees while no version of it is mined. */
  private async send(data: Hex, gas: bigint, onSent: (hash: Hex, nonce: number) => Promise<void>, source?: SourceBlocks): Promise<TransactionReceipt> {
    const maxFeeCap = BigInt(this.delivery.maxFeePerGasWei);
    const fees = await this.client.estimateFeesPerGas();
    let maxFeePerGas = min(fees.maxFeePerGas, maxFeeCap);
    let maxPriorityFeePerGas = min(fees.maxPriorityFeePerGas, maxFeePerGas);
    const { hash, nonce } = await this.exclusive(async () => {
      const nonce = this.nonce ?? (await this.client.getTransactionCount({ address: this.from, blockTag: "pending" }));
      try {
        const hash = await this.signAndSend({ nonce, data, gas, maxFeePerGas, maxPriorityFeePerGas }, source);
        this.nonce = nonce + 1;
        return { hash, nonce };
      } catch (error) {
        this.nonce = null; // re-read from the chain next time
        throw error;
      }
    });
    await onSent(hash, nonce);
    const hashes = [hash];
    for (;;) {
      const receipt = await this.waitForAny(hashes, this.delivery.receiptTimeoutMs);
      if (receipt !== null) {
        this.onReceipt(receipt);
        return receipt;
      }
      // Stuck: the same nonce again with higher fees (nodes require a bump to replace).
      const bump = BigInt(this.delivery.feeBumpPct);
      maxFeePerGas = min((maxFeePerGas * bump) / 100n + 1n, maxFeeCap);
      maxPriorityFeePerGas = min((maxPriorityFeePerGas * bump) / 100n + 1n, maxFeePerGas);
      try {
        const replacement = await this.signAndSend({ nonce, data, gas, maxFeePerGas, maxPriorityFeePerGas }, source);
        hashes.push(replacement);
        await onSent(replacement, nonce);
        this.log.warn("transaction stuck; replaced with higher fees", { chainId: this.chainId, nonce, hash: replacement, maxFeePerGas });
      } catch (error) {
        // "nonce too low": one of the versions was mined meanwhile; the next wait finds it.
        this.log.debug("replacement not accepted", { chainId: this.chainId, nonce, error: shortError(error) });
      }
    }
  }

  private async signAndSend(tx: { nonce: number; data: Hex; gas: bigint; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }, source?: SourceBlocks): Promise<Hex> {
    const unsigned = { type: "eip1559" as const, chainId: this.chainId, to: this.targetGateway, value: 0n, ...tx };
    let raw: Hex;
    if (this.signer.kind === "local") {
      raw = await this.signer.account.signTransaction(unsigned);
    } else {
      const signed = await this.signer.mpc.sign({
        type: "relayTransaction",
        chainId: this.chainId,
        nonce: tx.nonce,
        to: this.targetGateway,
        data: tx.data,
        value: "0",
        gas: tx.gas.toString(),
        maxFeePerGas: tx.maxFeePerGas.toString(),
        maxPriorityFeePerGas: tx.maxPriorityFeePerGas.toString(),
        ...(source === undefined ? {} : { sourceBlocks: source }),
      });
      raw = serializeTransaction(unsigned, { r: signed.r, s: signed.s, yParity: signed.v - 27 });
    }
    return this.client.sendRawTransaction({ serializedTransaction: raw });
  }

  private async waitForAny(hashes: Hex[], timeoutMs: number): Promise<TransactionReceipt | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.halted) throw new Error("relayer stopping");
      for (const hash of hashes) {
        const receipt = await this.client.getTransactionReceipt({ hash }).catch(() => null);
        if (receipt !== null) return receipt;
      }
      await new Promise((r) => setTimeout(r, RECEIPT_POLL_MS));
    }
    return null;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task, task);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

function revertNameFromData(error: unknown): string | null {
  // estimateGas (no ABI) leaves the raw revert data in the error; decode it against the gateway's errors.
  if (!(error instanceof BaseError)) return null;
  const withData = error.walk((e) => typeof (e as { data?: unknown }).data === "string") as { data?: Hex } | null;
  if (withData?.data === undefined) return null;
  try {
    return decodeErrorResult({ abi: targetGatewayAbi, data: withData.data }).errorName;
  } catch {
    return null;
  }
}

function shortError(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
