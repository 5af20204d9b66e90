/**
 * Fraud-proof watcher: looks at every delivery on every watched chain's
 * TargetGateway and, for a message whose source chain is watched too (has a
 * SourceGateway and a RelayStaking), asks whether the source ever sent it. A
 * delivered message that was never sent carries a relay signature the
 * committee should not have produced: the watcher takes it from the delivery
 * transaction's calldata and submits proveForgery (or proveForgedBatch) to the
 * source chain's SlashingCourt, which slashes every epoch confirmed with the
 * signing key (no epoch is named: the key's lineage pays).
 *
 * Finality: "never sent" is judged on the source's final state only (its
 * finalized block by default; its safe block, or a confirmation depth, per
 * chain). A delivery waits until the source's final block has passed the
 * source head the watcher saw when it found the delivery; then the message is
 * sent if a MessageSent log up to the final block names it, or isSent says so
 * at that block. A message sent in a block not yet final is therefore never
 * mistaken for a forgery. One that a reorg removed is not proven either: the
 * watcher also reads the logs above the final block and remembers what it saw
 * there; a delivered message seen sent once and gone from the final history
 * was attested too early (nodes must attest staking-chain messages only once
 * final, relayer/node/chain), which the watcher reports instead of slashing
 * its peers for.
 *
 * Batches: TargetGateway.receiveBatch takes any subset of a signed batch
 * with an OpenZeppelin multiproof. The watcher replays that multiproof as
 * MerkleProof.processMultiProof does, which yields the signed root and, for
 * every delivered leaf, its plain single-leaf proof (the siblings met on the
 * way up), and proves with proveForgedBatch's single-leaf proof. Rebuilding
 * off chain rather than having the court verify multiproofs keeps the
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
 * full set, or never sent) costs an isSent call.
 *
 * Limits: only direct calls to the gateway are decoded (a delivery made
 * through another contract is reported, not proven). A batch root is one
 * signed forgery: once proven, its other unsent members are skipped.
 */
