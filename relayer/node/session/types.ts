/**
 * What the session engine (engine.ts) and the operations (operations/*.ts)
 * share: the session record, the operation interface and the ports the node
 * plugs in (frame sender, operator signatures on protocol messages).
 */
import type { FaultProof, PartyIndex, ProtocolInstance, ProtocolMessage } from "@mpc-relay/mpc";
import type { NodeConfig } from "../config.ts";
import type { Frame, FrameBody, Operation, PrepareParams } from "../frames.ts";
import type { KeyStore } from "../keystore.ts";
import type { Logger } from "../../shared/log.ts";
import type { NodeMetrics } from "../metrics.ts";
import type { ProtocolSuite, ShareFacts, SignatureLike } from "../protocols.ts";
import type { ValidatorRegistry } from "../validators.ts";
import type { KeyAuthority } from "./authority.ts";
import type { CommitTracker } from "./commit.ts";
import type { RefreshSchedule } from "./schedule.ts";

/** Sends frames to peers (the libp2p transport in the product). */
export interface FrameSender {
  send(to: PartyIndex, frame: Frame): void;
}

/**
 * Operator signatures on protocol messages (staking nodes, relayer/staking/message-signer.ts).
 * With one, every protocol message is signed and every received one must carry its sender's signature.
 */
export interface MessageAuthenticator {
  sign(message: ProtocolMessage): string;
  /** True when `signature` is party `message.from`'s signature of the message. */
  verify(message: ProtocolMessage, signature: string): boolean;
}

/** A fault proven by the culprit's own signed messages (packages/mpc/src/evidence.ts). */
export interface ProvenFault {
  readonly sessionId: string;
  readonly keyId: string;
  readonly operation: Operation;
  readonly proof: FaultProof;
  /** The culprit's signature of each message of the proof, in order. */
  readonly signatures: readonly string[];
}

export type Outcome = { kind: "generation"; generation: string } | { kind: "signature"; signature: SignatureLike } | { kind: "presignature" } | { kind: "recovered" };

/** A received protocol message with its sender's operator signature. */
export interface SignedMessage {
  readonly message: ProtocolMessage;
  readonly signature: string;
}

export interface CoordinatorState {
  readonly candidates: readonly PartyIndex[];
  /** Ready parties in answer order (fastest first), with their nonces. */
  readonly ready: PartyIndex[];
  readonly nonces: Map<PartyIndex, string>;
  readonly refused: Map<PartyIndex, { reason: string; code: string }>;
  readonly done: Map<PartyIndex, { ok: boolean; detail: string }>;
  readonly highestRound: Map<PartyIndex, number>;
  wake: () => void;
}

/** Full signing with the signers named in `prepare` (session/direct.ts): no `start`, each signer starts on its own. */
export interface DirectState {
  /** The signers the coordinator named, as `prepare` lists them. */
  readonly signers: readonly PartyIndex[];
  /** Each named signer's nonce, from the first `ready` it sent this node (this node's own once it prepared). */
  readonly nonces: Map<PartyIndex, string>;
  /** This node's own prepare passed and its `ready` went to the other signers. */
  prepared: boolean;
  /** Signers this node could not run with (no ready by the deadline, or another joint id); reported to the coordinator. */
  readonly disputed: Set<PartyIndex>;
  /** The first named signer that refused. */
  refusal: { party: PartyIndex; reason: string; code: string } | null;
}

export interface Session {
  /** The coordinator's proposal id: routes every frame of the session (frame.sessionId). */
  readonly routeId: string;
  readonly keyId: string;
  readonly params: PrepareParams;
  /** The generation the operation runs on (null for keyGen). */
  readonly generation: string | null;
  readonly coordinator: PartyIndex;
  /** Our contribution to the joint session id. */
  readonly nonce: string;
  state: "prepared" | "running" | "closed";
  /** The joint session id (hex), once `start` fixed the participants; the protocol runs under it. */
  id: string | null;
  jointId: Uint8Array | null;
  participants: PartyIndex[];
  dealers: PartyIndex[] | null;
  instance: ProtocolInstance<unknown> | null;
  early: { from: PartyIndex; body: Extract<FrameBody, { kind: "protocol" }> }[];
  /** Signed messages received, kept to back a fault proof with the culprit's signatures. */
  signed: SignedMessage[];
  /** Signing: the digest this node validated and will sign. */
  digest: Uint8Array | null;
  /** Whether this session reserved the key id (keyGen, reshare) in this process. */
  reserved: boolean;
  timer: NodeJS.Timeout | null;
  startedAt: number;
  outcome: Outcome | null;
  failure: string | null;
  coord: CoordinatorState | null;
  /** Direct start (full signing with named signers), else null. */
  direct: DirectState | null;
  settle: (() => void) | null;
  /**
   * The session's generation was replaced while it ran: "here" (a commit deleted it, engine.ts `generationsChanged`: a
   * conflict, nobody's absence) or the participant that said so (unverified: a retry goes without it unless our own commit follows).
   */
  superseded: "here" | PartyIndex | null;
  /** The party a protocol abort here named, if any (avoided when the coordinator retries). */
  culprit: PartyIndex | null;
}

/** What an operation may use. */
export interface OperationContext<Share extends ShareFacts = ShareFacts, Presignature = unknown> {
  readonly self: PartyIndex;
  readonly store: KeyStore;
  readonly suite: ProtocolSuite<Share, Presignature>;
  readonly validators: ValidatorRegistry;
  readonly authority: KeyAuthority;
  readonly commits: CommitTracker;
  readonly timeouts: NodeConfig["timeouts"];
  readonly limits: NodeConfig["limits"];
  /** The refresh schedule this node keeps (session/schedule.ts); null: it accepts no scheduled refresh. */
  readonly schedule?: RefreshSchedule | null;
  readonly log: Logger;
  readonly metrics: NodeMetrics;
  /** Whether another dealing session of this key is running in this process. */
  isReserved(keyId: string): boolean;
  /** Marks the key busy with this dealing session until it closes. */
  reserve(session: Session): void;
  /** The share of `generation` with its bans applied. */
  loadShare(keyId: string, generation: string): Promise<Share>;
}

/**
 * One key operation as a participant runs it, in straight-line steps:
 * authorize and reserve (before `ready`), check the coordinator's `start`,
 * build the protocol instance, store the result, release on failure.
 */
export interface OperationHandler {
  /** Throws SessionError with the refusal's kind unless this node may and can take part. Reserves what it needs. */
  prepare(session: Session, ctx: OperationContext): Promise<void>;
  /** Throws unless the coordinator's participants (and dealers) are what the prepared parameters allow. */
  checkStart(session: Session, participants: readonly PartyIndex[], dealers: readonly PartyIndex[] | null, ctx: OperationContext): Promise<void>;
  instance(session: Session, ctx: OperationContext): Promise<ProtocolInstance<unknown>>;
  /** Stores what the protocol produced. */
  finish(session: Session, result: unknown, ctx: OperationContext): Promise<Outcome>;
  /** After a failure here: undo what prepare reserved (a keyGen's PENDING record becomes ERROR). */
  release(session: Session, reason: string, ctx: OperationContext): Promise<void>;
}
