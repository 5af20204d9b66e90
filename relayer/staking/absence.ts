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
import type { PartyIndex } from "../mpc/types.ts";
import type { AbsenceRecord, ClockObservation, MalformedEntry } from "../node/keystore.ts";
import type { Logger } from "../node/log.ts";
import { slashingCourtAbi } from "../sdk/abi.ts";
import { confirmSuccess, proposalTypedData, readParams, type StakingAccess, type StakingParams } from "./access.ts";
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

/** About 50,000 blocks' worth (two observations per block at most). */
const DEFAULT_CLOCK_CAPACITY = 100_000;
/** Most own records read per check: newest first, far more than a lookback window of sessions holds. */
const RECORDS_READ = 10_000;
/** After a proposal the others did not back: wait 15 s, doubling up to 10 minutes, and for new records. */
const BACKOFF_MS = { first: 15_000, max: 600_000 };

export function toWire(p: AbsenceProposal): WireProposal {
  return { epoch: p.epoch.toString(), node: p.node, fromBlock: p.fromBlock.toString(), toBlock: p.toBlock.toString() };
}

export function fromWire(w: WireProposal): AbsenceProposal {
  return { epoch: BigInt(w.epoch), node: getAddress(w.node), fromBlock: BigInt(w.fromBlock), toBlock: BigInt(w.toBlock) };
}

/** Where the clock keeps its observations across restarts (the node's key store). */
export interface ClockJournal {
  recordClockObservation(observation: ClockObservation, replaces?: ClockObservation): Promise<void>;
  listClockObservations(): Promise<{ observations: ClockObservation[]; malformed: MalformedEntry[] }>;
  pruneClockObservations(keepFrom?: ClockObservation): Promise<number>;
}

export interface ChainClockOptions {
  /** Most observations kept (about two per block seen); the oldest go first. */
  capacity?: number;
  /**
   * Observations below this block are dropped: a record they place lies before
   * it, so no window starting at or after it (the epoch's start) needs them.
   */
  keepFromBlock?: () => bigint;
  /** Writes every change through to `journal`, in order and off the caller's path; failures are logged. */
  persist?: { journal: ClockJournal; log: Logger };
}

/**
 * The node's own observations of the chain's head over time, to place its
 * wall-clock records between blocks. Persisted (ChainClock.load), so records
 * from before a restart still count: the last look before the node stopped
 * and the first after it bound the downtime, and `within` places nothing
 * inside that gap that might lie outside the window.
 */
export class ChainClock {
  private readonly seen: ClockObservation[] = [];
  private writes: Promise<void> = Promise.resolve();
  /** Why the latest looks were ignored, if they were (logged once per episode). */
  private backwards: "time" | "block" | null = null;

  constructor(private readonly options: ChainClockOptions = {}) {
    const { capacity } = options;
    if (capacity !== undefined && (!Number.isSafeInteger(capacity) || capacity < 2)) throw new Error(`chain clock capacity ${capacity} must be an integer >= 2 (a block's first and last look)`);
  }

  /** A clock resuming the series stored in the journal; malformed or out-of-order entries are skipped with a warning. */
  static async load(persist: { journal: ClockJournal; log: Logger }, options: Omit<ChainClockOptions, "persist"> = {}): Promise<ChainClock> {
    const clock = new ChainClock({ ...options, persist });
    const { observations, malformed } = await persist.journal.listClockObservations();
    for (const entry of malformed) persist.log.warn("stored chain clock observation skipped", { key: entry.key, reason: entry.reason });
    const outOfOrder = observations.filter((observation) => clock.append(observation) === null);
    if (outOfOrder.length > 0) persist.log.warn("stored chain clock observations out of order skipped", { count: outOfOrder.length, first: outOfOrder[0] });
    clock.prune();
    return clock;
  }

  /** Records that the head was `block` at wall time `at` (or before); a look backwards in block or time is ignored. */
  observe(block: bigint, at: number = Date.now()): void {
    const observation = { block, at };
    const appended = this.append(observation);
    if (appended === null) {
      this.noteBackwards(observation);
      return;
    }
    this.backwards = null;
    this.persist((journal) => journal.recordClockObservation(observation, appended.replaces));
    this.prune();
  }

  /** Resolves once every change so far reached the journal (or failed, logged). */
  flush(): Promise<void> {
    return this.writes;
  }

  /** True when the chain was seen at block >= from at or before `at`, and at block <= to at or after `at`. */
  within(at: number, from: bigint, to: bigint): boolean {
    const place = this.place(at);
    return place !== null && place.low >= from && place.high <= to;
  }

