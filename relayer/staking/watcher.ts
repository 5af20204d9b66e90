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
 * Batches: TargetGateway.receiveBatch takes any subset of a signed batch
 * with an OpenZeppelin multiproof. The watcher replays that multiproof as
 * MerkleProof.processMultiProof does, which yields the signed root and, for
 * every delivered leaf, its plain single-leaf proof (the siblings met on the
 * way up), and proves with proveForgedBatch's single-leaf proof. Rebuilding
 * off chain rather than having RelayStaking verify multiproofs keeps the
 * contract's check to the standard one-path MerkleProof.verify and the proof
 * calldata at log2(batch) hashes, and it loses nothing: a multiproof the
 * gateway accepts consumes every leaf and every intermediate hash exactly
 * once (OpenZeppelin's length and proof-position checks force it), so each
 * delivered member has a path to the root. The contract still verifies the
 * path against the relay-signed root, so a replay bug could only make a
 * proof fail, never prove something false.
 *
 * Cost: every member watches every delivery, so "was it sent?" is answered
 * from the source gateway's MessageSent logs, read once per scan (one query
 * per source chain), and an id leaves that set when its delivery is checked;
 * only an id not found there (sent before the watched range, evicted from a
 * full set, or never sent) costs an isSent call. Logs are read up to the
 * head: a MessageSent log later removed by a reorg deeper than the nodes'
 * confirmations could hide a forged delivery of that very message.
 *
 * Limits: only direct calls to the gateway are decoded (a delivery made
 * through another contract is reported, not proven). A batch root is one
 * signed forgery: once proven, its other unsent members are skipped.
 */
