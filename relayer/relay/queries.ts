/**
 * Read-only views over the relayer's records for its API: the message list (search, filters, pages)
 * and the performance series (latencies, throughput, backlog, gas). Pure functions of the records,
 * so they are tested without chains; the API validates the query before it gets here.
 */
import { z } from "zod";
import type { MessagePage, MessageSummary, PerformanceView, RelayState } from "./api-types.ts";
import { nearestRank } from "../shared/percentile.ts";
import type { GasEntry, RecordDigest } from "./store.ts";

export const MAX_PAGE_SIZE = 100;
/** The longest window the statistics cover, and the most buckets a series has. */
export const MAX_WINDOW_MS = 30 * 24 * 3600_000;
const MAX_BUCKETS = 120;
/** The most points a latency series carries; more are thinned evenly (the summary stays exact). */
export const MAX_POINTS = 1_000;

const STATES = ["seen", "final", "attested", "delivered", "failed", "retried", "dropped", "abandoned"] as const satisfies readonly RelayState[];

/** GET /v1/messages query: every field optional; bad values are refused, not ignored. */
export const messageQuerySchema = z
  .object({
    q: z.string().trim().max(200).optional(),
    route: z
      .string()
      .regex(/^\d+-\d+$/, "route is <srcChainId>-<dstChainId>")
      .optional(),
    state: z.enum(STATES).optional(),
    page: z.coerce.number().int().min(1).max(1_000_000).default(1),
    pageSize: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(25),
  })
  .strict();
export type MessageQuery = z.infer<typeof messageQuerySchema>;

export const statsQuerySchema = z.object({ window: z.coerce.number().int().min(60_000).max(MAX_WINDOW_MS).default(3600_000) }).strict();

export function summarize(record: RecordDigest): MessageSummary {
  return {
    messageId: record.messageId,
    srcChainId: record.srcChainId,
    dstChainId: record.dstChainId,
    sender: record.message.sender,
    receiver: record.message.receiver,
    nonce: record.message.nonce,
    sourceTxHash: record.txHash,
    blockNumber: record.blockNumber,
    state: record.state,
    attempts: record.attempts,
    deliveryTxHash: record.deliveryTxHash ?? null,
    lastError: record.lastError ?? null,
    seenAt: firstSeen(record),
    updatedAt: record.updatedAt,
  };
}

/**
 * The page of records matching `query`, newest first. The search text matches a message id, source
 * transaction hash, sender or receiver: whole or as the start of one (case-insensitive).
 */
export function listMessages(records: readonly RecordDigest[], query: MessageQuery): MessagePage {
  const needle = query.q?.toLowerCase() ?? "";
  const routes = new Map<string, { srcChainId: number; dstChainId: number }>();
  const states = new Set<RelayState>();
  const matching: RecordDigest[] = [];
  for (const r of records) {
    routes.set(`${r.srcChainId}-${r.dstChainId}`, { srcChainId: r.srcChainId, dstChainId: r.dstChainId });
    states.add(r.state);
    if (query.route !== undefined && query.route !== `${r.srcChainId}-${r.dstChainId}`) continue;
    if (query.state !== undefined && query.state !== r.state) continue;
    if (needle !== "" && ![r.messageId, r.txHash, r.message.sender, r.message.receiver].some((value) => value.toLowerCase().startsWith(needle))) continue;
    matching.push(r);
  }
  matching.sort((a, b) => firstSeen(b) - firstSeen(a) || b.blockNumber - a.blockNumber || (a.messageId < b.messageId ? -1 : 1));
  const start = (query.page - 1) * query.pageSize;
  return {
    items: matching.slice(start, start + query.pageSize).map(summarize),
    total: matching.length,
    page: query.page,
    pageSize: query.pageSize,
    routes: [...routes.values()].sort((a, b) => a.srcChainId - b.srcChainId || a.dstChainId - b.dstChainId),
    states: STATES.filter((s) => states.has(s)),
  };
}

/** Upper bounds (ms) of the delivery-latency histogram; a last bucket (null) takes everything above. */
const LATENCY_BOUNDS = [250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 1_800_000, null];

