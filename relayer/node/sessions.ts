/**
 * Sessions between signer nodes: prepare -> ready -> start -> protocol rounds -> done.
 *
 * Any node can coordinate. The coordinator draws a random session id and
 * sends `prepare` (operation, key id, parameters) to the candidates; each one
 * checks its own key store (and, for signing, validates the typed request),
 * opens the session and answers `ready` or `refuse`; the coordinator picks the
 * participants and sends `start`; the protocol instance (relayer/mpc) runs with
 * its messages carried in `protocol` frames; every participant reports `done`.
 * A round that makes no progress within the timeout ends the session, and the
 * participants who fell behind are recorded as absent.
 */
import { randomBytes } from "node:crypto";
import { bytesEqual } from "../mpc/encoding.ts";
import type { FaultProof, PartyIndex, ProtocolInstance, ProtocolMessage, ProtocolName } from "../mpc/types.ts";
import { BroadcastMismatch, ProtocolAbort } from "../mpc/types.ts";
import type { NodeConfig } from "./config.ts";
import {
  FRAME_VERSION,
  fromBase64,
  fromHex,
  toBase64,
  toHex,
  type Frame,
  type FrameBody,
  type Operation,
  type PrepareParams,
} from "./frames.ts";
import type { KeyRecord, KeyStore } from "./keystore.ts";
import type { Logger } from "./log.ts";
import type { NodeMetrics } from "./metrics.ts";
import type { ProtocolSuite, ShareFacts, SignatureLike } from "./protocols.ts";
import { RequestRejected, type ValidatorRegistry } from "./validators.ts";

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

/** A fault proven by the culprit's own signed messages (relayer/mpc/evidence.ts). */
export interface ProvenFault {
  readonly sessionId: string;
  readonly keyId: string;
  readonly operation: Operation;
  readonly proof: FaultProof;
  /** The culprit's signature of each message of the proof, in order. */
  readonly signatures: readonly string[];
}

export class SessionFailed extends Error {
  constructor(
    message: string,
    readonly absentees: PartyIndex[],
    readonly status: number = 503,
  ) {
    super(message);
    this.name = "SessionFailed";
  }
}

type Outcome =
  | { kind: "share"; share: ShareFacts | null }
  | { kind: "signature"; signature: SignatureLike }
  | { kind: "presignature" };

interface CoordinatorState {
  readonly candidates: readonly PartyIndex[];
  readonly ready: PartyIndex[];
  readonly refused: Map<PartyIndex, string>;
  /** Everyone who answered `prepare` at all, even after the choice was made. */
  readonly answered: Set<PartyIndex>;
  readonly done: Map<PartyIndex, { ok: boolean; detail: string }>;
  readonly highestRound: Map<PartyIndex, number>;
  wake: () => void;
}

interface Session {
  readonly id: string;
  readonly sessionId: Uint8Array;
  readonly keyId: string;
  readonly params: PrepareParams;
  readonly coordinator: PartyIndex;
  state: "prepared" | "running" | "closed";
  participants: PartyIndex[];
  dealers: PartyIndex[] | null;
  instance: ProtocolInstance<unknown> | null;
  early: { from: PartyIndex; body: Extract<FrameBody, { kind: "protocol" }> }[];
  /** Signed messages received, kept to back a fault proof with the culprit's signatures. */
  signed: SignedMessage[];
  digest: Uint8Array | null;
  timer: NodeJS.Timeout | null;
  startedAt: number;
  outcome: Outcome | null;
  failure: string | null;
  coord: CoordinatorState | null;
  settle: (() => void) | null;
}

export interface SignResult {
  signature: SignatureLike;
  digest: Uint8Array;
  signers: PartyIndex[];
  sessionId: string;
  presigned: boolean;
  attempts: number;
}

/** A received protocol message with its sender's operator signature. */
interface SignedMessage {
  readonly message: ProtocolMessage;
  readonly signature: string;
}

/** How long, and for how many sessions, signed broadcasts are kept after a failure, to compare with the other parties'. */
const BROADCASTS_KEPT = { ms: 60_000, sessions: 256 };

/** What a fault found in a session is reported with; a failed session's signed broadcasts are kept in this form. */
interface SignedRecord {
  readonly id: string;
  readonly keyId: string;
  readonly operation: Operation;
  readonly participants: readonly PartyIndex[];
  readonly signed: readonly SignedMessage[];
}

const PROTOCOL_OF: Record<Operation, ProtocolName> = {
  keygen: "keygen",
  sign: "sign",
  presign: "presign",
  refresh: "refresh",
  reshare: "reshare",
};

export class SessionManager<Share extends ShareFacts, Presignature> {
  private readonly sessions = new Map<string, Session>();
  /** keyId -> session id of the keyGen / reshare that reserved it in this process. */
  private readonly reserved = new Map<string, string>();
  private readonly work: (() => void)[] = [];
  /** Hook for the presignature pool: called when a key's share changed or the key went away. */
  onKeyChanged: (keyId: string) => void = () => {};
  /** Hook for the staking agent: a peer's fault that its own signed messages prove. */
  onFault: (fault: ProvenFault) => void = () => {};
  /** Signed broadcasts of recently failed sessions, by session id, until they expire. */
  private readonly keptBroadcasts = new Map<string, { record: SignedRecord; until: number }>();

