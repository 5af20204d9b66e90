/**
 * Absence slashing from the nodes' own records.
 *
 * A member proposes "operator X was absent during blocks [from, to] of epoch E"
 * and sends the proposal to the other members; each one signs it (EIP-712
 * AbsenceSlash, operator key) only when it can corroborate it: its own
 * session records (relayer/node keeps the absentees of every task it
 * coordinated) name X's party index at least `minAbsences` times within the
 * window, and those records are spread over at least the contract's
 * minAbsenceWindow blocks (a short outage is no absence: the first and the
 * last record must lie that far apart for sure); X and the signer are members
 * of E, X is not removed, the window is recent (absenceLookback), not slashed
 * yet, and X has not reached the per-epoch cap. A record (stamped with the
 * node's clock) lies within [from, to] when the node itself saw the chain at
 * block >= from before the record and at block <= to after it (ChainClock):
 * block timestamps are not used, since a chain's clock may run ahead of wall
 * time (Hardhat mines blocks one second apart at least). The observations are
 * kept in the key store, so a restarted node still places its older records.
 * The proposer submits SlashingCourt.slashAbsence once the signers meet the
 * court's rule (votes.ts). A proposal the others do not back is not repeated
 * until the proposer has new records and a backoff has passed (ProposalBackoff).
 * Records older than the lookback never count (no window reaches them back
 * there); deleting them from the key store is the key store's job.
 */
import { getAddress, hashTypedData, type Address, type Hex } from "viem";
import { backoffMs, type BackoffLimits } from "../shared/backoff.ts";
import type { PartyIndex } from "@mpc-relay/mpc";
import type { AbsenceRecord } from "../node/plugin.ts";
import { slashingCourtAbi } from "@mpc-relay/sdk";
import { confirmSuccess } from "../shared/transactions.ts";
import { proposalTypedData, readParams, type StakingAccess, type StakingParams } from "./access.ts";
import type { ChainClock } from "./chain-clock.ts";
import { activeMember, activeMembers, type CommitteeView } from "./directory.ts";
import type { AbsenceProposal } from "./typed-data.ts";
import { answerProposal, ProposalRefused, type VoteCollector, type VoteMessage } from "./votes.ts";

/** Where a node's absence records come from (the key store). */
export interface AbsenceRecords {
  listAbsences(limit?: number): Promise<AbsenceRecord[]>;
}

/** A proposal as it travels between members (frames.ts `absenceProposal`; answers are `vote`s). */
export interface AbsenceProposalMessage {
  kind: "absenceProposal";
  proposal: WireProposal;
}

export interface WireProposal {
  epoch: string;
  node: string;
  fromBlock: string;
  toBlock: string;
}

/** Most own records read per check: newest first, far more than a lookback window of sessions holds. */
const RECORDS_READ = 10_000;
/** After a proposal the others did not back: wait 15 s, doubling up to 10 minutes, and for new records. */
const BACKOFF: BackoffLimits = { firstMs: 15_000, maxMs: 600_000 };

export function toWire(p: AbsenceProposal): WireProposal {
  return { epoch: p.epoch.toString(), node: p.node, fromBlock: p.fromBlock.toString(), toBlock: p.toBlock.toString() };
}

export function fromWire(w: WireProposal): AbsenceProposal {
  return { epoch: BigInt(w.epoch), node: getAddress(w.node), fromBlock: BigInt(w.fromBlock), toBlock: BigInt(w.toBlock) };
}

/**
 * What this node's own `records` say about `party` within blocks [from, to]: how many name it absent, and over
 * how many blocks for sure they spread (the block seen before the last minus the block seen after the first).
 */
export function observedAbsence(records: readonly AbsenceRecord[], party: PartyIndex, clock: ChainClock, from: bigint, to: bigint): { count: number; spread: bigint } {
  let count = 0;
  let firstHigh: bigint | null = null;
  let lastLow: bigint | null = null;
  for (const record of records) {
    if (!record.absentees.includes(party)) continue;
    const place = clock.place(record.at);
    if (place === null || place.low < from || place.high > to) continue;
    count++;
    if (firstHigh === null || place.high < firstHigh) firstHigh = place.high;
    if (lastLow === null || place.low > lastLow) lastLow = place.low;
  }
  const spread = firstHigh !== null && lastLow !== null && lastLow > firstHigh ? lastLow - firstHigh : 0n;
  return { count, spread };
}

/**
 * When this node may propose again against a member after a proposal the others did not back: after a backoff
 * (BACKOFF, doubling) and only once it holds a record newer than those the refused proposal rested on.
 */
export class ProposalBackoff {
  private readonly refused = new Map<Address, { until: number; failures: number; newestRecord: number }>();

  constructor(private readonly delays: BackoffLimits = BACKOFF) {}

  due(accused: Address, newestRecord: number, now: number = Date.now()): boolean {
    const entry = this.refused.get(accused);
    return entry === undefined || (now >= entry.until && newestRecord > entry.newestRecord);
  }

