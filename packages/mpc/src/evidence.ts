/**
 * Fault proofs anyone can check: a culprit's own protocol messages that
 * together show it broke the protocol. Signed by the culprit (the signer node
 * signs the canonical encoding below with its operator key), they convince a
 * party that never took part in the session, e.g. the staking contract's
 * members voting to remove the culprit.
 *
 * Only faults decidable from the culprit's messages alone qualify: the check
 * must never depend on what the accuser says about anyone else, or an honest
 * party could be framed. So:
 * - feldman-share: the dealer's round-2 broadcast (Feldman vector) and its
 *   round-2 direct message to party j, whose share fails the vector at j;
 * - commitment-opening: the dealer's round-1 broadcast (hash commitment) and
 *   round-2 broadcast whose vector and salt do not open it;
 * - equivocation: two different messages for the same slot (session, key,
 *   protocol, round, sender, recipient).
 * A wrong Schnorr proof, for instance, is not here: its context is the joint
 * session id, which depends on every party's nonce, not just the culprit's.
 */
import { createHash } from "node:crypto";
import { bytesEqual, Reader, Writer } from "./encoding.ts";
import { decodeDirect, dealingCommitHash, parseDealerOpening, parseRound1Commitment, shareMatches } from "./dkg.ts";
import type { FaultKind, FaultProof, PartyIndex, ProtocolMessage, ProtocolName } from "./types.ts";

const MESSAGE_TAG = "mpc-relay/protocol-message/v1";
const HEADER_TAG = "mpc-relay/protocol-message-header/v1";
const PROTOCOLS: readonly ProtocolName[] = ["keygen", "presign", "sign", "refresh", "reshare"];
const DEALING_PROTOCOLS: readonly ProtocolName[] = ["keygen", "refresh", "reshare"];
export const FAULT_KINDS: readonly FaultKind[] = ["feldman-share", "commitment-opening", "equivocation"];

export class InvalidFaultProof extends Error {
  constructor(reason: string) {
    super(`fault proof rejected: ${reason}`);
    this.name = "InvalidFaultProof";
  }
}

/**
 * What a sender signs for a message: the envelope and, as its last 32 bytes,
 * the SHA-256 of the payload (which RelayStaking.removeNode checks against the
 * payload). Hashing a large payload once with SHA-256 keeps signing cheap;
 * keccak256 then only covers this short header.
 */
export function protocolMessageHeader(m: ProtocolMessage): Uint8Array {
  return writeEnvelope(HEADER_TAG, m)
    .raw(new Uint8Array(createHash("sha256").update(m.payload).digest()))
    .finish();
}

/** The canonical bytes of a whole protocol message, as a fault proof carries it. */
export function encodeProtocolMessage(m: ProtocolMessage): Uint8Array {
  return writeEnvelope(MESSAGE_TAG, m).bytes(m.payload).finish();
}

/** Tag, session, key, protocol, round, sender and recipient (0: broadcast); the payload part follows. */
function writeEnvelope(tag: string, m: ProtocolMessage): Writer {
  return new Writer()
    .string(tag)
    .bytes(m.sessionId)
    .string(m.keyId)
    .string(m.protocol)
    .u32(m.round)
    .u32(m.from)
    .u32(m.to ?? 0);
}

export function decodeProtocolMessage(bytes: Uint8Array): ProtocolMessage {
  const r = new Reader(bytes, "protocol message");
  if (r.string() !== MESSAGE_TAG) throw new InvalidFaultProof("not a protocol message encoding (tag)");
  const sessionId = r.bytes(64);
  const keyId = r.string(128);
  const protocol = r.string(16) as ProtocolName;
  if (!PROTOCOLS.includes(protocol)) throw new InvalidFaultProof(`unknown protocol ${JSON.stringify(protocol)}`);
  const round = r.u32();
  const from = r.u32();
  const to = r.u32();
  const payload = r.bytes();
  r.end();
  if (from === 0 || from === to) throw new InvalidFaultProof("bad sender or recipient");
  return { sessionId, keyId, protocol, round, from, to: to === 0 ? null : to, payload };
}