  constructor(
    private readonly self: PartyIndex,
    private readonly store: KeyStore,
    private readonly suite: ProtocolSuite<Share, Presignature>,
    private readonly validators: ValidatorRegistry,
    private readonly sender: FrameSender,
    private readonly timeouts: NodeConfig["timeouts"],
    private readonly signAttempts: number,
    private readonly log: Logger,
    private readonly metrics: NodeMetrics,
    private readonly auth: MessageAuthenticator | null = null,
  ) {}

  activeSessions(): number {
    return this.sessions.size;
  }

  // ------------------------------------------------------------------ operations (this node coordinates)

  /** keyGen: returns the stored key if it is READY already. */
  async keygen(keyId: string, parties: PartyIndex[], threshold: number): Promise<KeyRecord> {
    const existing = await this.store.getKey(keyId);
    if (existing?.status === "READY") return existing;
    const sorted = uniqueSorted(parties);
    if (!sorted.includes(this.self)) throw new SessionFailed("the coordinating node must be one of the key's parties", [], 400);
    if (threshold < 2 || threshold > sorted.length) throw new SessionFailed(`threshold must be in [2, ${sorted.length}]`, [], 400);
    await this.coordinate(keyId, { operation: "keygen", parties: sorted, threshold }, sorted, (ready) =>
      ready.length === sorted.length ? sorted : null,
    );
    return this.requireKey(keyId);
  }

  async refresh(keyId: string): Promise<KeyRecord> {
    const key = await this.requireReadyKey(keyId);
    const parties = key.participants;
    await this.coordinate(keyId, { operation: "refresh" }, parties, (ready) => (ready.length === parties.length ? parties : null));
    return this.requireKey(keyId);
  }

  /** Reshares to a new committee (same public key); t old parties deal. Returns the key as this node now holds it, or null. */
  async reshare(keyId: string, newParties: PartyIndex[], newThreshold: number): Promise<KeyRecord | null> {
    const key = await this.requireReadyKey(keyId);
    const sortedNew = uniqueSorted(newParties);
    if (newThreshold < 2 || newThreshold > sortedNew.length) throw new SessionFailed(`new threshold must be in [2, ${sortedNew.length}]`, [], 400);
    const oldParties = key.participants;
    const candidates = uniqueSorted([...oldParties, ...sortedNew]);
    const params: PrepareParams = {
      operation: "reshare",
      oldParties,
      newParties: sortedNew,
      newThreshold,
      publicKey: key.publicKey ?? "",
    };
    const session = await this.coordinate(keyId, params, candidates, (ready) => {
      if (!sortedNew.every((p) => ready.includes(p))) return null;
      const dealers = pickDealers(oldParties.filter((p) => ready.includes(p)), key.threshold, this.self);
      return dealers === null ? null : { participants: uniqueSorted([...dealers, ...sortedNew]), dealers };
    });
    // Old members that neither dealt nor joined the new committee drop their share now.
    for (const party of oldParties) {
      if (!session.participants.includes(party)) this.sendFrame(party, session.id, { kind: "keyDelete", keyId });
    }
    return this.store.getKey(keyId).then((record) => (record?.status === "READY" ? record : null));
  }

  /** Full signing (presign + online in one session), retried with other signers when one fails. */
  async signFull(keyId: string, request: unknown, firstAttempt = 1, excluded: PartyIndex[] = []): Promise<SignResult> {
    const key = await this.requireReadyKey(keyId);
    const avoid = new Set(excluded);
    let lastError: SessionFailed | null = null;
    for (let attempt = firstAttempt; attempt <= Math.max(firstAttempt, this.signAttempts); attempt++) {
      const candidates = key.participants.filter((p) => p === this.self || !avoid.has(p));
      if (candidates.length < key.threshold) break;
      try {
        const session = await this.coordinate(
          keyId,
          { operation: "sign", request: request as Record<string, unknown>, presignId: null, signers: null },
          candidates,
          (ready) => (ready.length >= key.threshold ? pickSigners(ready, key.threshold, this.self) : null),
        );
        return this.signResult(session, false, attempt);
      } catch (error) {
        if (!(error instanceof SessionFailed) || error.status !== 503) throw error;
        lastError = error;
        for (const party of error.absentees) avoid.add(party);
        this.log.warn("sign attempt failed; retrying with other signers", { keyId, attempt, absentees: error.absentees });
      }
    }
    throw lastError ?? new SessionFailed(`fewer than ${key.threshold} signers available`, [], 503);
  }

  /** One online round from a presignature this node owns; the caller falls back to signFull on failure. */
  async signPresigned(keyId: string, request: unknown, presignId: string, signers: PartyIndex[]): Promise<SignResult> {
    const session = await this.coordinate(
      keyId,
      { operation: "sign", request: request as Record<string, unknown>, presignId, signers },
      signers,
      (ready) => (ready.length === signers.length ? signers : null),
    );
    return this.signResult(session, true, 1);
  }

  /** Runs one presign session coordinated (and owned) by this node; returns its id and signer set. */
  async presign(keyId: string): Promise<{ presignId: string; signers: PartyIndex[] }> {
    const key = await this.requireReadyKey(keyId);
    const session = await this.coordinate(keyId, { operation: "presign" }, key.participants, (ready) =>
      ready.length >= key.threshold ? pickSigners(ready, key.threshold, this.self) : null,
    );
    return { presignId: session.id, signers: session.participants };
  }

