/**
 * One message's page, from the SDK's one status: its timeline (the relayer's history where it has
 * one, the chains' facts where it has not), why it has not run, and what a person can do about it.
 * Pure: the status comes in, JSON goes out.
 */
import { isHash } from "viem";
import type { DecodedRevert, MessageStatus } from "@mpc-relay/sdk";
import type { MessageDetail, Remedy, TimelineStep } from "./api-types.ts";

/** How the explorer names the relayer config in the commands it suggests (the operator's own path, if known). */
export interface CommandContext {
  configPath: string;
}

export function messageDetail(s: MessageStatus, context: CommandContext): MessageDetail {
  const target = s.target;
  const relayer = s.relayer;
  return {
    messageId: s.messageId,
    state: s.state,
    message: {
      nonce: s.message.nonce.toString(),
      srcChainId: Number(s.message.srcChainId),
      srcGateway: s.message.srcGateway,
      sender: s.message.sender,
      dstChainId: Number(s.message.dstChainId),
      receiver: s.message.receiver,
      gasLimit: s.message.gasLimit.toString(),
      payload: s.message.payload,
    },
    source: {
      chainId: s.source.chainId,
      txHash: s.source.txHash,
      blockNumber: s.source.blockNumber.toString(),
      logIndex: s.source.logIndex,
      final: s.source.final,
      finalBlock: s.source.finalBlock.toString(),
    },
    target:
      target.kind === "not-configured"
        ? target
        : {
            kind: "read",
            chainId: target.chainId,
            state: target.state,
            txHash: target.txHash,
            reason: target.reason?.summary ?? null,
            retry: target.retry === null ? null : { possible: target.retry.possible, error: target.retry.error?.summary ?? null },
          },
    relayer:
      relayer.kind === "known"
        ? { kind: "known", state: relayer.state, reason: null, attempts: relayer.attempts, lastError: relayer.lastError }
        : { kind: relayer.kind, state: null, reason: relayer.kind === "unavailable" ? relayer.reason : null, attempts: null, lastError: null },
    behind: s.behind === null || s.note === null ? null : { view: s.behind, note: s.note },
    timeline: timeline(s),
    failure: failure(s),
    remedies: remedies(s, context),
  };
}

/**
 * The relayer's history gives the steps their times; the chains decide which steps happened. A relayer
 * that claims a delivery or abandonment the target chain does not show gets no such step (the status's
 * `behind` says it disagrees), and a step's transaction is the chain's own when the chain names one.
 */
function timeline(s: MessageStatus): TimelineStep[] {
  const src = s.source.chainId;
  const dst = Number(s.message.dstChainId);
  const target = s.target.kind === "read" ? s.target : null;
  const sent = (at: number | null): TimelineStep => step("sent", at, `MessageSent in block ${s.source.blockNumber} of chain ${src}`, { chainId: src, hash: s.source.txHash });
  const steps: TimelineStep[] = [];
  const relayer = s.relayer.kind === "known" ? s.relayer : null;
  // What the target chain shows settles delivery and abandonment; without a target view the relayer's word stands, marked as its.
  const targetShows = (state: "delivered" | "abandoned"): boolean => target === null || target.state === state;
  for (const h of relayer?.history ?? []) {
    switch (h.state) {
      case "seen":
        steps.push(sent(h.at));
        break;
      case "final":
        steps.push(step("final", h.at, s.source.final ? `block ${s.source.blockNumber} is final` : `the relayer saw block ${s.source.blockNumber} final; the explorer's RPC does not yet`));
        break;
      case "attested":
        // No chain records an attestation: this is the relayer's report (the page names the signing parties it gives).
        steps.push({ ...step("attested", h.at, "the network signed it, as the relayer reports"), signers: relayer?.signers ?? null });
        break;
      case "delivered":
        if (targetShows("delivered"))
          steps.push(
            step(
              "delivered",
              h.at,
              `delivered on chain ${dst}${target === null ? " (the relayer's report; the target chain is not read)" : ""}`,
              txOn(dst, target?.txHash ?? relayer?.deliveryTxHash ?? null),
            ),
          );
        break;
      case "abandoned":
        if (targetShows("abandoned")) steps.push(step("abandoned", h.at, h.detail ?? "abandoned", txOn(dst, target?.txHash ?? null)));
        break;
      case "failed":
      case "retried":
      case "dropped":
        steps.push(step(h.state, h.at, h.detail ?? h.state));
        break;
    }
  }
  // What the chains say and the relayer's history does not (no relayer, or one that has not caught up).
  const has = (name: TimelineStep["step"]): boolean => steps.some((x) => x.step === name);
  if (!has("sent")) steps.unshift(sent(null));
  if (s.source.final && !has("final")) steps.splice(1, 0, step("final", null, `block ${s.source.blockNumber} is final (final up to ${s.source.finalBlock})`));
  if (target !== null) {
    const reason = target.reason === null ? "" : `: ${target.reason.summary}`;
    if (target.state === "failed" && !has("failed")) steps.push(step("failed", null, `the receiver reverted on chain ${dst}${reason}`, txOn(dst, target.txHash)));
    if (target.state === "delivered" && !has("delivered")) steps.push(step("delivered", null, `delivered on chain ${dst}`, txOn(dst, target.txHash)));
    if (target.state === "abandoned" && !has("abandoned")) steps.push(step("abandoned", null, `its receiver abandoned it on chain ${dst}`, txOn(dst, target.txHash)));
    const lastFailed = steps.findLast((x) => x.step === "failed");
    if (lastFailed !== undefined && lastFailed.tx === null && target.state === "failed") lastFailed.tx = txOn(dst, target.txHash);
  }
  if (s.state === "retryable") steps.push(step("retryable", null, "a retry now would succeed"));
  return steps;
}

