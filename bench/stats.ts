/** The statistics the benchmarks print. */
import { nearestRank } from "../relayer/shared/percentile.ts";

/** Nearest-rank percentile (NaN for no values). */
export function percentile(values: readonly number[], p: number): number {
  return (
    nearestRank(
      [...values].sort((a, b) => a - b),
      p,
    ) ?? Number.NaN
  );
}

export const round1 = (value: number): number => Math.round(value * 10) / 10;