  /** keyDelete: no protocol, a broadcast to the key's committee. */
  async deleteKey(keyId: string): Promise<boolean> {
    const key = await this.store.getKey(keyId);
    if (key === null) return false;
    const id = toHex(randomBytes(32));
    for (const party of key.participants) if (party !== this.self) this.sendFrame(party, id, { kind: "keyDelete", keyId });
    await this.store.deleteKey(keyId);
    this.onKeyChanged(keyId);
    this.log.info("key deleted", { keyId });
    return true;
  }

  // ------------------------------------------------------------------ inbound frames

  handleFrame(from: PartyIndex, frame: Frame): void {
    const body = frame.body;
    switch (body.kind) {
      case "prepare":
        void this.onPrepare(from, frame.sessionId, body.keyId, body.params);
        return;
      case "keyDelete":
        void this.onKeyDelete(from, body.keyId);
        return;
      case "absenceProposal":
      case "removalProposal":
      case "vote":
        return; // staking messages: the daemon hands them to the staking agent
    }
    if (body.kind === "broadcasts") {
      this.onBroadcasts(from, frame.sessionId, body.messages);
      return;
    }
    const session = this.sessions.get(frame.sessionId);
    if (session === undefined) {
      this.metrics.framesDropped.inc({ reason: "unknown-session" });
      return;
    }
    switch (body.kind) {
      case "ready":
      case "refuse":
        this.onReadiness(session, from, body.kind === "ready" ? null : body.reason);
        return;
      case "start":
        if (from !== session.coordinator || session.state !== "prepared") return this.drop("unexpected-start");
        void this.onStart(session, body.participants, body.dealers);
        return;
      case "protocol":
        this.onProtocol(session, from, body);
        return;
      case "done":
        this.onDone(session, from, body.ok, body.detail);
        return;
      case "abort":
        if (from === session.coordinator) void this.fail(session, `aborted by the coordinator: ${body.reason}`, false, null, body.reason === "not selected");
        return;
    }
  }

  // ------------------------------------------------------------------ coordinator

  private async coordinate(
    keyId: string,
    params: PrepareParams,
    candidates: readonly PartyIndex[],
    choose: (ready: PartyIndex[]) => PartyIndex[] | { participants: PartyIndex[]; dealers: PartyIndex[] } | null,
  ): Promise<Session> {
    const sessionId = new Uint8Array(randomBytes(32));
    const session = this.openSession(sessionId, keyId, params, this.self);
    const coord: CoordinatorState = {
      candidates,
      ready: [],
      refused: new Map(),
      answered: new Set(),
      done: new Map(),
      highestRound: new Map(),
      wake: () => {},
    };
    session.coord = coord;
    const operation = params.operation;
    try {
      await this.prepareLocal(session);
      coord.ready.push(this.self);
      for (const party of candidates) if (party !== this.self) this.sendFrame(party, session.id, { kind: "prepare", keyId, params });

      // Readiness: stop as soon as the choice is possible (signing needs only the fastest t), or everyone answered, or time is up.
      let chosen = choose([...coord.ready]);
      const deadline = Date.now() + this.timeouts.prepareMs;
      while (chosen === null && coord.ready.length + coord.refused.size < candidates.length && Date.now() < deadline) {
        await this.waitForWake(coord, deadline - Date.now());
        chosen = choose([...coord.ready]);
      }
      if (chosen === null) {
        const silent = candidates.filter((p) => !coord.ready.includes(p) && !coord.refused.has(p));
        const refusals = [...coord.refused].map(([p, reason]) => `${p}: ${reason}`).join("; ");
        await this.recordAbsence(session, silent);
        const status = coord.refused.size > 0 && silent.length === 0 ? 409 : 503;
        const silence = silent.length > 0 ? ` (no answer from: ${silent.join(", ")})` : "";
        throw new SessionFailed(`not enough ready nodes for ${operation}${silence}${refusals ? ` (refused: ${refusals})` : ""}`, silent, status);
      }
      const { participants, dealers } = Array.isArray(chosen) ? { participants: chosen, dealers: null } : chosen;
      for (const party of coord.ready) {
        if (party === this.self) continue;
        if (participants.includes(party)) this.sendFrame(party, session.id, { kind: "start", participants, dealers });
        else this.sendFrame(party, session.id, { kind: "abort", reason: "not selected" });
      }
      if (!participants.includes(this.self)) throw new SessionFailed("the coordinator must take part", [], 500);
      const finished = new Promise<void>((resolve) => (session.settle = resolve));
      await this.onStart(session, participants, dealers);
      await finished;
      // Wait for every participant's `done` (they persist their results), bounded by a round timeout.
      // A signature needs no confirmations: ours is complete and verified, and nobody persists anything.
      const doneDeadline = operation === "sign" && session.failure === null ? Date.now() : Date.now() + this.roundTimeout(session);
      while (session.failure === null && participants.some((p) => p !== this.self && !coord.done.has(p)) && Date.now() < doneDeadline) {
        await this.waitForWake(coord, doneDeadline - Date.now());
      }
      const failedPeer = [...coord.done].find(([, report]) => !report.ok);
      if (session.failure === null && failedPeer !== undefined) session.failure = `party ${failedPeer[0]} failed: ${failedPeer[1].detail}`;
      if (session.failure !== null) {
        const absentees = this.absentees(session);
        await this.recordAbsence(session, absentees);
        for (const party of participants) if (party !== this.self) this.sendFrame(party, session.id, { kind: "abort", reason: session.failure });
        throw new SessionFailed(`${operation} failed: ${session.failure}`, absentees);
      }
      const missing = participants.filter((p) => p !== this.self && !coord.done.has(p));
      // Our own instance finished, so the protocol completed; a missing confirmation is still an absence,
      // and so is a candidate that never answered `prepare` (the session went ahead without it).
      const silent = candidates.filter((p) => p !== this.self && !coord.answered.has(p) && !participants.includes(p));
      await this.recordAbsence(session, [...(operation !== "sign" ? missing : []), ...silent]);
      this.metrics.sessions.inc({ operation, outcome: "ok" });
      return session;
    } catch (error) {
      for (const party of coord.ready) if (party !== this.self && !session.participants.includes(party)) this.sendFrame(party, session.id, { kind: "abort", reason: "session failed" });
      if (session.state !== "closed") await this.fail(session, error instanceof Error ? error.message : String(error), false);
      this.metrics.sessions.inc({ operation, outcome: "failed" });
      if (error instanceof SessionFailed) throw error;
      if (error instanceof RequestRejected) throw new SessionFailed(error.message, [], 422);
      throw new SessionFailed(error instanceof Error ? error.message : String(error), [], 409);
    } finally {
      this.close(session);
    }
  }