function step(name: TimelineStep["step"], at: number | null, text: string, tx: TimelineStep["tx"] = null): TimelineStep {
  return { step: name, at, text, tx, signers: null };
}

/** A transaction reference, only for a well-formed hash (the relayer's are another party's word; the page builds links from them). */
function txOn(chainId: number, hash: string | null): TimelineStep["tx"] {
  return hash !== null && isHash(hash) ? { chainId, hash } : null;
}

/** Why the message has not run, in words; null when it ran, was given up, or is simply on its way. */
function failure(s: MessageStatus): string | null {
  if (s.state === "delivered" || s.state === "abandoned") return null;
  const target = s.target.kind === "read" ? s.target : null;
  if (target !== null && target.state === "failed") {
    const reason = target.reason === null ? "the receiver reverted" : `the receiver reverted: ${target.reason.summary}`;
    const retry =
      target.retry === null ? "" : target.retry.possible ? "; a retry now would succeed" : `; a retry now would revert too${target.retry.error === null ? "" : `: ${target.retry.error.summary}`}`;
    return `${reason}${retry}`;
  }
  if (s.relayer.kind === "known" && s.relayer.lastError !== null) return `the relayer's last attempt failed: ${s.relayer.lastError}`;
  return null;
}

function remedies(s: MessageStatus, { configPath }: CommandContext): Remedy[] {
  const id = s.messageId;
  const target = s.target.kind === "read" ? s.target : null;
  const config = `--config ${configPath}`;
  const retry: Remedy = {
    action: "retry",
    text:
      s.state === "retryable"
        ? "A retry would succeed now: anyone may send it (the relayer also retries failed messages on its own, with backoff)."
        : "Once the receiver's cause is fixed, anyone may run it again; the relayer also retries on its own, with backoff.",
    command: `mpc-relay retry ${id} ${config} --key-file <destination wallet key file>`,
  };
  const addGas: Remedy = {
    action: "add-gas",
    text: `If the receiver ran out of gas (gas limit ${s.message.gasLimit}), its sender can buy more on the source chain; the relayer then retries with it.`,
    command: `mpc-relay add-gas ${id} <extra gas> ${config} --key-file <sender's wallet key file>`,
  };
  const abandon: Remedy = {
    action: "abandon",
    text: "If it can never succeed, its receiver may give it up, so nobody retries it again.",
    command: `mpc-relay abandon ${id} ${config} --key-file <receiver's key file>   (or --via-receiver <function> for a receiver contract)`,
  };
  if (s.state === "retryable") return [retry, abandon];
  if (target !== null && target.state === "failed") return outOfGas(target.reason) ? [addGas, retry, abandon] : [retry, addGas, abandon];
  if (s.relayer.kind === "known" && s.relayer.lastError !== null && s.state !== "delivered" && s.state !== "abandoned")
    return [
      {
        action: "wait",
        text: "The relayer keeps trying with backoff. If it keeps failing, see the Network page: are enough nodes up with the relay key READY, and do the chains answer?",
        command: null,
      },
    ];
  return [];
}

/** A receiver that reverts without data most often ran out of gas. */
function outOfGas(reason: DecodedRevert | null): boolean {
  return reason === null || reason.kind === "empty";
}
