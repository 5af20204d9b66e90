/** What commands print: text for people by default, the API's JSON with --json. */
import type { JsonOption } from "./options.ts";

/** Prints `value` as indented JSON with --json, else the text `human` makes of it. */
export function emit<T>(options: JsonOption, value: T, human: (value: T) => string): void {
  process.stdout.write((options.json === true ? JSON.stringify(value, null, 2) : human(value)) + "\n");
}

/** A long-running command's event: with --json one JSON line among the JSON log lines, else text. */
export function emitEvent<T extends { event: string }>(options: JsonOption, event: T, human: (event: T) => string): void {
  process.stdout.write((options.json === true ? JSON.stringify(event) : human(event)) + "\n");
}

/** Rows as columns padded to their widest cell; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ")).join("\n");
}

/** Label/value lines with the values aligned. */
export function fields(entries: readonly (readonly [string, string])[], indent = "  "): string {
  const width = Math.max(...entries.map(([label]) => label.length));
  return entries.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`).join("\n");
}

export const time = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");

export const list = (values: readonly (string | number)[]): string => (values.length === 0 ? "none" : values.join(","));

export function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}
