/**
 * Revert data in words: the `reason` bytes a TargetGateway stores in MessageFailed (the receiver's
 * revert data, cut to 256 bytes) and the data of a reverted retry or abandon call.
 */
import { decodeErrorResult, type Abi, type Hex } from "viem";
import { targetGatewayAbi } from "./abi.ts";

export type DecodedRevert =
  /** The receiver reverted without data (or had no code). */
  | { kind: "empty"; summary: string }
  /** `revert("...")` / `require(..., "...")`. */
  | { kind: "error"; message: string; summary: string }
  /** A Solidity panic (assert, overflow, division by zero, ...). */
  | { kind: "panic"; code: bigint; summary: string }
  /** A custom error found in the caller's ABI (or the gateway's own); `inner` decodes a nested `bytes reason`. */
  | { kind: "custom"; name: string; args: readonly unknown[]; summary: string; inner?: DecodedRevert }
  /** Data no ABI at hand explains (or cut short by the gateway). */
  | { kind: "raw"; data: Hex; summary: string };

const PANICS: Record<number, string> = {
  0x01: "assertion failed",
  0x11: "arithmetic overflow or underflow",
  0x12: "division or modulo by zero",
  0x21: "invalid enum value",
  0x22: "invalid storage byte array",
  0x31: "pop on an empty array",
  0x32: "array index out of bounds",
  0x41: "out of memory",
  0x51: "call to an uninitialised function",
};

/** Decodes revert data with Error(string), Panic(uint256), the gateway's errors and `abi`'s custom errors. */
export function decodeRevertReason(data: Hex, abi: Abi = []): DecodedRevert {
  if (data.length <= 2) return { kind: "empty", summary: "reverted without a reason" };
  let decoded;
  try {
    decoded = decodeErrorResult({ abi: [...abi, ...targetGatewayAbi], data });
  } catch {
    return { kind: "raw", data, summary: `undecoded revert data ${data}` };
  }
  const args = (decoded.args ?? []) as readonly unknown[];
  if (decoded.errorName === "Error") return { kind: "error", message: String(args[0]), summary: `Error("${String(args[0])}")` };
  if (decoded.errorName === "Panic") {
    const code = args[0] as bigint;
    return { kind: "panic", code, summary: `Panic(0x${code.toString(16)}): ${PANICS[Number(code)] ?? "unknown panic code"}` };
  }
  const result: DecodedRevert = { kind: "custom", name: decoded.errorName, args, summary: `${decoded.errorName}(${args.map(show).join(", ")})` };
  // RetryFailed(messageId, reason) wraps the receiver's own revert data.
  if (decoded.errorName === "RetryFailed" && typeof args[1] === "string") {
    result.inner = decodeRevertReason(args[1] as Hex, abi);
    result.summary = `RetryFailed: ${result.inner.summary}`;
  }
  return result;
}

function show(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value.startsWith("0x") ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
  if (typeof value === "object" && value !== null)
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${show(v)}`)
      .join(", ")}}`;
  return String(value);
}
