/**
 * Absence slashing from the nodes' own records.
 *
 * A member proposes "operator X was absent during blocks [from, to] of epoch E"
 * and sends the proposal to the other members; each one signs it (EIP-712
 * AbsenceSlash, operator key) only when it can corroborate it: its own
 * session records (relayer/node keeps the absentees of every failed or
 * incomplete task it coordinated) name X's party index at least `minAbsences`
 * times within the window, X and the signer are members of E, and the window
 * is not slashed yet. A record (stamped with the node's clock) lies within
 * [from, to] when the node itself saw the chain at block >= from before the
 * record and at block <= to after it (ChainClock): block timestamps are not
 * used, since a chain's clock may run ahead of wall time (Hardhat mines
 * blocks one second apart at least). The proposer submits
 * slashAbsence once the signers hold more than half of the committee's
 * slashable stake.
 */
import {
  getAddress,
  hashTypedData,
  recoverTypedDataAddress,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { PartyIndex } from "../mpc/types.ts";
import type { AbsenceRecord } from "../node/keystore.ts";
import { relayStakingAbi } from "../sdk/abi.ts";
import type { StakingPeerDirectory } from "./directory.ts";
import { sortBySigner, stakingDomain, stakingTypes, type AbsenceProposal } from "./typed-data.ts";

/** Where a node's absence records come from (the key store). */
export interface AbsenceRecords {
  listAbsences(limit?: number): Promise<AbsenceRecord[]>;
}

/** What travels between members (see frames.ts `absenceProposal` / `absenceVote`). */
export type AbsenceMessage =
  | { kind: "absenceProposal"; proposal: WireProposal }
  | { kind: "absenceVote"; digest: string; signature: string | null; reason: string };

export interface WireProposal {
  epoch: string;
  node: string;
  fromBlock: string;
  toBlock: string;
}

export class ProposalRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProposalRefused";
  }
}

export function toWire(p: AbsenceProposal): WireProposal {
  return { epoch: p.epoch.toString(), node: p.node, fromBlock: p.fromBlock.toString(), toBlock: p.toBlock.toString() };
}

export function fromWire(w: WireProposal): AbsenceProposal {
  return { epoch: BigInt(w.epoch), node: getAddress(w.node), fromBlock: BigInt(w.fromBlock), toBlock: BigInt(w.toBlock) };
}

/**
 * The node's own observations of the chain's head over time, to place its
 * wall-clock records between blocks. Memory only: records from before a
 * restart cannot be placed and so do not count (the conservative side).
 */
export class ChainClock {
  private readonly seen: { block: bigint; at: number }[] = [];

  constructor(private readonly capacity = 100_000) {}

  observe(block: bigint, at: number = Date.now()): void {
    const last = this.seen.at(-1);
    if (last !== undefined && (block < last.block || at < last.at)) return;
    this.seen.push({ block, at });
    if (this.seen.length > this.capacity) this.seen.splice(0, this.seen.length - this.capacity);
  }

  /** True when the chain was seen at block >= from at or before `at`, and at block <= to at or after `at`. */
  within(at: number, from: bigint, to: bigint): boolean {
    // Observations are sorted by time and block: the last one at or before `at` has the highest block
    // among those, and the first one at or after `at` the lowest block among those.
    let lo = 0;
    let hi = this.seen.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seen[mid]!.at <= at) lo = mid + 1;
      else hi = mid;
    }
    const before = this.seen[lo - 1];
    if (before === undefined || before.block < from) return false;
    const after = before.at === at ? before : this.seen[lo];
    return after !== undefined && after.block <= to;
  }
}

/** How many of `records` name `party` absent within blocks [from, to] as `clock` places them. */
export function countAbsences(records: readonly AbsenceRecord[], party: PartyIndex, clock: ChainClock, from: bigint, to: bigint): number {
  return records.filter((r) => r.absentees.includes(party) && clock.within(r.at, from, to)).length;
}

interface Pending {
  proposal: AbsenceProposal;
  votes: Map<Address, Hex>;
  refusals: Map<PartyIndex, string>;
  wake: () => void;
}

export class AbsenceSlasher {
  private readonly pending = new Map<Hex, Pending>();