  private onReadiness(session: Session, from: PartyIndex, refusal: string | null): void {
    const coord = session.coord;
    if (coord === null || !coord.candidates.includes(from)) return this.drop("unexpected-ready");
    coord.answered.add(from);
    if (coord.ready.includes(from) || coord.refused.has(from)) return;
    if (session.state !== "prepared") {
      // Answered after the choice was made: release it.
      if (refusal === null) this.sendFrame(from, session.id, { kind: "abort", reason: "not selected" });
      return;
    }
    if (refusal === null) coord.ready.push(from);
    else coord.refused.set(from, refusal);
    coord.wake();
  }

  private onDone(session: Session, from: PartyIndex, ok: boolean, detail: string): void {
    const coord = session.coord;
    if (coord === null || !session.participants.includes(from)) return this.drop("unexpected-done");
    coord.done.set(from, { ok, detail });
    coord.wake();
  }

  /** Who held the session up: participants behind the furthest round seen, else those who never confirmed. */
  private absentees(session: Session): PartyIndex[] {
    const coord = session.coord!;
    const peers = session.participants.filter((p) => p !== this.self);
    const furthest = Math.max(0, ...peers.map((p) => coord.highestRound.get(p) ?? 0));
    const behind = peers.filter((p) => !coord.done.has(p) && (coord.highestRound.get(p) ?? 0) < furthest);
    if (behind.length > 0) return behind;
    return peers.filter((p) => !coord.done.has(p));
  }

  private async recordAbsence(session: Session, absentees: PartyIndex[]): Promise<void> {
    if (absentees.length === 0) return;
    this.metrics.absences.inc(absentees.length);
    await this.store.recordAbsence({
      sessionId: session.id,
      keyId: session.keyId,
      operation: session.params.operation,
      absentees,
      at: Date.now(),
    });
    this.log.warn("absence recorded", { sessionId: session.id, keyId: session.keyId, operation: session.params.operation, absentees });
  }