import {
  concat,
  decodeFunctionData,
  getAddress,
  keccak256,
  recoverAddress,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { relayStakingAbi, sourceGatewayAbi, targetGatewayAbi } from "../sdk/abi.ts";
import { confirmSuccess } from "./access.ts";
import { batchDigest, fromCompactSignature, messageDigest, messageId, messageLeaf, type Message } from "../sdk/message.ts";

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

/** A delivered batch member: the root its relay signature covers and the member's single-leaf proof. */
interface BatchMembership {
  root: Hex;
  proof: Hex[];
}

/** The root a multiproof commits to, and a single-leaf proof (for MerkleProof.verify) of each of its leaves. */
export interface ReplayedMultiProof {
  root: Hex;
  /** proofs[i] proves leaves[i]. */
  proofs: Hex[][];
}

/** OpenZeppelin Hashes.commutativeKeccak256: the pair hashed in ascending order. */
function hashPair(a: Hex, b: Hex): Hex {
  return keccak256(BigInt(a) < BigInt(b) ? concat([a, b]) : concat([b, a]));
}

/**
 * Replays an OpenZeppelin multiproof exactly as MerkleProof.processMultiProof consumes it (a queue of the
 * leaves, then the computed hashes; each step pairs the next queue value with either the next queue value or
 * the next proof element) while recording, for every value, the value it was paired with and the hash that
 * pair produced. Walking those links up from a leaf gives its single-leaf proof. Throws on a multiproof
 * processMultiProof would refuse. With the length check passing, using a hash before it is computed is the
 * only way to leave proof hashes unused (OpenZeppelin's final check), so guarding the former covers both;
 * and then every leaf and every hash but the last is consumed exactly once: each leaf's links reach the root.
 */
export function replayMultiProof(leaves: readonly Hex[], proof: readonly Hex[], proofFlags: readonly boolean[]): ReplayedMultiProof {
  const leafCount = leaves.length;
  const steps = proofFlags.length;
  if (leafCount === 0) throw new RangeError("a multiproof needs at least one leaf");
  if (leafCount + proof.length !== steps + 1) {
    throw new RangeError(`invalid multiproof: ${leafCount} leaves + ${proof.length} proof hashes != ${steps} flags + 1`);
  }
  // Values by node: the leaves, then the hash of each step. parent[n] is the step node that consumed node n.
  const values: Hex[] = [...leaves];
  const parent: number[] = new Array<number>(leafCount + steps).fill(-1);
  const sibling: Hex[] = new Array<Hex>(leafCount + steps);
  let leafPos = 0;
  let hashPos = 0;
  let proofPos = 0;
  const nextQueued = (): number => {
    const node = leafPos < leafCount ? leafPos++ : leafCount + hashPos++;
    if (node >= values.length) throw new RangeError("invalid multiproof: a hash is used before it is computed");
    return node;
  };
  for (let step = 0; step < steps; step++) {
    const a = nextQueued();
    const b = proofFlags[step] ? nextQueued() : null;
    let bValue: Hex;
    if (b !== null) {
      bValue = values[b]!;
    } else {
      if (proofPos >= proof.length) throw new RangeError("invalid multiproof: more flags ask for proof hashes than it has");
      bValue = proof[proofPos++]!;
    }
    const node = leafCount + step;
    values.push(hashPair(values[a]!, bValue));
    parent[a] = node;
    sibling[a] = bValue;
    if (b !== null) {
      parent[b] = node;
      sibling[b] = values[a]!;
    }
  }
  const proofs = leaves.map((_, index) => {
    const path: Hex[] = [];
    for (let node = index; parent[node] !== -1; node = parent[node]!) path.push(sibling[node]!);
    return path;
  });
  return { root: values[values.length - 1]!, proofs };
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
/** Largest block range one scan step asks for. */
const MAX_RANGE = 10_000n;
/** Sent ids kept per source chain until their delivery is checked; the oldest go first beyond it (then isSent answers). */
const MAX_SENT_IDS = 200_000;

export class ForgeryWatcher {
  private readonly next = new Map<number, bigint>();
  /** Per source chain: ids from MessageSent logs not yet matched by a delivery, and the next block to read. */
  private readonly sent = new Map<number, { ids: Set<Hex>; next: bigint }>();
  /** How deliveries were found to be sent: from the logs, or by an isSent call. */
  readonly checks = { fromLogs: 0, byCall: 0 };

  constructor(
    private readonly chains: readonly WatchedChain[],
    private readonly prover: PrivateKeyAccount,
    private readonly log: WatcherLog,
  ) {
    for (const chain of chains) {
      this.next.set(chain.chainId, chain.fromBlock);
      if (chain.source !== undefined) this.sent.set(chain.chainId, { ids: new Set(), next: chain.fromBlock });
    }
  }

  /** Scans every chain's new blocks once; returns the proofs it submitted. */
  async scan(): Promise<ForgeryProof[]> {
    const proofs: ForgeryProof[] = [];
    // Sources first: a delivered message was final on its source before any delivery of it was mined.
    for (const chain of this.chains) if (chain.source !== undefined) await this.readSent(chain, chain.source.gateway);
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

  /** Adds the ids of messages sent to a watched chain in the source's new blocks. */
  private async readSent(chain: WatchedChain, gateway: Address): Promise<void> {
    const state = this.sent.get(chain.chainId)!;
    const head = await chain.client.getBlockNumber();
    const watched = new Set(this.chains.map((c) => BigInt(c.chainId)));
    while (state.next <= head) {
      const latest = head - state.next + 1n > MAX_RANGE ? state.next + MAX_RANGE - 1n : head;
      const logs = await chain.client.getContractEvents({ address: gateway, abi: sourceGatewayAbi, eventName: "MessageSent", fromBlock: state.next, toBlock: latest });
      for (const log of logs) if (log.args.messageId !== undefined && watched.has(log.args.dstChainId ?? 0n)) state.ids.add(log.args.messageId);
      state.next = latest + 1n;
    }
    for (const id of state.ids) {
      if (state.ids.size <= MAX_SENT_IDS) break;
      state.ids.delete(id);
    }
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
      const [messages, multiproof, proofFlags, r, vs] = call.args as readonly [readonly Message[], readonly Hex[], readonly boolean[], Hex, Hex];
      const signature = fromCompactSignature(r, vs);
      const ids = messages.map(messageId);
      let replayed: ReplayedMultiProof;
      try {
        replayed = replayMultiProof(ids.map(messageLeaf), multiproof, proofFlags);
      } catch (error) {
        // The gateway accepted this calldata, so a refusal here is a bug on our side: report it, keep scanning.
        this.log.warn("delivered batch multiproof could not be replayed; not checked", { chainId: chain.chainId, tx: hash, error: String(error) });
        return [];
      }
      for (const [index, message] of messages.entries()) {
        const proof = await this.proveIfUnsent(chain, hash, message, signature, { root: replayed.root, proof: replayed.proofs[index]! });
        if (proof !== null) proofs.push(proof);
      }
    }
    return proofs;
  }

  /** `batch`: null for a single delivery, else the signed root and the message's single-leaf proof. */
  private async proveIfUnsent(chain: WatchedChain, deliveryTx: Hex, message: Message, signature: Hex, batch: BatchMembership | null): Promise<ForgeryProof | null> {
    const source = this.chains.find((c) => BigInt(c.chainId) === message.srcChainId)?.source;
    if (source === undefined || getAddress(message.srcGateway) !== getAddress(source.gateway)) return null;
    const sourceChain = this.chains.find((c) => BigInt(c.chainId) === message.srcChainId)!;
    const id = messageId(message);
    if (this.sent.get(sourceChain.chainId)?.ids.delete(id)) {
      this.checks.fromLogs++;
      return null;
    }
    this.checks.byCall++;
    const sent = await sourceChain.client.readContract({ address: source.gateway, abi: sourceGatewayAbi, functionName: "isSent", args: [id] });
    if (sent) return null;
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
            args: [epoch, message, chain.targetGateway, batch.root, batch.proof, signature],
            account: this.prover,
            chain: null,
          });
    await confirmSuccess(sourceChain.client, proofTx, "forgery proof");
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