  failed(accused: Address, newestRecord: number, now: number = Date.now()): void {
    const failures = (this.refused.get(accused)?.failures ?? 0) + 1;
    this.refused.set(accused, { until: now + backoffMs(failures, this.delays), failures, newestRecord });
  }

  succeeded(accused: Address): void {
    this.refused.delete(accused);
  }
}

export type AbsenceOutcome =
  { operator: Address; party: PartyIndex; slashed: { txHash: Hex; proposal: AbsenceProposal; signers: Address[] } } | { operator: Address; party: PartyIndex; notSubmitted: string; refused: boolean };

export class AbsenceSlasher {
  private readonly backoff: ProposalBackoff;

  constructor(
    private readonly p: StakingAccess & {
      records: AbsenceRecords;
      /** Fed by the caller's polling too; the slasher adds an observation before every check. */
      clock: ChainClock;
      minAbsences: number;
      votes: VoteCollector;
      /** Sends a message to another member (over the libp2p transport in the node). */
      send: (to: PartyIndex, message: AbsenceProposalMessage | VoteMessage) => void;
      backoff?: ProposalBackoff;
    },
  ) {
    this.backoff = p.backoff ?? new ProposalBackoff();
  }

  digest(proposal: AbsenceProposal): Hex {
    return hashTypedData(proposalTypedData(this.p, "AbsenceSlash", proposal));
  }

  /**
   * The widest window this node can propose against `accused` in the current epoch: from the latest of the
   * epoch's start, the member's first block not yet slashed and the newer half of the lookback, up to the latest
   * block. Refused when it is shorter than the minimum or the member reached the epoch's cap.
   */
  async proposalAgainst(accused: Address): Promise<AbsenceProposal> {
    const committee = this.p.directory.committee;
    const [state, latest] = await Promise.all([this.state(committee.epoch, accused), this.p.client.getBlockNumber()]);
    this.p.clock.observe(latest);
    const fromBlock = windowStart(committee, state, latest);
    if (state.count >= state.params.maxAbsenceSlashes) throw new ProposalRefused(`${accused} was slashed ${state.count} time(s) in epoch ${committee.epoch}, the cap`);
    const minWindow = state.params.minAbsenceWindow;
    if (latest < fromBlock || latest - fromBlock + 1n < minWindow) {
      throw new ProposalRefused(`window [${fromBlock}, ${latest}] is shorter than the minimum of ${minWindow} blocks`);
    }
    return { epoch: committee.epoch, node: getAddress(accused), fromBlock, toBlock: latest };
  }

  /** Null when this node corroborates the proposal, else why it refuses. */
  async check(proposal: AbsenceProposal): Promise<string | null> {
    const committee = this.p.directory.committee;
    if (proposal.epoch !== committee.epoch) return `epoch ${proposal.epoch} is not the current epoch ${committee.epoch}`;
    const accused = activeMember(committee, proposal.node);
    if (accused === undefined) return `${proposal.node} is not an active member of epoch ${proposal.epoch}`;
    if (activeMember(committee, this.p.account.address) === undefined) return "this node is not a member of the epoch";
    if (accused.operator === getAddress(this.p.account.address)) return "a node does not corroborate its own absence";
    if (proposal.fromBlock > proposal.toBlock || proposal.fromBlock < committee.startBlock) return "window outside the epoch";
    const [state, latest, records] = await Promise.all([this.state(proposal.epoch, proposal.node), this.p.client.getBlockNumber(), this.p.records.listAbsences(RECORDS_READ)]);
    this.p.clock.observe(latest);
    if (proposal.fromBlock < state.slashedUntil) return `window starts before block ${state.slashedUntil}, already slashed`;
    if (proposal.fromBlock + state.params.absenceLookback < latest) return `window starts more than ${state.params.absenceLookback} blocks back`;
    if (state.count >= state.params.maxAbsenceSlashes) return `${proposal.node} reached the cap of ${state.params.maxAbsenceSlashes} absence slash(es) this epoch`;
    return this.corroborates(records, accused.index, proposal.fromBlock, proposal.toBlock, state.params);
  }

  /** Signs the proposal with the operator key after checking it; throws ProposalRefused otherwise. */
  async sign(proposal: AbsenceProposal): Promise<Hex> {
    const refusal = await this.check(proposal);
    if (refusal !== null) throw new ProposalRefused(refusal);
    return this.p.account.signTypedData(proposalTypedData(this.p, "AbsenceSlash", proposal));
  }

  /** A member's proposal (the sender is authenticated by the transport): answers with our signature or refusal. */
  async handle(from: PartyIndex, message: AbsenceProposalMessage): Promise<void> {
    if (this.p.directory.byIndex(from) === undefined) return;
    const proposal = fromWire(message.proposal);
    await answerProposal(
      (vote) => this.p.send(from, vote),
      this.digest(proposal),
      () => this.sign(proposal),
    );
  }