/**
 * Checks that `messages` prove a fault of `kind` and returns the culprit (the
 * sender of every message) with a description; throws InvalidFaultProof otherwise.
 * Authorship (the culprit's signatures) is the caller's to check.
 */
export function checkFaultProof(kind: FaultKind, messages: readonly ProtocolMessage[]): { culprit: PartyIndex; reason: string } {
  if (messages.length !== 2) throw new InvalidFaultProof(`${kind} needs exactly 2 messages, got ${messages.length}`);
  const [a, b] = messages as [ProtocolMessage, ProtocolMessage];
  if (!bytesEqual(a.sessionId, b.sessionId) || a.keyId !== b.keyId || a.protocol !== b.protocol || a.from !== b.from) {
    throw new InvalidFaultProof("the messages are not from one sender in one session");
  }
  const culprit = a.from;
  const where = `${a.protocol} session ${Buffer.from(a.sessionId).toString("hex").slice(0, 16)}, key ${a.keyId}`;
  switch (kind) {
    case "equivocation":
      if (a.round !== b.round || a.to !== b.to) throw new InvalidFaultProof("the messages fill different slots");
      if (bytesEqual(a.payload, b.payload)) throw new InvalidFaultProof("the messages are identical");
      return { culprit, reason: `party ${culprit} sent two different round-${a.round} ${a.to === null ? "broadcasts" : `messages to party ${a.to}`} in ${where}` };
    case "commitment-opening": {
      requireDealing(a.protocol);
      if (a.round !== 1 || a.to !== null || b.round !== 2 || b.to !== null) throw new InvalidFaultProof("needs the round-1 and round-2 broadcasts");
      const committed = decodeOrReject(() => parseRound1Commitment(a.payload));
      if (committed === null) throw new InvalidFaultProof("the sender did not deal");
      const opening = decodeOrReject(() => parseDealerOpening(b.payload, a.protocol === "refresh"));
      if (bytesEqual(dealingCommitHash(a, culprit, opening.commitments, opening.salt), committed)) {
        throw new InvalidFaultProof("the commitment vector opens the round-1 commitment");
      }
      return { culprit, reason: `dealer ${culprit}'s commitment vector does not open its round-1 commitment in ${where}` };
    }
    case "feldman-share": {
      requireDealing(a.protocol);
      if (a.round !== 2 || a.to !== null || b.round !== 2 || b.to === null) throw new InvalidFaultProof("needs the round-2 broadcast and a round-2 direct message");
      const opening = decodeOrReject(() => parseDealerOpening(a.payload, a.protocol === "refresh"));
      const share = decodeOrReject(() => decodeDirect(b.payload)).share;
      if (share === undefined) throw new InvalidFaultProof("the direct message carries no share");
      if (shareMatches(opening.commitments, b.to, share)) throw new InvalidFaultProof("the share matches the Feldman commitments");
      return { culprit, reason: `dealer ${culprit}'s share for party ${b.to} fails its Feldman commitments in ${where}` };
    }
  }
}

/** The proof a ProtocolAbort carries, checked as a stranger would. */
export function checkProof(proof: FaultProof): { culprit: PartyIndex; reason: string } {
  const checked = checkFaultProof(proof.kind, proof.messages);
  if (checked.culprit !== proof.culprit) throw new InvalidFaultProof(`the messages are from party ${checked.culprit}, not ${proof.culprit}`);
  return checked;
}

function requireDealing(protocol: ProtocolName): void {
  if (!DEALING_PROTOCOLS.includes(protocol)) throw new InvalidFaultProof(`${protocol} has no dealing`);
}

/** Malformed content is not a fault of this kind: a proof must show the specific inconsistency. */
function decodeOrReject<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    throw new InvalidFaultProof(`undecodable content: ${(error as Error).message}`);
  }
}
