/**
 * eth_getLogs over a block range in calls of at most the span a provider accepts: a refused call is
 * split in half and the smaller span kept for the next calls (public RPCs cap ranges at 1k-10k blocks
 * or by result count). The one home of this rule: the node's chain reader and the SDK both use it.
 * Pure (no viem client, no node internals), so the SDK can import it without pulling in libp2p.
 */

export interface BlockSpan {
  /** Largest range (in blocks) to ask for in one call; shrunk in place when a call is refused. */
  value: number;
}

export interface ScanLogsOptions<T> {
  from: number;
  to: number;
  /** Shared across scans of one endpoint, so a refusal is learnt once. */
  span: BlockSpan;
  getLogs(from: number, to: number): Promise<T[]>;
  /** Newest first is for look-ups of one thing: with `until` the scan stops as soon as it is found. */
  order?: "ascending" | "descending";
  /** Stop after the call whose logs make this true. */
  until?(logs: readonly T[]): boolean;
  /** Whether a failed call means "range refused" (split it); any other error ends the scan. */
  splits(error: unknown): boolean;
  /** Calls allowed for this scan, splits included. */
  maxCalls: number;
  signal?: AbortSignal;
  /** The error to throw when the scan cannot go on (aborted, too many calls), so each caller keeps its own type. */
  fail(message: string, stop: "aborted" | "too-many-calls"): Error;
}

/** The logs of blocks from..to (inclusive), in the scan's order of chunks. */
export async function scanLogs<T>(o: ScanLogsOptions<T>): Promise<T[]> {
  const descending = o.order === "descending";
  const logs: T[] = [];
  let calls = 0;
  let low = o.from;
  let high = o.to;
  while (low <= high) {
    if (o.signal?.aborted === true) throw o.fail("the scan was aborted", "aborted");
    if (++calls > o.maxCalls) throw o.fail(`more than ${o.maxCalls} eth_getLogs calls for blocks ${o.from}..${o.to} (accepted range ${o.span.value})`, "too-many-calls");
    const span = Math.max(1, o.span.value);
    const from = descending ? Math.max(low, high - span + 1) : low;
    const to = descending ? high : Math.min(high, low + span - 1);
    let chunk: T[];
    try {
      chunk = await o.getLogs(from, to);
    } catch (error) {
      if (to === from || !o.splits(error)) throw error;
      o.span.value = Math.max(1, Math.floor((to - from + 1) / 2));
      continue;
    }
    logs.push(...chunk);
    if (descending) high = from - 1;
    else low = to + 1;
    if (o.until?.(chunk) === true) break;
  }
  return logs;
}

/**
 * Whether an eth_getLogs error is a provider refusing the range or result size (rather than the
 * network failing): JSON-RPC "limit exceeded" (-32005), invalid-params answers about ranges, and the
 * wordings of the common providers (Alchemy, Infura, QuickNode, Ankr, geth, erigon, ...).
 */
export function refusesRange(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && e !== undefined && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === -32005) return true;
    const text = `${(e as { details?: unknown }).details ?? ""} ${(e as { message?: unknown }).message ?? ""}`;
    if (/block range|range (is )?too (large|wide|big)|too many (results|logs|blocks)|exceed|limit|query returned more than|response size|max(imum)? (block )?range/i.test(text)) return true;
  }
  return false;
}