  private waitForWake(coord: CoordinatorState, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, ms));
      coord.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private signResult(session: Session, presigned: boolean, attempts: number): SignResult {
    const outcome = session.outcome;
    if (outcome?.kind !== "signature" || session.digest === null) throw new SessionFailed("signing produced no signature", [], 500);
    return { signature: outcome.signature, digest: session.digest, signers: session.participants, sessionId: session.id, presigned, attempts };
  }

  // ------------------------------------------------------------------ participant

  private async onPrepare(from: PartyIndex, id: string, keyId: string, params: PrepareParams): Promise<void> {
    if (this.sessions.has(id)) return this.drop("duplicate-session");
    const session = this.openSession(fromHex(id), keyId, params, from);
    try {
      await this.prepareLocal(session);
      if (session.state === "closed") {
        // Aborted while we were writing the PENDING record: fail it now that it exists.
        if (params.operation === "keygen") await this.store.markError(keyId, id, session.failure ?? "aborted");
        return;
      }
      this.armTimer(session, this.timeouts.prepareMs * 2, "no start from the coordinator");
      this.sendFrame(from, id, { kind: "ready" });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log.info("prepare refused", { sessionId: id, keyId, operation: params.operation, reason });
      this.sendFrame(from, id, { kind: "refuse", reason: reason.slice(0, 500) });
      this.close(session);
    }
  }

  /** Checks this node's own state for the operation; throws the reason to refuse. */
  private async prepareLocal(session: Session): Promise<void> {
    const { keyId, params } = session;
    const key = await this.store.getKey(keyId);
    switch (params.operation) {
      case "keygen": {
        if (key?.status === "READY") throw new Error(`key ${keyId} exists`);
        if (key?.status === "PENDING" || this.reserved.has(keyId)) throw new Error(`key ${keyId} is PENDING: a keyGen is running`);
        if (!params.parties.includes(this.self)) throw new Error("this node is not among the parties");
        if (params.threshold < 2 || params.threshold > params.parties.length) throw new Error("bad threshold");
        this.reserve(session);
        await this.store.putPending({ keyId, sessionId: session.id, threshold: params.threshold, participants: params.parties });
        return;
      }
      case "sign": {
        const ready = this.requireMember(key, keyId, session.coordinator);
        const { digest } = await this.validators.digestFor(params.request, { keyId, address: ready.address ?? "" });
        session.digest = digest;
        if (params.presignId !== null) {
          const presign = await this.store.getPresign(keyId, params.presignId);
          if (presign === null || presign.consumed) throw new Error(`presignature ${params.presignId} unavailable`);
          if (presign.owner !== session.coordinator) throw new Error("presignature belongs to another coordinator");
        }
        return;
      }
      case "presign":
      case "refresh":
        this.requireMember(key, keyId, session.coordinator);
        return;
      case "reshare": {
        const isOld = params.oldParties.includes(this.self);
        const isNew = params.newParties.includes(this.self);
        if (!isOld && !isNew) throw new Error("this node is in neither committee");
        if (this.reserved.has(keyId)) throw new Error(`key ${keyId} is busy with another keyGen or reshare`);
        if (isOld) {
          const ready = this.requireMember(key, keyId, session.coordinator);
          if (ready.publicKey !== params.publicKey) throw new Error("public key mismatch");
          if (!sameMembers(ready.participants, params.oldParties)) throw new Error("old committee mismatch");
          this.reserve(session);
        } else {
          if (key?.status === "READY") throw new Error(`this node already holds key ${keyId}`);
          if (key?.status === "PENDING") throw new Error(`key ${keyId} is PENDING`);
          this.reserve(session);
          await this.store.putPending({ keyId, sessionId: session.id, threshold: params.newThreshold, participants: params.newParties });
        }
        return;
      }
    }
  }

  private requireMember(key: KeyRecord | null, keyId: string, coordinator: PartyIndex): KeyRecord {
    if (key === null || key.status !== "READY") throw new Error(`key ${keyId} is not READY here`);
    if (!key.participants.includes(this.self)) throw new Error(`this node is not in key ${keyId}'s committee`);
    if (!key.participants.includes(coordinator)) throw new Error(`party ${coordinator} is not in key ${keyId}'s committee`);
    return key;
  }

  private async onStart(session: Session, participants: PartyIndex[], dealers: PartyIndex[] | null): Promise<void> {
    if (!participants.includes(this.self)) return this.fail(session, "started without this node", false);
    session.state = "running";
    session.participants = uniqueSorted(participants);
    session.dealers = dealers === null ? null : uniqueSorted(dealers);
    session.startedAt = Date.now();
    try {
      const instance = await this.createInstance(session);
      if (session.state !== "running") return; // aborted while we were loading the share
      session.instance = instance;
      this.armTimer(session, this.roundTimeout(session), "round timeout");
      this.dispatch(session, instance.start());
      const early = session.early.sort((a, b) => a.body.round - b.body.round);
      session.early = [];
      for (const message of early) this.deliver(session, message.from, message.body);
      if (instance.done && session.outcome === null) await this.finish(session);
    } catch (error) {
      await this.fail(session, error instanceof Error ? error.message : String(error), true);
    }
  }

  private async createInstance(session: Session): Promise<ProtocolInstance<unknown>> {
    const { sessionId, keyId, params } = session;
    const signers = session.participants;
    switch (params.operation) {
      case "keygen":
        if (!sameMembers(signers, params.parties)) throw new Error("keyGen must start with every party");
        return this.suite.keygen({ sessionId, keyId, self: this.self, parties: signers, threshold: params.threshold });
      case "sign": {
        const key = await this.requireReadyKey(keyId);
        if (signers.length !== key.threshold || !signers.every((p) => key.participants.includes(p))) throw new Error("bad signer set");
        if (params.presignId !== null) {
          // Marked consumed on disk before our online partial can leave this node.
          const bytes = await this.store.consumePresign(keyId, params.presignId, signers);
          const presignature = this.suite.decodePresignature(bytes);
          bytes.fill(0);
          return this.suite.onlineSign({ sessionId, keyId, presignature, digest: session.digest! });
        }
        return this.suite.sign({ sessionId, keyId, share: await this.loadShare(keyId), signers, digest: session.digest! });
      }
      case "presign": {
        const key = await this.requireReadyKey(keyId);
        if (signers.length !== key.threshold || !signers.every((p) => key.participants.includes(p))) throw new Error("bad signer set");
        return this.suite.presign({ sessionId, keyId, share: await this.loadShare(keyId), signers });
      }
      case "refresh": {
        const key = await this.requireReadyKey(keyId);
        if (!sameMembers(signers, key.participants)) throw new Error("refresh must start with the whole committee");
        return this.suite.refresh({ sessionId, keyId, share: await this.loadShare(keyId) });
      }
      case "reshare": {
        const dealers = session.dealers;
        if (dealers === null || !dealers.every((p) => params.oldParties.includes(p))) throw new Error("reshare needs dealers from the old committee");
        if (!sameMembers(signers, uniqueSorted([...dealers, ...params.newParties]))) throw new Error("reshare participants mismatch");
        const oldShare = dealers.includes(this.self) ? await this.loadShare(keyId) : null;
        return this.suite.reshare({
          sessionId,
          keyId,
          self: this.self,
          oldShare,
          oldParties: dealers,
          newParties: params.newParties,
          newThreshold: params.newThreshold,
          publicKey: fromHex(params.publicKey),
        });
      }
    }
  }

  private onProtocol(session: Session, from: PartyIndex, body: Extract<FrameBody, { kind: "protocol" }>): void {
    if (body.protocol !== PROTOCOL_OF[session.params.operation] && !(session.params.operation === "sign" && body.protocol === "presign")) {
      return this.drop("wrong-protocol");
    }
    if (body.to !== null && body.to !== this.self) return this.drop("wrong-recipient");
    if (session.state === "prepared") {
      if (session.early.length >= 64) return this.drop("early-overflow");
      session.early.push({ from, body });
      return;
    }
    if (session.state !== "running" || session.instance === null) {
      if (session.state === "running") session.early.push({ from, body });
      return;
    }
    if (!session.participants.includes(from)) return this.drop("not-a-participant");
    this.enqueueWork(() => this.deliver(session, from, body));
  }

  /**
   * Protocol steps are CPU-heavy; they run one per macrotask so control frames
   * (prepare, ready, start) and HTTP requests are answered in between instead
   * of waiting behind a backlog of rounds.
   */
  private enqueueWork(step: () => void): void {
    this.work.push(step);
    if (this.work.length === 1) setImmediate(() => this.runWork());
  }

  private runWork(): void {
    const step = this.work[0];
    if (step === undefined) return;
    try {
      step();
    } finally {
      this.work.shift();
      if (this.work.length > 0) setImmediate(() => this.runWork());
    }
  }

  private deliver(session: Session, from: PartyIndex, body: Extract<FrameBody, { kind: "protocol" }>): void {
    const instance = session.instance;
    if (instance === null || session.state !== "running") return;
    if (!session.participants.includes(from)) return this.drop("not-a-participant");
    const coord = session.coord;
    if (coord !== null) coord.highestRound.set(from, Math.max(coord.highestRound.get(from) ?? 0, body.round));
    const message: ProtocolMessage = {
      sessionId: session.sessionId,
      keyId: session.keyId,
      protocol: body.protocol,
      round: body.round,
      from,
      to: body.to,
      payload: fromBase64(body.payload),
    };
    if (this.auth !== null) {
      if (body.sig === null || !this.auth.verify(message, body.sig)) {
        void this.fail(session, `party ${from} sent a protocol message without a valid operator signature`, true, from);
        return;
      }
      session.signed.push({ message, signature: body.sig });
    }
    try {
      const out = instance.receive(message);
      this.armTimer(session, this.roundTimeout(session), "round timeout");
      this.dispatch(session, out);
      if (instance.done) void this.finish(session);
    } catch (error) {
      const culprit = error instanceof ProtocolAbort ? error.culprit : null;
      if (error instanceof ProtocolAbort && error.proof !== null) this.reportFault(this.record(session), error.proof);
      if (error instanceof BroadcastMismatch) this.shareBroadcasts(session);
      const banned = this.suite.shareAfterAbort(error);
      if (banned !== null) void this.persistBan(session, banned, culprit);
      void this.fail(session, error instanceof Error ? error.message : String(error), true, culprit);
    }
  }

  /** Hands a proven fault to the staking agent, with the culprit's signature of every message of the proof. */
  private reportFault(record: SignedRecord, proof: FaultProof): void {
    const signatures = proof.messages.map((m) => record.signed.find((s) => sameMessage(s.message, m))?.signature ?? null);
    const fields = { sessionId: record.id, keyId: record.keyId, culprit: proof.culprit, fault: proof.kind };
    if (signatures.some((signature) => signature === null)) {
      if (this.auth !== null) this.log.warn("fault proven, but not every message of the proof is signed", fields);
      return;
    }
    this.log.error("peer fault proven by its own signed messages", fields);
    this.onFault({ sessionId: record.id, keyId: record.keyId, operation: record.operation, proof, signatures: signatures as string[] });
  }

  /** An echo showed different broadcasts: send ours, signed by their senders, to the other participants. */
  private shareBroadcasts(session: Session): void {
    const messages = session.signed
      .filter((s) => s.message.to === null)
      .map(({ message, signature }) => ({ protocol: message.protocol, round: message.round, from: message.from, payload: toBase64(message.payload), sig: signature }));
    if (messages.length === 0) return;
    for (const party of session.participants) if (party !== this.self) this.sendFrame(party, session.id, { kind: "broadcasts", messages });
  }

  /**
   * Another participant's signed broadcasts of a session: a validly signed
   * version of a sender's broadcast that differs from the one we received
   * proves that sender's equivocation.
   */
  private onBroadcasts(from: PartyIndex, sessionId: string, messages: Extract<FrameBody, { kind: "broadcasts" }>["messages"]): void {
    const open = this.sessions.get(sessionId);
    const kept = this.keptBroadcasts.get(sessionId);
    const record = open !== undefined ? this.record(open) : kept !== undefined && kept.until >= Date.now() ? kept.record : undefined;
    if (this.auth === null || record === undefined || !record.participants.includes(from)) return this.drop("unexpected-broadcasts");
    const sessionBytes = fromHex(sessionId);
    for (const m of messages) {
      const theirs: ProtocolMessage = { sessionId: sessionBytes, keyId: record.keyId, protocol: m.protocol, round: m.round, from: m.from, to: null, payload: fromBase64(m.payload) };
      const ours = record.signed.find((s) => sameSlot(s.message, theirs) && !bytesEqual(s.message.payload, theirs.payload));
      if (ours === undefined || !this.auth.verify(theirs, m.sig)) continue;
      this.reportFault({ ...record, signed: [ours, { message: theirs, signature: m.sig }] }, { kind: "equivocation", culprit: m.from, messages: [ours.message, theirs] });
    }
  }

  private record(session: Session): SignedRecord {
    return { id: session.id, keyId: session.keyId, operation: session.params.operation, participants: session.participants, signed: session.signed };
  }

  private dispatch(session: Session, messages: ProtocolMessage[]): void {
    for (const message of messages) {
      const body: FrameBody = {
        kind: "protocol",
        protocol: message.protocol,
        round: message.round,
        to: message.to,
        payload: toBase64(message.payload),
        sig: this.auth?.sign(message) ?? null,
      };
      if (message.to === null) {
        for (const party of session.participants) if (party !== this.self) this.sendFrame(party, session.id, body);
      } else {
        this.sendFrame(message.to, session.id, body);
      }
    }
  }

  /** Persists what the protocol produced, then confirms to the coordinator. */
  private async finish(session: Session): Promise<void> {
    if (session.state !== "running" || session.outcome !== null) return;
    const { keyId, params } = session;
    try {
      const result = session.instance!.result();
      switch (params.operation) {
        case "keygen":
        case "refresh":
        case "reshare": {
          const share = result as Share | null;
          session.outcome = { kind: "share", share };
          if (share === null) {
            await this.store.deleteKey(keyId);
          } else {
            await this.store.putReady(
              {
                keyId,
                sessionId: session.id,
                threshold: share.threshold,
                participants: [...share.parties],
                publicKey: toHex(share.publicKey),
                address: share.address,
              },
              this.suite.encodeShare(share),
            );
          }
          this.onKeyChanged(keyId);
          break;
        }
        case "presign": {
          await this.store.putPresign(
            { keyId, presignId: session.id, owner: session.coordinator, signers: session.participants },
            this.suite.encodePresignature(result as Presignature),
          );
          session.outcome = { kind: "presignature" };
          break;
        }
        case "sign": {
          const signature = result as SignatureLike;
          const key = await this.requireReadyKey(keyId);
          if (!this.suite.verify(fromHex(key.publicKey ?? ""), session.digest!, signature)) throw new Error("the signature does not verify");
          session.outcome = { kind: "signature", signature };
          break;
        }
      }
      this.metrics.sessions.inc({ operation: params.operation, outcome: "completed" });
      this.metrics.sessionSeconds.observe({ operation: params.operation }, (Date.now() - session.startedAt) / 1000);
      this.log.info("session completed", { sessionId: session.id, keyId, operation: params.operation, participants: session.participants });
      if (session.coordinator !== this.self) this.sendFrame(session.coordinator, session.id, { kind: "done", ok: true, detail: "" });
      this.settle(session);
      if (session.coordinator !== this.self) this.close(session);
    } catch (error) {
      await this.fail(session, error instanceof Error ? error.message : String(error), true);
    }
  }

  /** Ends a session that failed here; a keyGen's PENDING key becomes ERROR. */
  private async fail(session: Session, reason: string, report: boolean, culprit: PartyIndex | null = null, quiet = false): Promise<void> {
    if (session.state === "closed" || session.failure !== null) return;
    session.failure = reason;
    session.state = "closed";
    if (session.timer !== null) clearTimeout(session.timer);
    const fields = { sessionId: session.id, keyId: session.keyId, operation: session.params.operation, reason, culprit };
    if (quiet) this.log.debug("session released", fields);
    else this.log.warn("session failed", fields);
    if (session.params.operation === "keygen" || (session.params.operation === "reshare" && !session.params.oldParties.includes(this.self))) {
      await this.store.markError(session.keyId, session.id, reason);
    }
    if (report && session.coordinator !== this.self) {
      this.sendFrame(session.coordinator, session.id, { kind: "done", ok: false, detail: reason.slice(0, 500) });
    }
    this.settle(session);
    if (session.coordinator !== this.self) this.close(session);
  }

  /** A co-signer failed a multiplication check: keep the ban with the share until a refresh redoes the setup. */
  private async persistBan(session: Session, share: Share, culprit: PartyIndex | null): Promise<void> {
    const key = await this.store.getKey(session.keyId);
    if (key === null || key.status !== "READY") return;
    await this.store.putReady(
      { keyId: key.keyId, sessionId: key.sessionId, threshold: key.threshold, participants: key.participants, publicKey: key.publicKey, address: key.address },
      this.suite.encodeShare(share),
    );
    this.onKeyChanged(session.keyId);
    this.log.error("co-signer banned for this key after a failed check", { keyId: session.keyId, sessionId: session.id, culprit });
  }

  private async onKeyDelete(from: PartyIndex, keyId: string): Promise<void> {
    const key = await this.store.getKey(keyId);
    if (key === null) return;
    if (!key.participants.includes(from)) {
      this.log.warn("keyDelete from a non-member ignored", { keyId, from });
      return;
    }
    await this.store.deleteKey(keyId);
    this.onKeyChanged(keyId);
    this.log.info("key deleted on request", { keyId, from });
  }

  // ------------------------------------------------------------------ plumbing

  private openSession(sessionId: Uint8Array, keyId: string, params: PrepareParams, coordinator: PartyIndex): Session {
    const session: Session = {
      id: toHex(sessionId),
      sessionId,
      keyId,
      params,
      coordinator,
      state: "prepared",
      participants: [],
      dealers: null,
      instance: null,
      early: [],
      signed: [],
      digest: null,
      timer: null,
      startedAt: Date.now(),
      outcome: null,
      failure: null,
      coord: null,
      settle: null,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  private close(session: Session): void {
    if (session.failure !== null) this.keepBroadcasts(session);
    if (session.timer !== null) clearTimeout(session.timer);
    session.timer = null;
    if (session.state !== "closed" && session.outcome === null && session.failure === null) session.failure = "closed";
    session.state = "closed";
    session.instance = null;
    session.early = [];
    session.signed = [];
    this.sessions.delete(session.id);
    if (this.reserved.get(session.keyId) === session.id) this.reserved.delete(session.keyId);
  }

  /** Keeps a failed session's signed broadcasts a while, for comparing with what other participants received. */
  private keepBroadcasts(session: Session): void {
    const signed = session.signed.filter((s) => s.message.to === null);
    if (signed.length === 0) return;
    const now = Date.now();
    for (const [id, kept] of this.keptBroadcasts) if (kept.until < now || this.keptBroadcasts.size >= BROADCASTS_KEPT.sessions) this.keptBroadcasts.delete(id);
    this.keptBroadcasts.set(session.id, { record: { ...this.record(session), signed }, until: now + BROADCASTS_KEPT.ms });
  }

  private settle(session: Session): void {
    const settle = session.settle;
    session.settle = null;
    settle?.();
    session.coord?.wake();
  }

  private reserve(session: Session): void {
    this.reserved.set(session.keyId, session.id);
  }

  private armTimer(session: Session, ms: number, reason: string): void {
    if (session.timer !== null) clearTimeout(session.timer);
    session.timer = setTimeout(() => void this.fail(session, reason, true), ms);
    session.timer.unref();
  }

  private roundTimeout(session: Session): number {
    const op = session.params.operation;
    return op === "keygen" || op === "refresh" || op === "reshare" ? this.timeouts.keygenRoundMs : this.timeouts.roundMs;
  }

  private sendFrame(to: PartyIndex, sessionId: string, body: FrameBody): void {
    try {
      this.sender.send(to, { v: FRAME_VERSION, id: toHex(randomBytes(16)), ts: Date.now(), from: this.self, sessionId, body });
    } catch (error) {
      this.log.warn("frame not sent", { to, error: String(error) });
    }
  }

  private drop(reason: string): void {
    this.metrics.framesDropped.inc({ reason });
  }

  private async loadShare(keyId: string): Promise<Share> {
    const bytes = await this.store.readShare(keyId);
    try {
      return this.suite.decodeShare(bytes);
    } finally {
      bytes.fill(0);
    }
  }

  private async requireKey(keyId: string): Promise<KeyRecord> {
    const key = await this.store.getKey(keyId);
    if (key === null) throw new SessionFailed(`key ${keyId} not found`, [], 404);
    return key;
  }

  private async requireReadyKey(keyId: string): Promise<KeyRecord> {
    const key = await this.requireKey(keyId);
    if (key.status !== "READY") throw new SessionFailed(`key ${keyId} is ${key.status}`, [], 409);
    if (!key.participants.includes(this.self)) throw new SessionFailed(`this node is not in key ${keyId}'s committee`, [], 409);
    return key;
  }
}

/** The same slot of a session: protocol, round, sender and recipient (null: broadcast). */
function sameSlot(a: ProtocolMessage, b: ProtocolMessage): boolean {
  return a.protocol === b.protocol && a.round === b.round && a.from === b.from && a.to === b.to;
}

function sameMessage(a: ProtocolMessage, b: ProtocolMessage): boolean {
  return sameSlot(a, b) && bytesEqual(a.payload, b.payload);
}

function uniqueSorted(parties: readonly PartyIndex[]): PartyIndex[] {
  return [...new Set(parties)].sort((a, b) => a - b);
}

/** The same parties, whatever the order or repetitions. */
export function sameMembers(a: readonly PartyIndex[], b: readonly PartyIndex[]): boolean {
  const x = uniqueSorted(a);
  const y = uniqueSorted(b);
  return x.length === y.length && x.every((p, i) => p === y[i]);
}

/** The coordinator plus the first t-1 other ready nodes (ready is in answer order: fastest first). */
function pickSigners(ready: readonly PartyIndex[], threshold: number, self: PartyIndex): PartyIndex[] | null {
  const others = ready.filter((p) => p !== self);
  if (!ready.includes(self) || others.length < threshold - 1) return null;
  return uniqueSorted([self, ...others.slice(0, threshold - 1)]);
}

function pickDealers(readyOld: readonly PartyIndex[], threshold: number, self: PartyIndex): PartyIndex[] | null {
  if (readyOld.length < threshold) return null;
  const ordered = readyOld.includes(self) ? [self, ...readyOld.filter((p) => p !== self)] : [...readyOld];
  return uniqueSorted(ordered.slice(0, threshold));
}