  /**
   * Where the head was at wall time `at`, for sure: at least `low` (seen at or before `at`) and at most `high`
   * (seen at or after it); null when the node has no look on one side.
   */
  place(at: number): { low: bigint; high: bigint } | null {
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
    const after = before?.at === at ? before : this.seen[lo];
    return before === undefined || after === undefined ? null : { low: before.block, high: after.block };
  }

  /**
   * Adds the observation unless it goes backwards or repeats the last one.
   * `within` only ever uses the first and the last look at a block (the last
   * at or before a time, the first at or after it), so a third look at the
   * same block replaces the previous last one. Null when nothing changed.
   */
  private append(observation: ClockObservation): { replaces: ClockObservation | undefined } | null {
    const last = this.seen.at(-1);
    if (last !== undefined) {
      if (observation.block < last.block || observation.at < last.at) return null;
      if (observation.block === last.block && observation.at === last.at) return null;
      if (observation.block === last.block && this.seen.at(-2)?.block === last.block) {
        this.seen[this.seen.length - 1] = observation;
        return { replaces: last };
      }
    }
    this.seen.push(observation);
    return { replaces: undefined };
  }

  /** Says once per episode why looks are ignored: the wall clock was set back (also across a restart), or the head went down. */
  private noteBackwards(observation: ClockObservation): void {
    const last = this.seen.at(-1);
    if (last === undefined) return;
    const kind = observation.at < last.at ? "time" : observation.block < last.block ? "block" : null;
    if (kind === null || kind === this.backwards) return;
    this.backwards = kind;
    const log = this.options.persist?.log;
    if (kind === "time") {
      log?.warn("wall clock behind the chain clock's last observation: looks are ignored until it catches up, and records stamped meanwhile can't be told from older ones", {
        behindMs: last.at - observation.at,
      });
    } else {
      log?.info("chain head below a block seen before (a reorg or a lagging RPC node): looks are ignored until it is back", { head: observation.block, seen: last.block });
    }
  }

  /** Drops the oldest observations beyond the capacity or below `keepFromBlock`, here and in the journal. */
  private prune(): void {
    const floor = this.options.keepFromBlock?.() ?? 0n;
    let drop = Math.max(0, this.seen.length - (this.options.capacity ?? DEFAULT_CLOCK_CAPACITY));
    while (drop < this.seen.length && this.seen[drop]!.block < floor) drop++;
    if (drop === 0) return;
    this.seen.splice(0, drop);
    const keepFrom = this.seen[0];
    this.persist((journal) => journal.pruneClockObservations(keepFrom));
  }

  private persist(write: (journal: ClockJournal) => Promise<unknown>): void {
    const persist = this.options.persist;
    if (persist === undefined) return;
    // Chained, so writes land in order; a lost write only leaves the stored series sparser, which places fewer records.
    this.writes = this.writes.then(() => write(persist.journal)).then(
      () => undefined,
      (error: unknown) => persist.log.warn("chain clock observation not persisted", { error: error instanceof Error ? error.message : String(error) }),
    );
  }
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
 * (BACKOFF_MS, doubling) and only once it holds a record newer than those the refused proposal rested on.
 */
export class ProposalBackoff {
  private readonly refused = new Map<Address, { until: number; failures: number; newestRecord: number }>();

  constructor(private readonly delays: { first: number; max: number } = BACKOFF_MS) {}

  due(accused: Address, newestRecord: number, now: number = Date.now()): boolean {
    const entry = this.refused.get(accused);
    return entry === undefined || (now >= entry.until && newestRecord > entry.newestRecord);
  }

  failed(accused: Address, newestRecord: number, now: number = Date.now()): void {
    const failures = (this.refused.get(accused)?.failures ?? 0) + 1;
    this.refused.set(accused, { until: now + Math.min(this.delays.max, this.delays.first * 2 ** (failures - 1)), failures, newestRecord });
  }

  succeeded(accused: Address): void {
    this.refused.delete(accused);
  }
}

export type AbsenceOutcome =
  | { operator: Address; party: PartyIndex; slashed: { txHash: Hex; proposal: AbsenceProposal; signers: Address[] } }
  | { operator: Address; party: PartyIndex; notSubmitted: string; refused: boolean };

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
    await answerProposal((vote) => this.p.send(from, vote), this.digest(proposal), () => this.sign(proposal));
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