/** The series over the `windowMs` before `now`. Gas entries come from the store (one per mined transaction). */
export function performance(records: readonly RecordDigest[], gas: readonly GasEntry[], windowMs: number, now = Date.now()): PerformanceView {
  const from = now - windowMs;
  const bucketMs = Math.max(1_000, Math.ceil(windowMs / MAX_BUCKETS / 1_000) * 1_000);
  const buckets = Math.ceil(windowMs / bucketMs);
  const bucketOf = (at: number): number => Math.min(buckets - 1, Math.floor((at - from) / bucketMs));
  const throughput = Array.from({ length: buckets }, (_, i) => ({ at: from + i * bucketMs, seen: 0, delivered: 0 }));
  const backlogByRoute = new Map<string, number[]>();
  const deliveries: PerformanceView["deliveries"] = [];
  const signing: PerformanceView["signing"] = [];
  const histogram = LATENCY_BOUNDS.map((upperMs) => ({ upperMs, count: 0 }));

  for (const r of records) {
    const seenAt = firstSeen(r);
    const delivered = r.history.find((h) => h.state === "delivered");
    const closedAt = r.history.find((h) => h.state === "delivered" || h.state === "dropped" || h.state === "abandoned")?.at ?? Number.POSITIVE_INFINITY;
    if (seenAt >= from && seenAt <= now) throughput[bucketOf(seenAt)]!.seen++;
    if (delivered !== undefined && delivered.at >= from && delivered.at <= now) {
      throughput[bucketOf(delivered.at)]!.delivered++;
      const latencyMs = delivered.at - seenAt;
      deliveries.push({ at: delivered.at, latencyMs, srcChainId: r.srcChainId, dstChainId: r.dstChainId });
      histogram.find((b) => b.upperMs === null || latencyMs <= b.upperMs)!.count++;
    }
    let finalAt: number | null = null;
    for (const h of r.history) {
      if (h.state === "final") finalAt = h.at;
      else if (h.state === "attested" && finalAt !== null) {
        if (h.at >= from && h.at <= now) signing.push({ at: h.at, latencyMs: h.at - finalAt });
        finalAt = null;
      }
    }
    // Open at bucket i's end (from + (i+1)·bucketMs): seen by then and not closed by then. The buckets a record is
    // open in are one run [first, last]; it is marked at both ends and summed below, so no record walks every bucket.
    if (seenAt > now || closedAt < from) continue;
    const route = `${r.srcChainId}-${r.dstChainId}`;
    let marks = backlogByRoute.get(route);
    if (marks === undefined) backlogByRoute.set(route, (marks = new Array<number>(buckets + 1).fill(0)));
    const first = Math.max(0, Math.ceil((seenAt - from) / bucketMs) - 1);
    const last = closedAt === Number.POSITIVE_INFINITY ? buckets - 1 : Math.min(buckets - 1, Math.ceil((closedAt - from) / bucketMs) - 2);
    if (first > last) continue;
    marks[first]!++;
    marks[last + 1]!--;
  }
  deliveries.sort((a, b) => a.at - b.at);
  signing.sort((a, b) => a.at - b.at);
  const latencies = deliveries.map((d) => d.latencyMs).sort((a, b) => a - b);
  const gasBuckets = throughput.map((b) => ({ at: b.at, transactions: 0, gasUsed: 0n, costWei: 0n }));
  for (const g of gas) {
    if (g.at < from || g.at > now) continue;
    const bucket = gasBuckets[bucketOf(g.at)]!;
    bucket.transactions++;
    bucket.gasUsed += BigInt(g.gasUsed);
    bucket.costWei += BigInt(g.costWei);
  }
  return {
    from,
    to: now,
    bucketMs,
    summary: {
      deliveries: deliveries.length,
      p50Ms: nearestRank(latencies, 50),
      p95Ms: nearestRank(latencies, 95),
      seen: throughput.reduce((n, b) => n + b.seen, 0),
      gasTransactions: gasBuckets.reduce((n, b) => n + b.transactions, 0),
      gasUsed: gasBuckets.reduce((n, b) => n + b.gasUsed, 0n).toString(),
      costWei: gasBuckets.reduce((n, b) => n + b.costWei, 0n).toString(),
    },
    deliveries: thin(deliveries),
    latencyHistogram: histogram,
    signing: thin(signing),
    throughput,
    backlog: [...backlogByRoute.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, marks]) => ({ route, points: runningSum(marks.slice(0, buckets)).map((count, i) => ({ at: from + (i + 1) * bucketMs, count })) })),
    gas: gasBuckets.map((b) => ({ at: b.at, transactions: b.transactions, gasUsed: b.gasUsed.toString(), costWei: b.costWei.toString() })),
  };
}

function runningSum(values: readonly number[]): number[] {
  let sum = 0;
  return values.map((value) => (sum += value));
}

/** At most MAX_POINTS of `points`, evenly spaced, the first and the last kept. */
function thin<T>(points: T[]): T[] {
  if (points.length <= MAX_POINTS) return points;
  const step = (points.length - 1) / (MAX_POINTS - 1);
  return Array.from({ length: MAX_POINTS }, (_, i) => points[Math.round(i * step)]!);
}

function firstSeen(record: RecordDigest): number {
  return record.history[0]?.at ?? record.updatedAt;
}
