/**
 * One status per message, merged from three views: the source chain (MessageSent and the finality
 * of its block), the target chain (TargetGateway's record) and, optionally, a relayer's API. The
 * chains are authoritative; the relayer only adds `attested`, which no chain records.
 *
 * Lifecycle (MessageLifecycle):
 *   sent       MessageSent is on the source chain, its block not final yet (the client's finality
 *              rule), and the target has not received it.
 *   final      its block is final; the target has not received it; no relayer reports an attestation.
 *   attested   the target has not received it (or is not read), and the relayer reports it attested
 *              or further (a relayer ahead of the target chain: the target view is reported behind).
 *   delivered  the target ran the receiver successfully (first delivery or a retry).
 *   failed     the target stored it failed (MessageFailed; `target.reason` is the receiver's decoded
 *              revert) and a retry now would revert: the receiver still reverts, has no code, or the
 *              gateway is paused (`target.retry.error` says which). It may become retryable later.
 *   retryable  the target stored it failed and retryMessage, simulated now, succeeds: retry() delivers it.
 *   abandoned  its receiver abandoned it after it failed; it can never run.
 */
import type { Hex } from "viem";
import { fetchFailureReason } from "./http.ts";
import type { Message } from "./message.ts";
import type { DecodedRevert } from "./revert.ts";

export type MessageLifecycle = "sent" | "final" | "attested" | "delivered" | "failed" | "retryable" | "abandoned";
export type TargetDeliveryState = "unreceived" | "delivered" | "failed" | "abandoned";

export interface SourceView {
  chainId: number;
  txHash: Hex;
  blockNumber: bigint;
  logIndex: number;
  /** Highest block final under the client's finality rule, when asked. */
  finalBlock: bigint;
  final: boolean;
}

export type TargetView =
  | { kind: "not-configured"; chainId: number }
  | {
      kind: "read";
      chainId: number;
      state: TargetDeliveryState;
      /** The transaction of the newest MessageDelivered / MessageFailed / MessageAbandoned, if found. */
      txHash: Hex | null;
      /**
       * The receiver's revert, decoded from the newest MessageFailed: set for failed/retryable (a failed retry
       * reverts and leaves no event, so that log is the newest); null if it never failed, or for a delivered or
       * abandoned message whose MessageFailed lies in an older scan range than its newest event.
       */
      reason: DecodedRevert | null;
      /** For a failed message: whether retryMessage would succeed now, else why not. */
      retry: { possible: boolean; error: DecodedRevert | null } | null;
    };

export type RelayerView =
  | { kind: "not-configured" }
  /** The API could not be asked or answered an error: the status still comes from the chains. */
  | { kind: "unavailable"; url: string; reason: string }
  /** The relayer has no record of the message. */
  | { kind: "unknown"; url: string }
  | {
      kind: "known";
      url: string;
      state: string;
      deliveryTxHash: Hex | null;
      lastError: string | null;
      /** Failed attempts since the last success (0 from relayers that do not say). */
      attempts: number;
      /** The committee members whose shares made the attestation, when the relayer says. */
      signers: number[] | null;
      history: { state: string; at: number; detail?: string }[];
    };

export type View = "source" | "target" | "relayer";

export interface MessageStatus {
  messageId: Hex;
  state: MessageLifecycle;
  message: Message;
  source: SourceView;
  target: TargetView;
  relayer: RelayerView;
  /** The view that has not caught up with the others (null when they agree); `note` says how. */
  behind: View | null;
  note: string | null;
}

/** How far each view has come: the chain states, and the relayer's record states, on one scale. */
const CHAIN_RANK: Record<Exclude<MessageLifecycle, "attested">, number> = { sent: 0, final: 1, failed: 3, retryable: 3, delivered: 4, abandoned: 4 };
const RELAYER_RANK: Record<string, number> = { seen: 0, final: 1, attested: 2, failed: 3, retried: 3, delivered: 4, abandoned: 4 };

export function mergeStatus(p: { messageId: Hex; message: Message; source: SourceView; target: TargetView; relayer: RelayerView }): MessageStatus {
  const chain = chainState(p.source, p.target);
  const rank = CHAIN_RANK[chain];
  const targetRead = p.target.kind === "read";
  let state: MessageLifecycle = chain;
  let behind: View | null = null;
  let note: string | null = null;
  if (p.relayer.kind === "unknown" && rank >= 1) [behind, note] = ["relayer", `the relayer has no record of a message that is ${chain} on chain`];
  if (p.relayer.kind === "known") {
    const r = p.relayer.state;
    const relayerRank = RELAYER_RANK[r] ?? -1; // "dropped" (a reorg it saw) or a state this SDK does not know
    if (relayerRank >= 2 && rank <= 1) state = "attested";
    if (relayerRank < rank || (relayerRank === -1 && r !== "dropped")) [behind, note] = ["relayer", `relayer says ${r}, the chains say ${chain}`];
    else if (r === "dropped") [behind, note] = ["relayer", `relayer says dropped (a reorg it saw), but the source chain has the message`];
    else if (relayerRank >= 3 && !targetRead) note = `relayer says ${r}; the target chain is not read (no destination client for chain ${p.target.chainId}), so the status stops at attested`;
    else if (relayerRank >= 3 && relayerRank > rank)
      [behind, note] = ["target", `relayer says ${r}, the target chain says ${p.target.kind === "read" ? p.target.state : "?"} (its RPC lags, or a reorg)`];
    else if (relayerRank >= 1 && rank === 0) [behind, note] = ["source", `relayer says ${r}, the source block is not final yet under this client's finality rule`];
    else if (relayerRank === rank && relayerRank === 4 && r !== chain) [behind, note] = ["relayer", `relayer says ${r}, the target chain says ${chain}`];
  }
  return { messageId: p.messageId, state, message: p.message, source: p.source, target: p.target, relayer: p.relayer, behind, note };
}

function chainState(source: SourceView, target: TargetView): Exclude<MessageLifecycle, "attested"> {
  if (target.kind === "read") {
    if (target.state === "delivered" || target.state === "abandoned") return target.state;
    if (target.state === "failed") return target.retry?.possible === true ? "retryable" : "failed";
  }
  return source.final ? "final" : "sent";
}

/** The relayer's record of a message; never throws (a relayer that is down is a view, not an error). */
export async function relayerView(baseUrl: string | undefined, messageId: Hex, timeoutMs = 5_000): Promise<RelayerView> {
  if (baseUrl === undefined) return { kind: "not-configured" };
  const url = `${baseUrl.replace(/\/+$/, "")}/v1/messages/${messageId.toLowerCase()}`;
  let response: Response;
  try {
    // The relayer's own answer only: a redirect could point this client at anything.
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
  } catch (error) {
    const reason = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : fetchFailureReason(error);
    return { kind: "unavailable", url, reason };
  }
  const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  if (response.status === 404) return { kind: "unknown", url };
  if (!response.ok || body === null || typeof body.state !== "string")
    return { kind: "unavailable", url, reason: `answered ${response.status}${typeof body?.error === "string" ? `: ${body.error}` : response.ok ? " without a state" : ""}` };
  return {
    kind: "known",
    url,
    state: body.state,
    deliveryTxHash: (body.deliveryTxHash as Hex | null | undefined) ?? null,
    lastError: (body.lastError as string | null | undefined) ?? null,
    attempts: typeof body.attempts === "number" ? body.attempts : 0,
    signers: Array.isArray(body.signers) && body.signers.every((p) => typeof p === "number") ? (body.signers as number[]) : null,
    history: Array.isArray(body.history) ? (body.history as { state: string; at: number; detail?: string }[]) : [],
  };
}
