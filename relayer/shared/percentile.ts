/** The nearest-rank percentile of values sorted ascending, or null for none: the one rule the API's statistics and the benchmarks use. */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
