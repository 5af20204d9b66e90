/**
 * Why a key operation did not happen, as a kind the callers can act on. The
 * HTTP API maps each kind to one status (api.ts); a participant's refusal
 * carries its kind to the coordinator, so the coordinator's error says whether
 * asking again can help.
 */
import type { PartyIndex } from "@mpc-relay/mpc";

export type SessionErrorKind =
  /** Malformed or out-of-range parameters. */
  | "invalid"
  /** No authority for the operation: not elected on chain, not approved by this node's operator. */
  | "unauthorized"
  /** The key is unknown here. */
  | "not-found"
  /** The key's state does not allow it now (exists, busy, pending, refreshed too recently). */
  | "conflict"
  /** A node's validator refused the signing request. */
  | "rejected"
  /** Not enough nodes answered in time; asking again later may work. */
  | "unavailable"
  /** The protocol failed (a peer sent something wrong, or stopped answering mid-way). */
  | "failed";

export const SESSION_ERROR_KINDS: readonly SessionErrorKind[] = ["invalid", "unauthorized", "not-found", "conflict", "rejected", "unavailable", "failed"];

export class SessionError extends Error {
  constructor(
    readonly kind: SessionErrorKind,
    message: string,
    /** Participants that held the session up (recorded absent). */
    readonly absentees: readonly PartyIndex[] = [],
    options?: { cause?: unknown; startedProtocol?: boolean; avoid?: readonly PartyIndex[]; superseded?: boolean },
  ) {
    super(message, options);
    this.name = "SessionError";
    this.startedProtocol = options?.startedProtocol ?? true;
    this.avoid = options?.avoid ?? absentees;
    this.superseded = options?.superseded ?? false;
  }

  /** The session's sharing was replaced while it ran (here, or so a participant said): signing may move to the new one. */
  readonly superseded: boolean;

  /**
   * Parties a retry should go without: the absentees, and after a direct-start signing (direct.ts) also
   * a refusing signer or both sides of a dispute, which are not recorded absent (nobody can tell who lied).
   */
  readonly avoid: readonly PartyIndex[];

  /** False when the session ended before `start`: no participant ran the protocol. */
  readonly startedProtocol: boolean;

  /** The same error, marked as ended before the protocol started. */
  beforeStart(): SessionError {
    return new SessionError(this.kind, this.message, this.absentees, { cause: this.cause, startedProtocol: false, avoid: this.avoid, superseded: this.superseded });
  }

  /** Transient failures: another attempt, with other signers or later, can succeed. */
  get retryable(): boolean {
    return this.kind === "unavailable" || this.kind === "failed";
  }
}

/** A refusal's kind from the wire; anything unknown counts as a conflict. */
export function refusalKind(code: string): SessionErrorKind {
  return (SESSION_ERROR_KINDS as readonly string[]).includes(code) ? (code as SessionErrorKind) : "conflict";
}

/** Wraps whatever a step threw as a SessionError of `kind` (a SessionError keeps its own kind). */
export function asSessionError(error: unknown, kind: SessionErrorKind): SessionError {
  if (error instanceof SessionError) return error;
  return new SessionError(kind, error instanceof Error ? error.message : String(error), [], { cause: error });
}