  /**
   * Proposes the slash of `accused` to every other member, gathers signatures
   * until they meet the court's rule (or `timeoutMs` passes), and submits it.
   */
  async proposeAndSubmit(accused: Address, timeoutMs: number): Promise<{ txHash: Hex; proposal: AbsenceProposal; signers: Address[] }> {
    const proposal = await this.proposalAgainst(accused);
    const self = getAddress(this.p.account.address);
    const signed = await this.p.votes.gather({
      digest: this.digest(proposal),
      own: { signer: self, signature: await this.sign(proposal) },
      epoch: proposal.epoch,
      electorate: activeMembers(this.p.directory.committee),
      accused: proposal.node,
      ask: (member) => this.p.send(member.index, { kind: "absenceProposal", proposal: toWire(proposal) }),
      timeoutMs,
      what: `slashing ${accused}`,
    });
    const txHash = await this.p.wallet.writeContract({
      address: this.p.directory.court,
      abi: slashingCourtAbi,
      functionName: "slashAbsence",
      args: [proposal, signed.map((s) => s.signature)],
      account: this.p.account,
      chain: this.p.chain,
    });
    await confirmSuccess(this.p.client, txHash, "slashAbsence");
    return { txHash, proposal, signers: signed.map((s) => s.signer) };
  }

  /**
   * Proposes the slash of every member this node's own records show absent (sustained over the minimum window,
   * within the lookback, below the epoch's cap), except where a refused proposal is backing off.
   */
  async slashDue(timeoutMs: number): Promise<AbsenceOutcome[]> {
    const view = this.p.directory.committee;
    const self = activeMember(view, this.p.account.address);
    if (self === undefined || view.relay === null) return [];
    const [records, latest] = await Promise.all([this.p.records.listAbsences(RECORDS_READ), this.p.client.getBlockNumber()]);
    this.p.clock.observe(latest);
    const outcomes: AbsenceOutcome[] = [];
    for (const member of activeMembers(view)) {
      if (member.index === self.index) continue;
      const mine = records.filter((r) => r.absentees.includes(member.index));
      const newest = Math.max(0, ...mine.map((r) => r.at));
      if (mine.length < this.p.minAbsences || !this.backoff.due(member.operator, newest)) continue;
      const state = await this.state(view.epoch, member.operator);
      if (state.count >= state.params.maxAbsenceSlashes) continue;
      if (this.corroborates(mine, member.index, windowStart(view, state, latest), latest, state.params) !== null) continue;
      try {
        const slashed = await this.proposeAndSubmit(member.operator, timeoutMs);
        this.backoff.succeeded(member.operator);
        outcomes.push({ operator: member.operator, party: member.index, slashed });
      } catch (error) {
        this.backoff.failed(member.operator, newest);
        // Several members may propose the same window at once; the first submission wins.
        const message = error instanceof Error ? error.message : String(error);
        outcomes.push({ operator: member.operator, party: member.index, notSubmitted: message, refused: error instanceof ProposalRefused || message.includes("WindowAlreadySlashed") });
      }
    }
    return outcomes;
  }

  /** Null when `records` show `party` absent at least minAbsences times in [from, to], spread over the minimum window. */
  private corroborates(records: readonly AbsenceRecord[], party: PartyIndex, from: bigint, to: bigint, params: StakingParams): string | null {
    const { count, spread } = observedAbsence(records, party, this.p.clock, from, to);
    if (count < this.p.minAbsences) return `own records show party ${party} absent ${count} time(s) in the window, ${this.p.minAbsences} needed`;
    if (spread < params.minAbsenceWindow) return `own records of party ${party}'s absence span ${spread} block(s), ${params.minAbsenceWindow} needed`;
    return null;
  }

  /** The court's record of a member (first unslashed block, slashes this epoch) and the parameters. */
  private async state(epoch: bigint, operator: Address): Promise<{ slashedUntil: bigint; count: number; params: StakingParams }> {
    const court = this.p.directory.court;
    const [slashedUntil, count, params] = await Promise.all([
      this.p.client.readContract({ address: court, abi: slashingCourtAbi, functionName: "absenceSlashedUntil", args: [operator] }),
      this.p.client.readContract({ address: court, abi: slashingCourtAbi, functionName: "absenceSlashCount", args: [epoch, operator] }),
      readParams(this.p.client, this.p.directory.staking),
    ]);
    return { slashedUntil, count, params };
  }
}

/**
 * The first block a window against a member may start at: the epoch's start, after its slashed blocks, and within
 * the newer half of the lookback, so that it is still recent when the court sees it after the votes.
 */
function windowStart(view: CommitteeView, state: { slashedUntil: bigint; params: StakingParams }, latest: bigint): bigint {
  const reach = state.params.absenceLookback / 2n;
  const oldest = latest > reach ? latest - reach : 0n;
  return [view.startBlock, state.slashedUntil, oldest].reduce((a, b) => (a > b ? a : b));
}
