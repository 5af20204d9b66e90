/**
 * The contract between the threshold-ECDSA protocols (pure, no I/O) and
 * whatever carries their messages (in-process tests, the signer node's
 * network). Every protocol is a message-driven state machine.
 */

/** Party index: 1-based evaluation point of the party's Shamir share. */
export type PartyIndex = number;

export type ProtocolName = "keygen" | "presign" | "sign" | "refresh" | "reshare" | "recover";

/** A protocol message. `to === null` is a broadcast (same bytes to everyone). */
export interface ProtocolMessage {
  readonly sessionId: Uint8Array;
  readonly keyId: string;
  readonly protocol: ProtocolName;
  readonly round: number;
  readonly from: PartyIndex;
  readonly to: PartyIndex | null;
  readonly payload: Uint8Array;
}

/**
 * A running protocol instance held by one party.
 * - `start()` returns the first round's messages.
 * - `receive(msg)` validates the envelope (session, key, protocol, round,
 *   sender, recipient) and payload; it returns the next round's messages once
 *   the current round is complete, otherwise []. It throws `ProtocolAbort`
 *   (naming the culprit when the protocol can) on any failed check; the
 *   instance is then dead.
 * - `result()` is available once `done` is true.
 */
export interface ProtocolInstance<Result> {
  readonly protocol: ProtocolName;
  readonly sessionId: Uint8Array;
  readonly keyId: string;
  readonly self: PartyIndex;
  readonly parties: readonly PartyIndex[];
  readonly done: boolean;
  start(): ProtocolMessage[];
  receive(message: ProtocolMessage): ProtocolMessage[];
  result(): Result;
}

/** Source of randomness; the product passes crypto.getRandomValues-backed bytes, tests may seed one. */
export type RandomBytes = (length: number) => Uint8Array;

/**
 * Faults a third party can check from the culprit's own messages alone
 * (evidence.ts checks them): a dealer's share that fails its Feldman
 * commitments, a commitment vector that does not open the dealer's round-1
 * commitment, and two different messages for one slot (equivocation).
 */
export type FaultKind = "feldman-share" | "commitment-opening" | "equivocation";

/** The culprit's messages that prove a fault of `kind`; signed by the culprit, they convince anyone. */
export interface FaultProof {
  readonly kind: FaultKind;
  readonly culprit: PartyIndex;
  readonly messages: readonly ProtocolMessage[];
}

/**
 * Why a protocol stopped. `culprit` is set when a fault identifies the party;
 * `proof` when, in addition, the culprit's messages prove it to others.
 */
export class ProtocolAbort extends Error {
  constructor(
    readonly reason: string,
    readonly culprit: PartyIndex | null = null,
    readonly proof: FaultProof | null = null,
  ) {
    super(culprit === null ? reason : `${reason} (party ${culprit})`);
    this.name = "ProtocolAbort";
  }
}

/**
 * An echo shows that a party saw other broadcasts than we did: somebody
 * equivocated, but the echo alone can't say who. With broadcasts signed by
 * their senders, the parties can compare what they received and find the
 * sender of two different versions (the signer node does that).
 */
export class BroadcastMismatch extends ProtocolAbort {
  constructor(reason: string) {
    super(reason);
    this.name = "BroadcastMismatch";
  }
}
