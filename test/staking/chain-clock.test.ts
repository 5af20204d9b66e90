/**
 * ChainClock persisted in a real key store: records keep their placement in
 * block windows across a restart, pruning keeps what windows need, the
 * downtime gap places nothing wrongly, and bad stored entries are skipped.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ClassicLevel } from "classic-level";
import { KeyStore, type ClockObservation } from "../../relayer/node/keystore.ts";
import { createLogger, type Logger } from "../../relayer/shared/log.ts";
import { ChainClock, type ClockJournal } from "../../relayer/staking/chain-clock.ts";

const KDF = { N: 2 ** 12, r: 8, p: 1 };
const PASS = "operator passphrase 1";
const T0 = 1_700_000_000_000;

/** Opens the key store at `path` and loads the clock persisted in it. */
async function openClock(path: string, log: Logger, options?: Parameters<typeof ChainClock.load>[1]): Promise<{ store: KeyStore; clock: ChainClock }> {
  const store = await KeyStore.open(path, PASS, KDF);
  return { store, clock: await ChainClock.load({ journal: store, log }, options) };
}

/** A node that saw blocks 10 and 12 a second apart (from T0), then stopped. */
async function stoppedAfterTwoLooks(path: string, log: Logger): Promise<void> {
  const { store, clock } = await openClock(path, log);
  clock.observe(10n, T0);
  clock.observe(12n, T0 + 1_000);
  await clock.flush();
  await store.close();
}

function capturingLog(): { log: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  return { log: createLogger({}, "debug", (line) => lines.push(JSON.parse(line) as { level: string; msg: string })), lines };
}

/** `within` evaluated on the raw, uncompacted series: the rule the clock must keep. */
function withinRaw(series: readonly ClockObservation[], at: number, from: bigint, to: bigint): boolean {
  const before = series.filter((o) => o.at <= at).at(-1);
  if (before === undefined || before.block < from) return false;
  const after = before.at === at ? before : series.find((o) => o.at > at);
  return after !== undefined && after.block <= to;
}

/** A head that stays on some blocks for several polls, jumps on others, with two looks in the same millisecond. */
function pollSeries(start: bigint, polls: number, t: number): ClockObservation[] {
  const series: ClockObservation[] = [];
  let block = start;
  for (let i = 0; i < polls; i++) {
    if (i % 4 === 0) block += BigInt(1 + (i % 3));
    series.push({ block, at: t + i * 1_000 });
  }
  series.push({ block: block + 1n, at: series.at(-1)!.at });
  return series;
}

function recordTimes(series: readonly ClockObservation[]): number[] {
  const times = new Set<number>();
  for (const o of series) for (const d of [-1, 0, 1, 500]) times.add(o.at + d);
  times.add(series[0]!.at - 10_000);
  times.add(series.at(-1)!.at + 10_000);
  return [...times];
}

function windows(series: readonly ClockObservation[], floor = 0n): [bigint, bigint][] {
  const low = series[0]!.block;
  const high = series.at(-1)!.block;
  const out: [bigint, bigint][] = [];
  for (let from = low - 1n; from <= high + 1n; from += 2n) {
    if (from < floor) continue;
    for (const span of [0n, 1n, 3n, 8n, high - low + 2n]) out.push([from, from + span]);
  }
  return out;
}

function assertSamePlacements(clock: ChainClock, series: readonly ClockObservation[], times: number[], ws: [bigint, bigint][], label: string): number {
  let placed = 0;
  for (const at of times) {
    for (const [from, to] of ws) {
      const expected = withinRaw(series, at, from, to);
      assert.equal(clock.within(at, from, to), expected, `${label}: record at ${at} in [${from}, ${to}]`);
      if (expected) placed++;
    }
  }
  return placed;
}

