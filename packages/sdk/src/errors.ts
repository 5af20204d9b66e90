/** The SDK's typed errors: each names what it was looking for and keeps the underlying error as `cause`. */
import type { Hex } from "viem";
import type { DecodedRevert } from "./revert.ts";

export class MpcRelayError extends Error {
  /** One line, without the cause's details (viem's convention). */
  readonly shortMessage: string;
  constructor(shortMessage: string, options?: { cause?: unknown }) {
    super(shortMessage, options?.cause === undefined ? undefined : { cause: options.cause });
    this.shortMessage = shortMessage;
    this.name = "MpcRelayError";
  }
}

/** No MessageSent log with this id in the blocks searched. */
export class MessageNotFoundError extends MpcRelayError {
  constructor(
    readonly messageId: Hex,
    readonly searched: { chainId: number; fromBlock: bigint; toBlock: bigint },
  ) {
    super(`no MessageSent with id ${messageId} on chain ${searched.chainId} in blocks ${searched.fromBlock}..${searched.toBlock} (is the source's fromBlock at or before the message?)`);
    this.name = "MessageNotFoundError";
  }
}

/** The transaction is unknown, or emitted no MessageSent of the source gateway (or not at that index). */
export class NoMessageInTransactionError extends MpcRelayError {
  constructor(
    readonly txHash: Hex,
    reason: string,
    options?: { cause?: unknown },
    /** The source chain knows no such transaction (or has not mined it): the hash may be something else, e.g. a message id. */
    readonly unknownTransaction = false,
  ) {
    super(`transaction ${txHash}: ${reason}`, options);
    this.name = "NoMessageInTransactionError";
  }
}

/** A scan of eth_getLogs could not complete (too many calls for the range, or a provider error). */
export class LogScanError extends MpcRelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LogScanError";
  }
}

/** The client has no destination (or no wallet on it) for what was asked. */
export class DestinationNotConfiguredError extends MpcRelayError {
  constructor(
    readonly chainId: number,
    what: string,
  ) {
    super(`no ${what} for destination chain ${chainId}`);
    this.name = "DestinationNotConfiguredError";
  }
}

/** retryMessage or abandonMessage would revert (checked by simulation before sending) or did. */
export class GatewayCallRevertedError extends MpcRelayError {
  constructor(
    readonly call: "retryMessage" | "abandonMessage",
    readonly messageId: Hex,
    readonly reason: DecodedRevert | null,
    options?: { cause?: unknown; txHash?: Hex },
  ) {
    super(`${call} for ${messageId} ${options?.txHash === undefined ? "would revert" : `reverted in ${options.txHash}`}: ${reason?.summary ?? "unknown reason"}`, options);
    this.name = "GatewayCallRevertedError";
  }
}
