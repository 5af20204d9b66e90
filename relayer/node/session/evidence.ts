/**
 * Faults a culprit's own signed messages prove (staking nodes): hands them to
 * the staking agent, and runs the exchange of signed broadcasts after an echo
 * mismatch, which names the sender of two versions of one broadcast.
 *
 * Every message here is bound to the joint session id, so a proof never pairs
 * messages of two runs (ids.ts).
 */
import { bytesEqual, type FaultProof, type PartyIndex, type ProtocolMessage } from "@mpc-relay/mpc";
import { fromBase64, fromHex, toBase64, type FrameBody, type Operation } from "../frames.ts";
import type { Logger } from "../../shared/log.ts";
import type { MessageAuthenticator, ProvenFault, SignedMessage } from "./types.ts";

/** How long, and for how many sessions, signed broadcasts are kept after a failure, to compare with the other parties'. */
const BROADCASTS_KEPT = { ms: 60_000, sessions: 256 };

/** A session's signed messages, as a fault is reported with them. */
export interface SignedRecord {
  readonly id: string;
  readonly keyId: string;
  readonly operation: Operation;
  readonly participants: readonly PartyIndex[];
  readonly signed: readonly SignedMessage[];
}

export type BroadcastList = Extract<FrameBody, { kind: "broadcasts" }>["messages"];

export class FaultReporter {
  /** Hook for the staking agent: a peer's fault that its own signed messages prove. */
  onFault: (fault: ProvenFault) => void = () => {};
  /** Signed broadcasts of recently failed sessions, by routing id, until they expire. */
  private readonly kept = new Map<string, { record: SignedRecord; until: number }>();

  constructor(
    private readonly auth: MessageAuthenticator | null,
    private readonly log: Logger,
  ) {}

  /** Hands a proven fault on, with the culprit's signature of every message of the proof. */
  report(record: SignedRecord, proof: FaultProof): void {
    const signatures = proof.messages.map((m) => record.signed.find((s) => sameMessage(s.message, m))?.signature ?? null);
    const fields = { sessionId: record.id, keyId: record.keyId, culprit: proof.culprit, fault: proof.kind };
    if (signatures.some((signature) => signature === null)) {
      if (this.auth !== null) this.log.warn("fault proven, but not every message of the proof is signed", fields);
      return;
    }
    this.log.error("peer fault proven by its own signed messages", fields);
    this.onFault({ sessionId: record.id, keyId: record.keyId, operation: record.operation, proof, signatures: signatures as string[] });
  }

  /** The signed broadcasts of a session, as the `broadcasts` frame carries them. */
  broadcasts(record: SignedRecord): BroadcastList {
    return record.signed
      .filter((s) => s.message.to === null)
      .map(({ message, signature }) => ({ protocol: message.protocol, round: message.round, from: message.from, payload: toBase64(message.payload), sig: signature }));
  }

  /** Keeps a failed session's signed broadcasts a while, for comparing with what other participants received. */
  keep(routeId: string, record: SignedRecord): void {
    const signed = record.signed.filter((s) => s.message.to === null);
    if (signed.length === 0) return;
    const now = Date.now();
    for (const [id, kept] of this.kept) if (kept.until < now || this.kept.size >= BROADCASTS_KEPT.sessions) this.kept.delete(id);
    this.kept.set(routeId, { record: { ...record, signed }, until: now + BROADCASTS_KEPT.ms });
  }

  /** A failed session's kept record, while it lasts. */
  keptRecord(routeId: string): SignedRecord | undefined {
    const kept = this.kept.get(routeId);
    return kept !== undefined && kept.until >= Date.now() ? kept.record : undefined;
  }

  /**
   * Another participant's signed broadcasts of a session: a validly signed
   * version of a sender's broadcast that differs from the one we received
   * proves that sender's equivocation. Returns false when the frame was unexpected.
   */
  compare(from: PartyIndex, record: SignedRecord | undefined, messages: BroadcastList): boolean {
    if (this.auth === null || record === undefined || !record.participants.includes(from)) return false;
    const sessionBytes = fromHex(record.id);
    for (const m of messages) {
      const theirs: ProtocolMessage = { sessionId: sessionBytes, keyId: record.keyId, protocol: m.protocol, round: m.round, from: m.from, to: null, payload: fromBase64(m.payload) };
      const ours = record.signed.find((s) => sameSlot(s.message, theirs) && !bytesEqual(s.message.payload, theirs.payload));
      if (ours === undefined || !this.auth.verify(theirs, m.sig)) continue;
      this.report({ ...record, signed: [ours, { message: theirs, signature: m.sig }] }, { kind: "equivocation", culprit: m.from, messages: [ours.message, theirs] });
    }
    return true;
  }
}

/** The same slot of a session: protocol, round, sender and recipient (null: broadcast). */
function sameSlot(a: ProtocolMessage, b: ProtocolMessage): boolean {
  return a.protocol === b.protocol && a.round === b.round && a.from === b.from && a.to === b.to;
}

function sameMessage(a: ProtocolMessage, b: ProtocolMessage): boolean {
  return sameSlot(a, b) && bytesEqual(a.payload, b.payload);
}
