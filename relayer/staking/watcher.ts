/**
 * Fraud-proof watcher: looks at every delivery on every watched chain's
 * TargetGateway and, for a message whose source chain is watched too (has a
 * SourceGateway and a RelayStaking), asks the source gateway whether it was
 * ever sent. A delivered message that was never sent carries a relay
 * signature the committee should not have produced: the watcher takes it
 * from the delivery transaction's calldata and submits proveForgery (or
 * proveForgedBatch) to the source chain's staking contract, slashing the
 * epoch whose relay address signed it.
 *
 * Limits: only direct calls to the gateway are decoded (a delivery made
 * through another contract is reported, not proven), and a batch is proven
 * only when it was delivered whole (an empty multiproof), since a single-leaf
 * proof cannot be rebuilt from the delivered leaves otherwise.
 */
import {
  decodeFunctionData,
  getAddress,
  recoverAddress,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { relayStakingAbi, sourceGatewayAbi, targetGatewayAbi } from "../sdk/abi.ts";
import { MessageBatch, batchDigest, fromCompactSignature, messageDigest, messageId, type Message } from "../sdk/message.ts";

export interface WatchedChain {
  chainId: number;
  client: PublicClient;
  targetGateway: Address;
  /** Present on chains messages are sent from: where forgeries of their messages are proven. */
  source?: { gateway: Address; staking: Address; wallet: WalletClient };
  /** First block to scan. */
  fromBlock: bigint;
}

export interface ForgeryProof {
  messageId: Hex;
  srcChainId: bigint;
  dstChainId: bigint;
  epoch: bigint;
  deliveryTx: Hex;
  proofTx: Hex;
  batch: boolean;
}

export interface WatcherLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
/** Largest block range one scan step asks for. */
const MAX_RANGE = 10_000n;

export class ForgeryWatcher {
  private readonly next = new Map<number, bigint>();

  constructor(
    private readonly chains: readonly WatchedChain[],
    private readonly prover: PrivateKeyAccount,
    private readonly log: WatcherLog,
  ) {
    for (const chain of chains) this.next.set(chain.chainId, chain.fromBlock);
  }

  /** Scans every chain's new blocks once; returns the proofs it submitted. */
  async scan(): Promise<ForgeryProof[]> {
    const proofs: ForgeryProof[] = [];
    for (const chain of this.chains) {
      const from = this.next.get(chain.chainId)!;
      const head = await chain.client.getBlockNumber();
      if (head < from) continue;
      const latest = head - from + 1n > MAX_RANGE ? from + MAX_RANGE - 1n : head;
      const deliveries = await chain.client.getContractEvents({ address: chain.targetGateway, abi: targetGatewayAbi, eventName: "MessageDelivered", fromBlock: from, toBlock: latest });
      const failures = await chain.client.getContractEvents({ address: chain.targetGateway, abi: targetGatewayAbi, eventName: "MessageFailed", fromBlock: from, toBlock: latest });
      const txs = new Set<Hex>([...deliveries, ...failures].map((log) => log.transactionHash));
      for (const hash of txs) proofs.push(...(await this.checkDelivery(chain, hash)));
      this.next.set(chain.chainId, latest + 1n);
    }
    return proofs;
  }

  private async checkDelivery(chain: WatchedChain, hash: Hex): Promise<ForgeryProof[]> {
    const tx = await chain.client.getTransaction({ hash });
    if (tx.to === null || getAddress(tx.to) !== getAddress(chain.targetGateway)) {
      this.log.warn("delivery not made by a direct gateway call; not checked", { chainId: chain.chainId, tx: hash });
      return [];
    }
    const call = decodeFunctionData({ abi: targetGatewayAbi, data: tx.input });
    const proofs: ForgeryProof[] = [];
    if (call.functionName === "receiveMessage") {
      // The gateway takes the relay signature in EIP-2098 compact form; RelayStaking takes the 65-byte form.
      const [message, r, vs] = call.args as readonly [Message, Hex, Hex];
      const signature = fromCompactSignature(r, vs);
      const proof = await this.proveIfUnsent(chain, hash, message, signature, null);
      if (proof !== null) proofs.push(proof);
    } else if (call.functionName === "receiveBatch") {
      const [messages, multiproof, , r, vs] = call.args as readonly [readonly Message[], readonly Hex[], readonly boolean[], Hex, Hex];
      const signature = fromCompactSignature(r, vs);
      for (const message of messages) {
        const proof = await this.proveIfUnsent(chain, hash, message, signature, multiproof.length === 0 ? new MessageBatch(messages) : undefined);
        if (proof !== null) proofs.push(proof);
      }
    }
    return proofs;
  }

  /** `batch`: null for a single delivery, the whole batch when it can be rebuilt, undefined when it cannot. */
  private async proveIfUnsent(chain: WatchedChain, deliveryTx: Hex, message: Message, signature: Hex, batch: MessageBatch | null | undefined): Promise<ForgeryProof | null> {
    const source = this.chains.find((c) => BigInt(c.chainId) === message.srcChainId)?.source;
    if (source === undefined || getAddress(message.srcGateway) !== getAddress(source.gateway)) return null;
    const sourceChain = this.chains.find((c) => BigInt(c.chainId) === message.srcChainId)!;
    const id = messageId(message);
    const sent = await sourceChain.client.readContract({ address: source.gateway, abi: sourceGatewayAbi, functionName: "isSent", args: [id] });
    if (sent) return null;
    if (batch === undefined) {
      this.log.warn("forged message in a partly delivered batch: not provable from its calldata", { messageId: id, tx: deliveryTx });
      return null;
    }
    const digest = batch === null ? messageDigest(message, chain.targetGateway) : batchDigest(batch.root, message.dstChainId, chain.targetGateway);
    const signer = await recoverAddress({ hash: digest, signature });
    const epoch = await this.epochOfRelay(sourceChain.client, source.staking, signer);
    if (epoch === null) {
      this.log.warn("forged message signed by a key no epoch confirmed", { messageId: id, signer, tx: deliveryTx });
      return null;
    }
    const claimed = await sourceChain.client.readContract({ address: source.staking, abi: relayStakingAbi, functionName: "forgeryClaimed", args: [digest] });
    if (claimed) return null;
    const proofTx =
      batch === null
        ? await source.wallet.writeContract({ address: source.staking, abi: relayStakingAbi, functionName: "proveForgery", args: [epoch, message, chain.targetGateway, signature], account: this.prover, chain: null })
        : await source.wallet.writeContract({
            address: source.staking,
            abi: relayStakingAbi,
            functionName: "proveForgedBatch",
            args: [epoch, message, chain.targetGateway, batch.root, batch.tree.getProof([id]) as Hex[], signature],
            account: this.prover,
            chain: null,
          });
    const receipt = await sourceChain.client.waitForTransactionReceipt({ hash: proofTx });
    if (receipt.status !== "success") throw new Error(`forgery proof reverted (${proofTx})`);
    this.log.warn("forgery proven", { messageId: id, epoch: epoch.toString(), signer, deliveryTx, proofTx });
    return { messageId: id, srcChainId: message.srcChainId, dstChainId: message.dstChainId, epoch, deliveryTx, proofTx, batch: batch !== null };
  }

  /** The newest epoch whose confirmed relay address is `signer`. */
  private async epochOfRelay(client: PublicClient, staking: Address, signer: Address): Promise<bigint | null> {
    const latest = await client.readContract({ address: staking, abi: relayStakingAbi, functionName: "latestEpoch" });
    for (let epoch = latest; epoch >= 1n; epoch--) {
      const relay = await client.readContract({ address: staking, abi: relayStakingAbi, functionName: "relayAddress", args: [epoch] });
      if (relay !== ZERO_ADDRESS && getAddress(relay) === getAddress(signer)) return epoch;
    }
    return null;
  }
}
