/** Exponential backoff, the one rule of every retry here: the first wait, doubled per further failure in a row, capped. */
export interface BackoffLimits {
  firstMs: number;
  maxMs: number;
}

/** The wait after the `failures`-th failure in a row (1, 2, …): firstMs, 2·firstMs, 4·firstMs, … at most maxMs, never under firstMs. */
export function backoffMs(failures: number, limits: BackoffLimits): number {
  return Math.max(limits.firstMs, Math.min(limits.maxMs, limits.firstMs * 2 ** Math.max(0, failures - 1)));
}