import { concat, decodeFunctionData, getAddress, keccak256, recoverAddress, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { relayStakingAbi, slashingCourtAbi, sourceGatewayAbi, targetGatewayAbi, batchDigest, fromCompactSignature, messageDigest, messageId, messageLeaf, type Message } from "@mpc-relay/sdk";
import { confirmSuccess } from "../shared/transactions.ts";

export interface WatchedChain {
  chainId: number;
  client: PublicClient;
  targetGateway: Address;
  /** Present on chains messages are sent from: where forgeries of their messages are proven (the staking's court). */
  source?: { gateway: Address; staking: Address; court: Address; wallet: WalletClient; finality?: SourceFinality };
  /** First block to scan. */
  fromBlock: bigint;
}

/** Which source block "never sent" is judged at: the finalized block (default), the safe one, or a depth below the head. */
export type SourceFinality = "finalized" | "safe" | { confirmations: number };

export interface ForgeryProof {
  messageId: Hex;
  srcChainId: bigint;
  dstChainId: bigint;
  /** The key that signed it; every epoch of its lineage was slashed. */
  relay: Address;
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

/** Largest block range one scan step asks for. */
const MAX_RANGE = 10_000n;
/** Sent ids kept per source chain until their delivery is checked; the oldest go first beyond it (then isSent answers). */
const MAX_SENT_IDS = 200_000;
/** Deliveries waiting for their source to finalize; the oldest are dropped (and reported) beyond it. */
const MAX_WAITING = 100_000;

/** The source block final for `finality` when the head is `head`. */
async function finalBlock(client: PublicClient, finality: SourceFinality, head: bigint): Promise<bigint> {
  if (typeof finality === "object") return head > BigInt(finality.confirmations) ? head - BigInt(finality.confirmations) : 0n;
  return (await client.getBlock({ blockTag: finality })).number;
}

/** A delivered message waiting for its source's final block to pass `sourceHead`. */
interface Waiting {
  chain: WatchedChain;
  deliveryTx: Hex;
  message: Message;
  signature: Hex;
  batch: BatchMembership | null;
  sourceHead: bigint;
}

export class ForgeryWatcher {
  private readonly next = new Map<number, bigint>();
  /** Per source chain: ids from MessageSent logs up to its final block not yet matched, and the next block to read. */
  private readonly sent = new Map<number, { ids: Set<Hex>; next: bigint }>();
  /** Per source chain: ids seen in MessageSent logs above the final block (a reorg may still remove them). */
  private readonly seenUnfinal = new Map<number, Set<Hex>>();
  private waiting: Waiting[] = [];
  /** How deliveries were found to be sent: from the logs, or by an isSent call. */
  readonly checks = { fromLogs: 0, byCall: 0 };

  constructor(
    private readonly chains: readonly WatchedChain[],
    private readonly prover: PrivateKeyAccount,
    private readonly log: WatcherLog,
  ) {
    for (const chain of chains) {
      this.next.set(chain.chainId, chain.fromBlock);
      if (chain.source === undefined) continue;
      this.sent.set(chain.chainId, { ids: new Set(), next: chain.fromBlock });
      this.seenUnfinal.set(chain.chainId, new Set());
    }
  }

  /** Scans every chain's new blocks once and judges the deliveries whose source is final; returns the proofs submitted. */
  async scan(): Promise<ForgeryProof[]> {
    const finalized = new Map<number, bigint>();
    const heads = new Map<number, bigint>();
    for (const chain of this.chains) {
      if (chain.source === undefined) continue;
      const head = await chain.client.getBlockNumber();
      const final = await finalBlock(chain.client, chain.source.finality ?? "finalized", head);
      finalized.set(chain.chainId, final);
      heads.set(chain.chainId, head);
      await this.readSent(chain, chain.source.gateway, final, head);
    }
    for (const chain of this.chains) await this.readDeliveries(chain, heads);
    const proofs: ForgeryProof[] = [];
    const due: Waiting[] = [];
    const later: Waiting[] = [];
    for (const delivery of this.waiting) (delivery.sourceHead <= finalized.get(Number(delivery.message.srcChainId))! ? due : later).push(delivery);
    this.waiting = later;
    for (const delivery of due) {
      const proof = await this.proveIfUnsent(delivery, finalized.get(Number(delivery.message.srcChainId))!);
      if (proof !== null) proofs.push(proof);
    }
    return proofs;
  }

  /**
   * Adds the ids of messages sent to a watched chain in the source's newly final blocks, and remembers the ids
   * sent in the blocks above them (up to `head`), which a reorg may still remove.
   */
  private async readSent(chain: WatchedChain, gateway: Address, final: bigint, head: bigint): Promise<void> {
    const state = this.sent.get(chain.chainId)!;
    const watched = new Set(this.chains.map((c) => BigInt(c.chainId)));
    const sentTo = async (fromBlock: bigint, toBlock: bigint): Promise<Hex[]> => {
      const ids: Hex[] = [];
      for (let from = fromBlock; from <= toBlock; from += MAX_RANGE) {
        const to = toBlock - from + 1n > MAX_RANGE ? from + MAX_RANGE - 1n : toBlock;
        const logs = await chain.client.getContractEvents({ address: gateway, abi: sourceGatewayAbi, eventName: "MessageSent", fromBlock: from, toBlock: to });
        for (const log of logs) if (log.args.messageId !== undefined && watched.has(log.args.dstChainId ?? 0n)) ids.push(log.args.messageId);
      }
      return ids;
    };
    for (const id of await sentTo(state.next, final)) state.ids.add(id);
    if (final >= state.next) state.next = final + 1n;
    const unfinal = this.seenUnfinal.get(chain.chainId)!;
    for (const id of await sentTo(state.next, head)) unfinal.add(id);
    for (const set of [state.ids, unfinal]) {
      for (const id of set) {
        if (set.size <= MAX_SENT_IDS) break;
        set.delete(id);
      }
    }
  }

  /** Queues the messages delivered in `chain`'s new blocks whose source is watched, stamped with the source's head now. */
  private async readDeliveries(chain: WatchedChain, sourceHeads: ReadonlyMap<number, bigint>): Promise<void> {
    const from = this.next.get(chain.chainId)!;
    const head = await chain.client.getBlockNumber();
    if (head < from) return;
    const latest = head - from + 1n > MAX_RANGE ? from + MAX_RANGE - 1n : head;
    const deliveries = await chain.client.getContractEvents({ address: chain.targetGateway, abi: targetGatewayAbi, eventName: "MessageDelivered", fromBlock: from, toBlock: latest });
    const failures = await chain.client.getContractEvents({ address: chain.targetGateway, abi: targetGatewayAbi, eventName: "MessageFailed", fromBlock: from, toBlock: latest });
    const txs = new Set<Hex>([...deliveries, ...failures].map((log) => log.transactionHash));
    for (const hash of txs) {
      for (const delivered of await this.decodeDelivery(chain, hash)) {
        const source = this.sourceOf(delivered.message);
        if (source === null) continue;
        this.waiting.push({ chain, deliveryTx: hash, ...delivered, sourceHead: sourceHeads.get(source.chainId)! });
      }
    }
    if (this.waiting.length > MAX_WAITING) {
      const dropped = this.waiting.length - MAX_WAITING;
      this.log.warn("deliveries waiting for source finality dropped unchecked", { count: dropped, first: this.waiting[0]!.deliveryTx });
      this.waiting = this.waiting.slice(dropped);
    }
    this.next.set(chain.chainId, latest + 1n);
  }

  /** The messages a delivery transaction carried, each with its 65-byte relay signature (and batch path). */
  private async decodeDelivery(chain: WatchedChain, hash: Hex): Promise<{ message: Message; signature: Hex; batch: BatchMembership | null }[]> {
    const tx = await chain.client.getTransaction({ hash });
    if (tx.to === null || getAddress(tx.to) !== getAddress(chain.targetGateway)) {
      this.log.warn("delivery not made by a direct gateway call; not checked", { chainId: chain.chainId, tx: hash });
      return [];
    }
    const call = decodeFunctionData({ abi: targetGatewayAbi, data: tx.input });
    if (call.functionName === "receiveMessage") {
      // The gateway takes the relay signature in EIP-2098 compact form; the court takes the 65-byte form.
      const [message, r, vs] = call.args as readonly [Message, Hex, Hex];
      return [{ message, signature: fromCompactSignature(r, vs), batch: null }];
    }
    if (call.functionName !== "receiveBatch") return [];
    const [messages, multiproof, proofFlags, r, vs] = call.args as readonly [readonly Message[], readonly Hex[], readonly boolean[], Hex, Hex];
    const signature = fromCompactSignature(r, vs);
    let replayed: ReplayedMultiProof;
    try {
      replayed = replayMultiProof(messages.map(messageId).map(messageLeaf), multiproof, proofFlags);
    } catch (error) {
      // The gateway accepted this calldata, so a refusal here is a bug on our side: report it, keep scanning.
      this.log.warn("delivered batch multiproof could not be replayed; not checked", { chainId: chain.chainId, tx: hash, error: String(error) });
      return [];
    }
    return messages.map((message, index) => ({ message, signature, batch: { root: replayed.root, proof: replayed.proofs[index]! } }));
  }

  /** The watched source chain a message claims, when its source gateway is the one watched there. */
  private sourceOf(message: Message): WatchedChain | null {
    const chain = this.chains.find((c) => BigInt(c.chainId) === message.srcChainId);
    return chain?.source !== undefined && getAddress(message.srcGateway) === getAddress(chain.source.gateway) ? chain : null;
  }

  /** Proves a delivery whose message the source's finalized state does not hold; null when it was sent (or is proven). */
  private async proveIfUnsent(delivery: Waiting, finalized: bigint): Promise<ForgeryProof | null> {
    const { chain, message, signature, batch, deliveryTx } = delivery;
    const sourceChain = this.sourceOf(message)!;
    const source = sourceChain.source!;
    const id = messageId(message);
    if (this.sent.get(sourceChain.chainId)?.ids.delete(id)) {
      this.checks.fromLogs++;
      return null;
    }
    this.checks.byCall++;
    if (await sourceChain.client.readContract({ address: source.gateway, abi: sourceGatewayAbi, functionName: "isSent", args: [id], blockNumber: finalized })) return null;
    if (this.seenUnfinal.get(sourceChain.chainId)!.has(id)) {
      this.log.warn("delivered message was sent, then removed by a reorg: it was attested before it was final; not proven", { messageId: id, deliveryTx });
      return null;
    }
    const digest = batch === null ? messageDigest(message, chain.targetGateway) : batchDigest(batch.root, message.dstChainId, chain.targetGateway);
    const signer = getAddress(await recoverAddress({ hash: digest, signature }));
    const [lineage, claimed] = await Promise.all([
      sourceChain.client.readContract({ address: source.staking, abi: relayStakingAbi, functionName: "lineage", args: [signer] }),
      sourceChain.client.readContract({ address: source.staking, abi: relayStakingAbi, functionName: "forgeryClaimed", args: [digest] }),
    ]);
    if (lineage.length === 0) {
      this.log.warn("forged message signed by a key no epoch confirmed", { messageId: id, signer, tx: deliveryTx });
      return null;
    }
    if (claimed) return null;
    const proofTx =
      batch === null
        ? await source.wallet.writeContract({
            address: source.court,
            abi: slashingCourtAbi,
            functionName: "proveForgery",
            args: [message, chain.targetGateway, signature],
            account: this.prover,
            chain: null,
          })
        : await source.wallet.writeContract({
            address: source.court,
            abi: slashingCourtAbi,
            functionName: "proveForgedBatch",
            args: [message, chain.targetGateway, batch.root, batch.proof, signature],
            account: this.prover,
            chain: null,
          });
    await confirmSuccess(sourceChain.client, proofTx, "forgery proof");
    this.log.warn("forgery proven", { messageId: id, signer, epochs: lineage.map(String), deliveryTx, proofTx });
    return { messageId: id, srcChainId: message.srcChainId, dstChainId: message.dstChainId, relay: signer, deliveryTx, proofTx, batch: batch !== null };
  }
}