  constructor(
    private readonly p: {
      client: PublicClient;
      wallet: WalletClient;
      account: PrivateKeyAccount;
      chain: Chain | null;
      chainId: number;
      directory: StakingPeerDirectory;
      records: AbsenceRecords;
      /** Fed by the caller's polling too; the slasher adds an observation before every check. */
      clock: ChainClock;
      minAbsences: number;
      /** Sends a message to another member (over the libp2p transport in the node). */
      send: (to: PartyIndex, message: AbsenceMessage) => void;
    },
  ) {}

  private get staking(): Address {
    return this.p.directory.staking;
  }

  digest(proposal: AbsenceProposal): Hex {
    return hashTypedData({ domain: stakingDomain(this.p.chainId, this.staking), types: stakingTypes, primaryType: "AbsenceSlash", message: proposal });
  }

  /** The widest window this node can propose against `accused` in the current epoch: not yet slashed, up to the latest block. */
  async proposalAgainst(accused: Address): Promise<AbsenceProposal> {
    const committee = this.p.directory.committee;
    const [slashedUntil, latest, params] = await Promise.all([
      this.read("absenceSlashedUntil", [accused]) as Promise<bigint>,
      this.p.client.getBlockNumber(),
      this.read("params", []) as Promise<readonly [bigint, bigint, bigint, number, number, number, number]>,
    ]);
    this.p.clock.observe(latest);
    const fromBlock = slashedUntil > committee.startBlock ? slashedUntil : committee.startBlock;
    const minWindow = params[2];
    if (latest < fromBlock || latest - fromBlock + 1n < minWindow) {
      throw new ProposalRefused(`window [${fromBlock}, ${latest}] is shorter than the minimum of ${minWindow} blocks`);
    }
    return { epoch: committee.epoch, node: getAddress(accused), fromBlock, toBlock: latest };
  }

  /** Null when this node corroborates the proposal, else why it refuses. */
  async check(proposal: AbsenceProposal): Promise<string | null> {
    const committee = this.p.directory.committee;
    if (proposal.epoch !== committee.epoch) return `epoch ${proposal.epoch} is not the current epoch ${committee.epoch}`;
    const accused = this.p.directory.byOperator(proposal.node);
    if (accused === undefined) return `${proposal.node} is not a member of epoch ${proposal.epoch}`;
    if (this.p.directory.byOperator(this.p.account.address) === undefined) return "this node is not a member of the epoch";
    if (accused.operator === getAddress(this.p.account.address)) return "a node does not corroborate its own absence";
    if (proposal.fromBlock > proposal.toBlock || proposal.fromBlock < committee.startBlock) return "window outside the epoch";
    const slashedUntil = (await this.read("absenceSlashedUntil", [proposal.node])) as bigint;
    if (proposal.fromBlock < slashedUntil) return `window starts before block ${slashedUntil}, already slashed`;
    const records = await this.p.records.listAbsences(10_000);
    this.p.clock.observe(await this.p.client.getBlockNumber());
    const seen = countAbsences(records, accused.index, this.p.clock, proposal.fromBlock, proposal.toBlock);
    if (seen < this.p.minAbsences) return `own records show party ${accused.index} absent ${seen} time(s) in the window, ${this.p.minAbsences} needed`;
    return null;
  }

  /** Signs the proposal with the operator key after checking it; throws ProposalRefused otherwise. */
  async sign(proposal: AbsenceProposal): Promise<Hex> {
    const refusal = await this.check(proposal);
    if (refusal !== null) throw new ProposalRefused(refusal);
    return this.p.account.signTypedData({ domain: stakingDomain(this.p.chainId, this.staking), types: stakingTypes, primaryType: "AbsenceSlash", message: proposal });
  }

