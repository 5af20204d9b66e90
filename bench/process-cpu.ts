/**
 * CPU time of benchmark child processes, read from /proc (Linux): what an
 * operation costs the nodes in CPU, whatever else shares the machine, and a
 * barrier that waits until the nodes are idle again (work an operation leaves
 * behind after it answered must not be billed to the next one).
 */
import { readFile } from "node:fs/promises";

/** /proc reports utime and stime in USER_HZ ticks, 100 per second on Linux. */
const TICK_MS = 10;

/** User + system CPU ms of a process so far, or null when /proc can't tell (not Linux, process gone). */
export async function processCpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at state: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** CPU ms per process, in the order of `pids` (null where unknown). */
export async function cpuOf(pids: readonly number[]): Promise<(number | null)[]> {
  return Promise.all(pids.map(processCpuMs));
}

/** Per-process CPU ms spent between two readings; null if any reading is unknown. */
export function cpuSpent(before: readonly (number | null)[], after: readonly (number | null)[]): number[] | null {
  if (before.some((v) => v === null) || after.some((v) => v === null)) return null;
  return after.map((v, i) => v! - before[i]!);
}

/**
 * Waits until the processes together use less than `idleShare` of one core over a `windowMs` window.
 * Returns how long that took, or null when it did not happen within `maxMs` (or /proc can't tell).
 */
export async function waitIdle(pids: readonly number[], options: { windowMs?: number; idleShare?: number; maxMs?: number } = {}): Promise<number | null> {
  const windowMs = options.windowMs ?? 500;
  const idleShare = options.idleShare ?? 0.05;
  const started = performance.now();
  let previous = await cpuOf(pids);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const now = await cpuOf(pids);
    const spent = cpuSpent(previous, now);
    if (spent === null) return null;
    if (spent.reduce((a, b) => a + b, 0) < idleShare * windowMs) return performance.now() - started - windowMs;
    if (performance.now() - started > (options.maxMs ?? 120_000)) return null;
    previous = now;
  }
}
