/** Turning the API's values into words: hashes, times, durations, wei, bytes. */

/** 0x1234…abcd for anything long; short values as they are. */
export function shortHash(value: string, head = 6, tail = 4): string {
  return value.length <= head + tail + 1 ? value : `${value.slice(0, head)}…${value.slice(-tail)}`;
}

export const isHash32 = (text: string) => /^0x[0-9a-fA-F]{64}$/.test(text.trim());

export function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** A span of time in one unit: "45 s", "3 min", "2 h", "5 d". */
export function durationWords(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

/** "12 s ago" or "in 3 min" for an epoch-ms time. */
export function relativeTime(at: number, now = Date.now()): string {
  const diff = (now - at) / 1000;
  if (Math.abs(diff) < 1) return "just now";
  return diff >= 0 ? `${durationWords(diff)} ago` : `in ${durationWords(-diff)}`;
}

export const dateTime = (at: number) => new Date(at).toLocaleString();

/** A chart tick for an epoch-ms time: the date alone for daily ticks, with the date when the window spans days, seconds for short windows. */
export function timeTick(at: number, spanMs: number, stepMs = 0): string {
  const date = new Date(at);
  if (stepMs >= 86_400_000) return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  if (spanMs > 2 * 86_400_000) return date.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  if (stepMs % 60_000 !== 0) return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

export function milliseconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 1))} s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}

function toBigInt(value: string): bigint | null {
  try {
    return BigInt(value);
  } catch {
    return null;
  }
}

/** Wei (a decimal string) as ether with a fixed number of decimals, rounded half up: "1.2346 ETH". */
export function ether(wei: string, decimals = 4): string {
  const value = toBigInt(wei);
  if (value === null) return wei;
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const unit = 10n ** BigInt(18 - decimals);
  const scaled = (abs + unit / 2n) / unit;
  const base = 10n ** BigInt(decimals);
  const whole = (scaled / base).toLocaleString("en-US");
  const fraction = (scaled % base).toString().padStart(decimals, "0");
  return `${negative ? "-" : ""}${whole}${decimals > 0 ? `.${fraction}` : ""} ETH`;
}

/** Wei as a float in ether, for charts (precision beyond 15 digits is not needed there). */
export function weiToEther(wei: bigint): number {
  return Number(wei / 10n ** 9n) / 1e9;
}

export function parseWei(value: string): bigint {
  return toBigInt(value) ?? 0n;
}

export function megabytes(bytes: number | null): string {
  return bytes === null ? "–" : `${(bytes / 1_048_576).toFixed(1)} MB`;
}

export function yesNo(value: boolean | null): string {
  return value === null ? "unknown" : value ? "yes" : "no";
}

/** A route "<src>-<dst>" as chain names "A → B". */
export function routeWords(src: number, dst: number, chainName: (id: number) => string): string {
  return `${chainName(src)} → ${chainName(dst)}`;
}