  /** Handles a message from member `from` (already authenticated by the transport). */
  async handle(from: PartyIndex, message: AbsenceMessage): Promise<void> {
    if (this.p.directory.byIndex(from) === undefined) return;
    if (message.kind === "absenceProposal") {
      const proposal = fromWire(message.proposal);
      const digest = this.digest(proposal);
      try {
        this.p.send(from, { kind: "absenceVote", digest, signature: await this.sign(proposal), reason: "" });
      } catch (error) {
        this.p.send(from, { kind: "absenceVote", digest, signature: null, reason: (error instanceof Error ? error.message : String(error)).slice(0, 400) });
      }
      return;
    }
    const pending = this.pending.get(message.digest as Hex);
    if (pending === undefined) return;
    if (message.signature === null) {
      pending.refusals.set(from, message.reason);
    } else {
      const signer = this.p.directory.byIndex(from)!.operator;
      const recovered = await recoverTypedDataAddress({
        domain: stakingDomain(this.p.chainId, this.staking),
        types: stakingTypes,
        primaryType: "AbsenceSlash",
        message: pending.proposal,
        signature: message.signature as Hex,
      });
      if (getAddress(recovered) !== signer) pending.refusals.set(from, "signature from the wrong key");
      else pending.votes.set(signer, message.signature as Hex);
    }
    pending.wake();
  }

  /**
   * Proposes the slash of `accused` to every other member, gathers signatures
   * until they hold a stake majority (or `timeoutMs` passes), and submits it.
   */
  async proposeAndSubmit(accused: Address, timeoutMs: number): Promise<{ txHash: Hex; proposal: AbsenceProposal; signers: Address[] }> {
    const proposal = await this.proposalAgainst(accused);
    const digest = this.digest(proposal);
    const pending: Pending = { proposal, votes: new Map(), refusals: new Map(), wake: () => {} };
    pending.votes.set(getAddress(this.p.account.address), await this.sign(proposal));
    this.pending.set(digest, pending);
    try {
      const others = this.p.directory.members().filter((m) => m.operator !== getAddress(this.p.account.address) && m.operator !== proposal.node);
      for (const member of others) this.p.send(member.index, { kind: "absenceProposal", proposal: toWire(proposal) });
      const weights = await this.stakeWeights(proposal.epoch);
      const deadline = Date.now() + timeoutMs;
      while (!this.hasMajority(pending, weights)) {
        const answered = pending.votes.size - 1 + pending.refusals.size;
        if (answered >= others.length || Date.now() >= deadline) {
          const refusals = [...pending.refusals].map(([party, reason]) => `${party}: ${reason}`).join("; ");
          throw new ProposalRefused(`no stake majority for slashing ${accused} (${pending.votes.size} signature(s)${refusals ? `; refused by ${refusals}` : ""})`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
          pending.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const signed = sortBySigner([...pending.votes].map(([signer, signature]) => ({ signer, signature })));
      const txHash = await this.p.wallet.writeContract({
        address: this.staking,
        abi: relayStakingAbi,
        functionName: "slashAbsence",
        args: [proposal, signed.map((s) => s.signature)],
        account: this.p.account,
        chain: this.p.chain,
      });
      const receipt = await this.p.client.waitForTransactionReceipt({ hash: txHash });
      if (receipt.status !== "success") throw new Error(`slashAbsence reverted (${txHash})`);
      return { txHash, proposal, signers: signed.map((s) => s.signer) };
    } finally {
      this.pending.delete(digest);
    }
  }

  private async stakeWeights(epoch: bigint): Promise<{ total: bigint; of: Map<Address, bigint> }> {
    const members = this.p.directory.members();
    const [total, ...stakes] = await Promise.all([
      this.read("committeeStake", [epoch]) as Promise<bigint>,
      ...members.map((m) => this.read("slashableStake", [m.operator]) as Promise<bigint>),
    ]);
    return { total, of: new Map(members.map((m, i) => [m.operator, stakes[i]!])) };
  }

  private hasMajority(pending: Pending, weights: { total: bigint; of: Map<Address, bigint> }): boolean {
    let signed = 0n;
    for (const signer of pending.votes.keys()) signed += weights.of.get(signer) ?? 0n;
    return signed * 2n > weights.total;
  }

  private read(functionName: "absenceSlashedUntil" | "params" | "committeeStake" | "slashableStake", args: readonly unknown[]): Promise<unknown> {
    return this.p.client.readContract({ address: this.staking, abi: relayStakingAbi, functionName, args } as Parameters<PublicClient["readContract"]>[0]);
  }
}