describe("chain clock persisted in the key store", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mpc-chain-clock-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reloads the series after a restart and places old records exactly as before, keeping two looks per block", async () => {
    const path = join(dir, "reload");
    const { log, lines } = capturingLog();
    const series = pollSeries(100n, 60, T0);
    const { store, clock: first } = await openClock(path, log);
    for (const o of series) first.observe(o.block, o.at);
    await first.flush();
    const times = recordTimes(series);
    const ws = windows(series);
    const placed = assertSamePlacements(first, series, times, ws, "before the restart");
    assert.ok(placed > 50, `the grid places some records (${placed})`);

    const stored = (await store.listClockObservations()).observations;
    const blocks = new Set(series.map((o) => o.block));
    assert.ok(stored.length <= 2 * blocks.size && stored.length < series.length, `${stored.length} stored for ${series.length} looks at ${blocks.size} blocks`);
    await store.close();

    const restarted = await openClock(path, log);
    assertSamePlacements(restarted.clock, series, times, ws, "after the restart");
    assert.deepEqual(
      lines.filter((l) => l.level === "warn"),
      [],
      "nothing to warn about",
    );
    await restarted.store.close();
  });

  it("prunes below the epoch start and beyond the capacity, keeping the placements in windows that remain possible", async () => {
    const path = join(dir, "prune");
    const { log } = capturingLog();
    const series = pollSeries(1_000n, 200, T0);
    const store = await KeyStore.open(path, PASS, KDF);
    let epochStart = 0n;
    const capacity = 40;
    assert.throws(() => new ChainClock({ capacity: 1 }), /capacity 1 must be an integer >= 2/);
    const clock = await ChainClock.load({ journal: store, log }, { capacity, keepFromBlock: () => epochStart });
    for (const o of series.slice(0, 100)) clock.observe(o.block, o.at);
    await clock.flush();
    assert.equal((await store.listClockObservations()).observations.length, capacity, "the cap bounds the stored series");

    epochStart = series[150]!.block;
    for (const o of series.slice(100)) clock.observe(o.block, o.at);
    await clock.flush();
    const kept = (await store.listClockObservations()).observations;
    assert.ok(kept.length <= capacity, `${kept.length} kept`);
    assert.ok(
      kept.every((o) => o.block >= epochStart),
      "nothing below the epoch start is kept",
    );
    // Every window the slasher can consider starts at or after the epoch start: placements there are unchanged.
    const placed = assertSamePlacements(clock, series, recordTimes(series.slice(150)), windows(series.slice(150), epochStart), "after pruning");
    assert.ok(placed > 10, `records are still placed (${placed})`);

    const reopened = await ChainClock.load({ journal: store, log }, { capacity, keepFromBlock: () => epochStart });
    assertSamePlacements(reopened, series, recordTimes(series.slice(150)), windows(series.slice(150), epochStart), "pruned and reloaded");
    await store.close();
  });

  it("places a record made around the downtime only in windows spanning the whole gap", async () => {
    const path = join(dir, "gap");
    const { log } = capturingLog();
    await stoppedAfterTwoLooks(path, log);
    // Down for a minute while the chain moved from 12 to 40; the first look after the restart is at 40.
    const { store, clock } = await openClock(path, log);
    clock.observe(40n, T0 + 61_000);
    clock.observe(41n, T0 + 62_000);

    const lastRecordBeforeStop = T0 + 1_500;
    const inTheGap = T0 + 30_000;
    for (const at of [lastRecordBeforeStop, inTheGap]) {
      assert.equal(clock.within(at, 12n, 40n), true, "[12, 40] holds the head wherever it was in the gap");
      assert.equal(clock.within(at, 13n, 40n), false, "the head may still have been 12");
      assert.equal(clock.within(at, 12n, 39n), false, "the head may already have been 40");
      assert.equal(clock.within(at, 20n, 30n), false, "a window inside the gap is not provable");
    }
    assert.equal(clock.within(T0 + 500, 10n, 12n), true, "a record before the stop keeps its place");
    assert.equal(clock.within(T0 + 1_000, 12n, 12n), true, "the last look before the stop bounds both sides at its own time");
    assert.equal(clock.within(T0 + 61_500, 40n, 41n), true, "a record after the restart is placed by the new looks");
    await clock.flush();
    await store.close();
  });

  it("ignores looks from a wall clock set back across a restart until it catches up, and says so once", async () => {
    const path = join(dir, "set-back");
    const { log, lines } = capturingLog();
    await stoppedAfterTwoLooks(path, log);
    const { store, clock } = await openClock(path, log);
    clock.observe(30n, T0 - 60_000);
    clock.observe(31n, T0 - 59_000);
    assert.equal(clock.within(T0 - 59_500, 30n, 31n), false, "looks stamped before the stored series place nothing");
    assert.equal(lines.filter((l) => l.level === "warn" && l.msg.startsWith("wall clock behind")).length, 1, "one warning for the episode");
    clock.observe(32n, T0 + 2_000);
    clock.observe(33n, T0 + 3_000);
    assert.equal(clock.within(T0 + 2_500, 32n, 33n), true, "once the clock caught up, looks count again");
    assert.equal(clock.within(T0 + 1_500, 12n, 32n), true, "the gap spans the head before and after");
    assert.equal(clock.within(T0 + 1_500, 13n, 32n), false, "and nothing narrower");
    await clock.flush();
    await store.close();
  });

  it("skips malformed and out-of-order stored entries with a warning, and logs a failed write instead of throwing", async () => {
    const path = join(dir, "corrupt");
    const { log, lines } = capturingLog();
    const { store, clock } = await openClock(path, log);
    clock.observe(10n, T0);
    clock.observe(20n, T0 + 1_000);
    await clock.flush();
    await assert.rejects(store.recordClockObservation({ block: -1n, at: T0 }), /block -1 is out of range/);
    await assert.rejects(store.recordClockObservation({ block: 1n, at: 1.5 }), /not a millisecond timestamp/);
    await store.close();

    const raw = new ClassicLevel<string, string>(path, { keyEncoding: "utf8", valueEncoding: "utf8" });
    const key = (at: number, block: bigint) => `clock/${String(at).padStart(15, "0")}/${block.toString().padStart(20, "0")}`;
    await raw.put("clock/garbage", "{}");
    await raw.put(key(T0 + 500, 15n), "not json");
    await raw.put(key(T0 + 600, 15n), JSON.stringify({ block: "16", at: T0 + 600 }));
    await raw.put(key(T0 + 700, 5n), JSON.stringify({ block: "5", at: T0 + 700 }));
    await raw.close();

    const { store: reopened, clock: loaded } = await openClock(path, log);
    const warnings = lines.filter((l) => l.level === "warn").map((l) => l.msg);
    assert.equal(warnings.filter((m) => m === "stored chain clock observation skipped").length, 3, warnings.join(", "));
    assert.equal(warnings.filter((m) => m === "stored chain clock observations out of order skipped").length, 1, "the block going backwards");
    assert.equal(loaded.within(T0 + 700, 10n, 20n), true, "the valid observations still place records");
    assert.equal(loaded.within(T0 + 700, 10n, 15n), false, "the skipped entries place nothing");

    const failing: ClockJournal = {
      recordClockObservation: () => Promise.reject(new Error("disk full")),
      listClockObservations: () => Promise.resolve({ observations: [], malformed: [] }),
      pruneClockObservations: () => Promise.resolve(0),
    };
    const unlucky = await ChainClock.load({ journal: failing, log });
    unlucky.observe(30n, T0 + 2_000);
    await unlucky.flush();
    assert.ok(
      lines.some((l) => l.msg === "chain clock observation not persisted"),
      "the failure is logged",
    );
    assert.equal(unlucky.within(T0 + 2_000, 30n, 30n), true, "the clock itself still works");
    await reopened.close();
  });
});
