/**
 * The node's own clock of the staking chain: which block was the head when
 * (ChainClock). Absence records are stamped with wall time; the clock places
 * each between the blocks the node saw before and after it, since block
 * timestamps may run ahead of wall time (relayer/staking/absence.ts).
 */
import type { ClockObservation, MalformedEntry } from "../node/plugin.ts";
import type { Logger } from "../shared/log.ts";

/** About 50,000 blocks' worth (two observations per block at most). */
const DEFAULT_CLOCK_CAPACITY = 100_000;

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
    this.writes = this.writes
      .then(() => write(persist.journal))
      .then(
        () => undefined,
        (error: unknown) => persist.log.warn("chain clock observation not persisted", { error: error instanceof Error ? error.message : String(error) }),
      );
  }
}
