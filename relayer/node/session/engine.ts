/**
 * Sessions between signer nodes: prepare -> ready -> start -> protocol rounds -> done.
 *
 * Any node can coordinate, and no participant trusts the coordinator:
 * - `prepare` names the operation, key, generation and parameters; each node
 *   runs the operation's own `prepare` (operations/*.ts): its authority for
 *   keyGen and reshare, its validators for signing, its own key state, and
 *   answers `ready` with a fresh nonce, or `refuse` with the reason's kind.
 * - `start` names the participants and carries their nonces; each participant
 *   checks its own nonce is there, that the participants are what the
 *   parameters allow, derives the joint session id from every nonce (ids.ts)
 *   and records it durably before its first protocol message, so no run ever
 *   reuses an id and no two runs' messages can be paired into a fault proof.
 * - the protocol instance (packages/mpc) runs under the joint id, its messages
 *   in `protocol` frames that carry the sender's joint id (a receiver under
 *   another one, given other nonces, ends the session and blames nobody);
 *   a keyGen, refresh or reshare result is only held until every holder
 *   confirmed it (commit.ts).
 * A round without progress ends the session; participants that held it up are
 * recorded absent, and so are candidates whose silence stopped it.
 * Full signing with the signers named in `prepare` skips `start`: each signer
 * starts once it holds every signer's `ready` (direct.ts).
 *
 * Longer than our ~400-line rule: the session state machine reads as one flow; what varies per
 * operation lives in operations/*.ts, confirmations in commit.ts, evidence in evidence.ts,
 * direct start's readies, early-ready buffers and blame in direct.ts.
 */
import { randomBytes } from "node:crypto";
import { BroadcastMismatch, ProtocolAbort, type PartyIndex, type ProtocolMessage } from "@mpc-relay/mpc";
import { FRAME_VERSION, fromBase64, toHex, type Frame, type FrameBody, type Operation, type PrepareParams } from "../frames.ts";
import { asSessionError, refusalKind, SessionError, type SessionErrorKind } from "./errors.ts";
import { FaultReporter, type SignedRecord } from "./evidence.ts";
import { DirectStart, directBlame, namedSigners } from "./direct.ts";
import { jointSessionId } from "./ids.ts";
import { uniqueSorted } from "./parties.ts";
import type { CoordinatorState, FrameSender, MessageAuthenticator, OperationContext, OperationHandler, Session } from "./types.ts";

/** How a `done` says the sender's sharing was replaced under the session (generationsChanged). */
const SUPERSEDED = "superseded:";

/** Protocol frames buffered per session before `start` arrives (a peer may start first). */
const EARLY_LIMIT = 1024;

export type Choice = PartyIndex[] | { participants: PartyIndex[]; dealers: PartyIndex[] };

export class SessionEngine {
  private readonly sessions = new Map<string, Session>();
  /** keyId -> routing id of the dealing session (keyGen, refresh, reshare) that reserved it in this process. */
  private readonly reservedKeys = new Map<string, string>();
  private readonly work: (() => void)[] = [];
  readonly faults: FaultReporter;
  readonly context: OperationContext;
  readonly direct: DirectStart;

  constructor(
    context: Omit<OperationContext, "isReserved" | "reserve" | "loadShare">,
    private readonly handlers: Record<Operation, OperationHandler>,
    private readonly sender: FrameSender,
    private readonly auth: MessageAuthenticator | null,
    /** Where this node's proposal (routing) ids come from; they need not be secret, the joint id adds every nonce. */
    private readonly proposalId: () => string = () => toHex(randomBytes(32)),
  ) {
    this.faults = new FaultReporter(auth, context.log);
    this.direct = new DirectStart({
      self: context.self,
      prepareMs: context.timeouts.prepareMs,
      send: (to, routeId, body) => this.sendFrame(to, routeId, body),
      begin: (session, participants, nonces) => void this.begin(session, participants, null, nonces).catch((error: unknown) => this.fail(session, String(error), true)),
      fail: (session, reason, report) => void this.fail(session, reason, report),
      armTimer: (session, ms, reason) => this.armTimer(session, ms, reason),
      drop: (reason) => this.drop(reason),
    });
    this.context = {
      ...context,
      isReserved: (keyId) => this.reservedKeys.has(keyId),
      reserve: (session) => this.reserve(session),
      loadShare: async (keyId, generation) => {
        const key = await context.store.getKey(keyId);
        const bytes = await context.store.readShare(keyId, generation);
        try {
          return context.suite.withBans(context.suite.decodeShare(bytes), key?.generations.find((g) => g.id === generation)?.banned ?? []);
        } finally {
          bytes.fill(0);
        }
      },
    };
  }

  get self(): PartyIndex {
    return this.context.self;
  }

  activeSessions(): number {
    return this.sessions.size;
  }

  /** Whether this node takes part in a session that deals new shares of the key (prepared or running). */
  dealing(keyId: string): boolean {
    return [...this.sessions.values()].some((s) => s.keyId === keyId && !isSigning(s));
  }

  /** Marks a key busy with a dealing session of this process (one at a time per key). */
  private reserve(session: Session): void {
    this.reservedKeys.set(session.keyId, session.routeId);
    session.reserved = true;
  }

  /**
   * A commit changed `keyId`'s generations: signing sessions still running on a generation that is gone here end
   * now, telling their coordinator why, so a signing request moves to the new sharing at once instead of
   * after a round timeout. Nobody is recorded absent for it.
   */
  async generationsChanged(keyId: string): Promise<void> {
    const key = await this.context.store.getKey(keyId);
    const live = new Set(key?.generations.filter((g) => g.holder).map((g) => g.id) ?? []);
    for (const session of [...this.sessions.values()]) {
      // Signing only: a dealing session's own result is what deletes its generation, as it finishes.
      if (!isSigning(session) || session.keyId !== keyId || session.generation === null || live.has(session.generation) || session.state === "closed") continue;
      session.superseded = "here";
      void this.fail(session, `${SUPERSEDED} generation ${session.generation} was replaced by a commit`, true);
    }
  }

  // ------------------------------------------------------------------ coordinator

  /**
   * Runs one session as coordinator: this node prepares like any participant,
   * asks the candidates, picks the participants with `choose` as soon as it
   * can, runs the protocol and returns the finished session. Throws SessionError.
   */
  async coordinate(keyId: string, params: PrepareParams, generation: string | null, candidates: readonly PartyIndex[], choose: (ready: PartyIndex[]) => Choice | null): Promise<Session> {
    if (namedSigners(params) !== null) return this.coordinateDirect(keyId, params, generation);
    const session = this.open(this.proposalId(), keyId, params, generation, this.self);
    const coord: CoordinatorState = { candidates, ready: [], nonces: new Map(), refused: new Map(), done: new Map(), highestRound: new Map(), wake: () => {} };
    session.coord = coord;
    const operation = params.operation;
    try {
      // The candidates check the proposal on their own, so ours runs alongside theirs instead of before.
      const ownPrepare = this.handler(session).prepare(session, this.context);
      for (const party of candidates) if (party !== this.self) this.sendFrame(party, session.routeId, { kind: "prepare", keyId, params, generation });
      await ownPrepare;
      coord.ready.push(this.self);
      coord.nonces.set(this.self, session.nonce);

      // Readiness: stop as soon as the choice is possible (signing needs only the fastest t), or everyone answered, or time is up.
      let chosen = choose([...coord.ready]);
      const deadline = Date.now() + this.context.timeouts.prepareMs;
      while (chosen === null && coord.ready.length + coord.refused.size < candidates.length && Date.now() < deadline) {
        await this.waitForWake(coord, deadline - Date.now());
        chosen = choose([...coord.ready]);
      }
      if (chosen === null) throw await this.notEnoughReady(session, coord);
      const { participants, dealers } = Array.isArray(chosen) ? { participants: chosen, dealers: null } : chosen;
      if (!participants.includes(this.self)) throw new SessionError("invalid", "the coordinator must take part");
      const nonces = participants.map((party) => ({ party, nonce: coord.nonces.get(party)! }));
      for (const party of coord.ready) {
        if (party === this.self) continue;
        if (participants.includes(party)) this.sendFrame(party, session.routeId, { kind: "start", participants, dealers, nonces });
        else this.sendFrame(party, session.routeId, { kind: "abort", reason: "not selected" });
      }
      const finished = new Promise<void>((resolve) => (session.settle = resolve));
      await this.begin(session, participants, dealers, nonces);
      await finished;
      // A presignature is usable only once every signer stored its part: wait for their `done`.
      const doneDeadline = operation === "presign" && session.failure === null ? Date.now() + this.roundTimeout(session) : Date.now();
      while (session.failure === null && participants.some((p) => p !== this.self && !coord.done.has(p)) && Date.now() < doneDeadline) {
        await this.waitForWake(coord, doneDeadline - Date.now());
      }
      const failedPeer = [...coord.done].find(([, report]) => !report.ok);
      if (session.failure === null && failedPeer !== undefined) session.failure = `party ${failedPeer[0]} failed: ${failedPeer[1].detail}`;
      if (session.failure === null && operation === "presign" && participants.some((p) => p !== this.self && !coord.done.has(p))) session.failure = "not every signer stored its presignature";
      if (session.failure !== null && session.superseded !== null) throw supersededError(session);
      if (session.failure !== null) {
        // Failed here before our own protocol instance existed (our check of the start, e.g. a commit took the
        // generation meanwhile): nobody else held anything up, so nobody is recorded absent.
        const absentees = session.instance === null ? [] : this.absentees(session);
        await this.recordAbsence(session, absentees);
        for (const party of participants) if (party !== this.self) this.sendFrame(party, session.routeId, { kind: "abort", reason: session.failure });
        const culprit = session.culprit === null ? [] : [session.culprit];
        throw new SessionError("failed", `${operation} failed: ${session.failure}`, absentees, { avoid: uniqueSorted([...absentees, ...culprit]) });
      }
      this.context.metrics.sessions.inc({ operation, outcome: "ok" });
      return session;
    } catch (error) {
      // Before `start` every candidate may hold a prepared session: release them all.
      const release = session.id === null ? candidates : coord.ready;
      for (const party of release) if (party !== this.self && !session.participants.includes(party)) this.sendFrame(party, session.routeId, { kind: "abort", reason: "session failed" });
      if (session.state !== "closed") await this.fail(session, error instanceof Error ? error.message : String(error), false);
      this.context.metrics.sessions.inc({ operation, outcome: "failed" });
      const failure = asSessionError(error, "failed");
      // Before `start` nobody began the protocol: a presignature named in it is still unused everywhere.
      throw session.id === null ? failure.beforeStart() : failure;
    } finally {
      this.close(session);
    }
  }

  /** Direct start (direct.ts): prepare the named signers, who exchange readies and start without `start`. */
  private async coordinateDirect(keyId: string, params: PrepareParams, generation: string | null): Promise<Session> {
    const session = this.open(this.proposalId(), keyId, params, generation, this.self);
    const signers = [...new Set(session.direct!.signers)];
    const coord: CoordinatorState = { candidates: signers, ready: [], nonces: new Map(), refused: new Map(), done: new Map(), highestRound: new Map(), wake: () => {} };
    session.coord = coord;
    const finished = new Promise<void>((resolve) => (session.settle = resolve));
    try {
      const ownPrepare = this.handler(session).prepare(session, this.context);
      for (const party of signers) if (party !== this.self) this.sendFrame(party, session.routeId, { kind: "prepare", keyId, params, generation });
      await ownPrepare;
      if (session.state === "prepared") this.direct.prepared(session);
      await finished;
      // A signer still waiting for a ready reports it within a prepare window of our start (its own ready
      // reached us before we started): wait for that, or its first protocol message, before blaming anyone.
      const heardBy = session.startedAt + 2 * this.context.timeouts.prepareMs;
      const unheard = () => session.participants.some((p) => p !== this.self && !coord.done.has(p) && !coord.highestRound.has(p));
      while (session.failure !== null && session.id !== null && session.direct!.disputed.size === 0 && unheard() && Date.now() < heardBy) await this.waitForWake(coord, heardBy - Date.now());
      if (session.failure !== null && session.superseded !== null) throw supersededError(session);
      if (session.failure !== null) {
        const { absent, avoid } = directBlame(session, coord, this.self, () => this.absentees(session));
        await this.recordAbsence(session, absent);
        const refusal = session.direct!.refusal;
        const kind = refusal !== null ? refusalKind(refusal.code) : session.id === null ? "unavailable" : "failed";
        throw new SessionError(kind, `${params.operation} failed: ${session.failure}`, absent, { avoid, startedProtocol: session.id !== null });
      }
      this.context.metrics.sessions.inc({ operation: params.operation, outcome: "ok" });
      return session;
    } catch (error) {
      for (const party of signers) if (party !== this.self) this.sendFrame(party, session.routeId, { kind: "abort", reason: "session failed" });
      if (session.state !== "closed") await this.fail(session, error instanceof Error ? error.message : String(error), false);
      this.context.metrics.sessions.inc({ operation: params.operation, outcome: "failed" });
      throw asSessionError(error, "failed");
    } finally {
      this.close(session);
    }
  }

  /** Why too few nodes are ready: the strongest refusal kind, or silence (the silent ones are recorded absent). */
  private async notEnoughReady(session: Session, coord: CoordinatorState): Promise<SessionError> {
    const silent = coord.candidates.filter((p) => !coord.ready.includes(p) && !coord.refused.has(p));
    await this.recordAbsence(session, silent);
    const refusals = [...coord.refused].map(([p, r]) => `${p}: ${r.reason}`).join("; ");
    const kinds = [...coord.refused.values()].map((r) => refusalKind(r.code));
    const precedence: SessionErrorKind[] = ["rejected", "unauthorized", "invalid", "not-found", "conflict"];
    const kind = silent.length > 0 ? "unavailable" : (precedence.find((k) => kinds.includes(k)) ?? "unavailable");
    const silence = silent.length > 0 ? ` (no answer from: ${silent.join(", ")})` : "";
    return new SessionError(kind, `not enough ready nodes for ${session.params.operation}${silence}${refusals ? ` (refused: ${refusals})` : ""}`, silent);
  }

  private onReadiness(session: Session, from: PartyIndex, body: Extract<FrameBody, { kind: "ready" | "refuse" }>): void {
    const coord = session.coord;
    if (coord === null || !coord.candidates.includes(from)) return this.drop("unexpected-ready");
    if (coord.ready.includes(from) || coord.refused.has(from)) return;
    if (session.state !== "prepared") {
      // Answered after the choice was made: release it.
      if (body.kind === "ready") this.sendFrame(from, session.routeId, { kind: "abort", reason: "not selected" });
      return;
    }
    if (body.kind === "ready") {
      coord.ready.push(from);
      coord.nonces.set(from, body.nonce);
    } else {
      coord.refused.set(from, { reason: body.reason, code: body.code });
    }
    coord.wake();
  }

  private onDone(session: Session, from: PartyIndex, body: Extract<FrameBody, { kind: "done" }>): void {
    const coord = session.coord;
    const direct = session.direct;
    if (coord === null || !(session.participants.includes(from) || (direct !== null && direct.signers.includes(from) && from !== this.self))) return this.drop("unexpected-done");
    coord.done.set(from, { ok: body.ok, detail: body.detail });
    if (!body.ok && body.detail.startsWith(SUPERSEDED) && session.state !== "closed") {
      // A participant's sharing was replaced under the session: it can't go on, so neither can we (no round timeout to wait out).
      session.superseded = from;
      void this.fail(session, `party ${from}: ${body.detail}`, false);
    }
    const disputed = (body.disputed ?? []).filter((p) => direct?.signers.includes(p) === true);
    if (direct !== null && !body.ok && disputed.length > 0 && session.id !== null) {
      // Started, and a named signer could not run with another: both sides are left out of the retry, neither recorded (directBlame).
      for (const party of [from, ...disputed]) direct.disputed.add(party);
      if (session.state === "running") void this.fail(session, `party ${from} failed: ${body.detail}`, false);
    }
    coord.wake();
  }

  /** Who held the session up: participants behind the furthest round seen, else those who never reported. */
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
    this.context.metrics.absences.inc(absentees.length);
    const record = { sessionId: session.id ?? session.routeId, keyId: session.keyId, operation: session.params.operation, absentees, at: Date.now() };
    await this.context.store.recordAbsence(record);
    this.context.log.warn("absence recorded", record);
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

  // ------------------------------------------------------------------ inbound frames

  handleFrame(from: PartyIndex, frame: Frame): void {
    const body = frame.body;
    if (body.kind === "prepare") return void this.onPrepare(from, frame.sessionId, body.keyId, body.params, body.generation);
    if (body.kind === "broadcasts") {
      const open = this.sessions.get(frame.sessionId);
      const record = open !== undefined && open.id !== null ? this.record(open) : this.faults.keptRecord(frame.sessionId);
      if (!this.faults.compare(from, record, body.messages)) this.drop("unexpected-broadcasts");
      return;
    }
    const session = this.sessions.get(frame.sessionId);
    if (session === undefined) {
      // A named signer may be ready before this node got the coordinator's prepare (direct.ts).
      if (body.kind === "ready") return this.direct.keepEarly(from, frame.sessionId, body.nonce);
      return this.drop("unknown-session");
    }
    switch (body.kind) {
      case "ready":
      case "refuse":
        return session.direct !== null ? this.direct.onReadiness(session, from, body) : this.onReadiness(session, from, body);
      case "start":
        if (from !== session.coordinator || session.state !== "prepared" || session.direct !== null) return this.drop("unexpected-start");
        return void this.begin(session, body.participants, body.dealers, body.nonces).catch((error: unknown) => this.fail(session, String(error), true));
      case "protocol":
        return this.onProtocol(session, from, body);
      case "done":
        return this.onDone(session, from, body);
      case "abort":
        if (from === session.coordinator) void this.fail(session, `aborted by the coordinator: ${body.reason}`, false, null, body.reason === "not selected");
        return;
      default:
        return this.drop("not-a-session-frame");
    }
  }

  // ------------------------------------------------------------------ participant

  private async onPrepare(from: PartyIndex, routeId: string, keyId: string, params: PrepareParams, generation: string | null): Promise<void> {
    if (this.sessions.has(routeId)) return this.drop("duplicate-session");
    const session = this.open(routeId, keyId, params, generation, from);
    try {
      await this.handler(session).prepare(session, this.context);
      if (session.state === "closed") {
        // Aborted while we were preparing: undo the reservation now that it exists.
        await this.handler(session).release(session, session.failure ?? "aborted", this.context);
        return;
      }
      if (session.direct !== null) return this.direct.prepared(session);
      this.armTimer(session, this.context.timeouts.prepareMs * 2, "no start from the coordinator");
      this.sendFrame(from, routeId, { kind: "ready", nonce: session.nonce });
    } catch (error) {
      const refusal = asSessionError(error, "conflict");
      this.context.metrics.refusals.inc({ operation: params.operation, kind: refusal.kind });
      this.context.log.info("prepare refused", { sessionId: routeId, keyId, operation: params.operation, from, kind: refusal.kind, reason: refusal.message.slice(0, 300) });
      // Direct start: the other named signers stop waiting for our ready (not when the signer list itself is bad).
      const told = session.direct !== null && refusal.kind !== "invalid" ? new Set([from, ...session.direct.signers]) : [from];
      for (const party of told) if (party !== this.self) this.sendFrame(party, routeId, { kind: "refuse", reason: refusal.message.slice(0, 500), code: refusal.kind });
      this.close(session);
    }
  }

  /**
   * Starts the protocol with the coordinator's participants and nonces, once
   * they check out: our own nonce is there unchanged, every participant has
   * exactly one, the operation allows the participants, and the joint id was
   * never used here.
   */
  private async begin(session: Session, participants: readonly PartyIndex[], dealers: readonly PartyIndex[] | null, nonces: readonly { party: PartyIndex; nonce: string }[]): Promise<void> {
    const sorted = uniqueSorted(participants);
    if (!sorted.includes(this.self)) return this.fail(session, "started without this node", false);
    const byParty = new Map<PartyIndex, string>();
    for (const { party, nonce } of nonces) {
      if (byParty.has(party)) return this.fail(session, `start names party ${party}'s nonce twice`, true);
      byParty.set(party, nonce);
    }
    if (byParty.size !== sorted.length || sorted.some((p) => !byParty.has(p))) return this.fail(session, "start's nonces are not the participants'", true);
    if (byParty.get(this.self) !== session.nonce) return this.fail(session, "start does not carry this node's nonce", true);
    session.state = "running";
    session.participants = sorted;
    session.dealers = dealers === null ? null : uniqueSorted(dealers);
    session.startedAt = Date.now();
    try {
      await this.handler(session).checkStart(session, sorted, session.dealers, this.context);
      // Aborted while the check ran: what the check reserved must not outlive the session.
      if (session.state !== "running") return this.close(session);
      const jointId = jointSessionId({ proposalId: session.routeId, keyId: session.keyId, params: session.params, generation: session.generation, dealers: session.dealers, nonces: byParty });
      const id = toHex(jointId);
      if (!(await this.context.store.recordSessionId(id))) throw new SessionError("conflict", `joint session id ${id} was used before: refusing to speak under it again`);
      session.jointId = jointId;
      session.id = id;
      if (session.state !== "running") return; // aborted meanwhile
      const instance = await this.handler(session).instance(session, this.context);
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

  private onProtocol(session: Session, from: PartyIndex, body: Extract<FrameBody, { kind: "protocol" }>): void {
    const op = session.params.operation;
    if (body.protocol !== op && !(op === "sign" && body.protocol === "presign")) return this.drop("wrong-protocol");
    if (body.to !== null && body.to !== this.self) return this.drop("wrong-recipient");
    if (session.state === "closed") {
      // Progress that came after the session failed here still shows who took part (absentees).
      if (session.coord !== null && session.participants.includes(from)) {
        session.coord.highestRound.set(from, Math.max(session.coord.highestRound.get(from) ?? 0, body.round));
        session.coord.wake();
      }
      return;
    }
    if (session.instance === null) {
      if (session.early.length >= EARLY_LIMIT) return this.drop("early-overflow");
      session.early.push({ from, body });
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
    if (instance === null || session.state !== "running" || session.jointId === null) return;
    if (!session.participants.includes(from)) return this.drop("not-a-participant");
    if (body.sid !== session.id) {
      // The sender runs under another joint id: it got other nonces (a signer or coordinator told us apart). Nobody is blamed.
      session.direct?.disputed.add(from);
      void this.fail(session, `party ${from} runs under another joint session id: the participants were given different nonces`, true);
      return;
    }
    const coord = session.coord;
    if (coord !== null) coord.highestRound.set(from, Math.max(coord.highestRound.get(from) ?? 0, body.round));
    const message: ProtocolMessage = { sessionId: session.jointId, keyId: session.keyId, protocol: body.protocol, round: body.round, from, to: body.to, payload: fromBase64(body.payload) };
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
      if (error instanceof ProtocolAbort && error.proof !== null) this.faults.report(this.record(session), error.proof);
      if (error instanceof BroadcastMismatch) this.shareBroadcasts(session);
      const banned = this.context.suite.bannedBy(error);
      if (banned !== null && session.generation !== null) void this.persistBan(session, session.generation, banned);
      void this.fail(session, error instanceof Error ? error.message : String(error), true, culprit);
    }
  }

  /** An echo showed different broadcasts: send ours, signed by their senders, to the other participants. */
  private shareBroadcasts(session: Session): void {
    const messages = this.faults.broadcasts(this.record(session));
    if (messages.length === 0) return;
    for (const party of session.participants) if (party !== this.self) this.sendFrame(party, session.routeId, { kind: "broadcasts", messages });
  }

  private record(session: Session): SignedRecord {
    return { id: session.id ?? session.routeId, keyId: session.keyId, operation: session.params.operation, participants: session.participants, signed: session.signed };
  }

  private dispatch(session: Session, messages: ProtocolMessage[]): void {
    for (const message of messages) {
      const body: FrameBody = {
        kind: "protocol",
        protocol: message.protocol,
        round: message.round,
        to: message.to,
        sid: session.id!,
        payload: Buffer.from(message.payload).toString("base64"),
        sig: this.auth?.sign(message) ?? null,
      };
      if (message.to === null) {
        for (const party of session.participants) if (party !== this.self) this.sendFrame(party, session.routeId, body);
      } else {
        this.sendFrame(message.to, session.routeId, body);
      }
    }
  }

  /** Stores what the protocol produced, then reports to the coordinator. */
  private async finish(session: Session): Promise<void> {
    if (session.state !== "running" || session.outcome !== null) return;
    const operation = session.params.operation;
    try {
      session.outcome = await this.handler(session).finish(session, session.instance!.result(), this.context);
      this.context.metrics.sessions.inc({ operation, outcome: "completed" });
      this.context.metrics.sessionSeconds.observe({ operation }, (Date.now() - session.startedAt) / 1000);
      this.context.log.info("session completed", { sessionId: session.id, keyId: session.keyId, operation, participants: session.participants });
      if (session.coordinator !== this.self) this.sendFrame(session.coordinator, session.routeId, { kind: "done", ok: true, detail: "" });
      this.settle(session);
      if (session.coordinator !== this.self) this.close(session);
    } catch (error) {
      session.outcome = null;
      await this.fail(session, error instanceof Error ? error.message : String(error), true);
    }
  }

  /** Ends a session that failed here and releases what it reserved. */
  private async fail(session: Session, reason: string, report: boolean, culprit: PartyIndex | null = null, quiet = false): Promise<void> {
    if (session.state === "closed" || session.failure !== null) return;
    session.failure = reason;
    session.culprit = culprit;
    session.state = "closed";
    if (session.timer !== null) clearTimeout(session.timer);
    const fields = { sessionId: session.id ?? session.routeId, keyId: session.keyId, operation: session.params.operation, reason: reason.slice(0, 500), culprit };
    if (quiet) this.context.log.debug("session released", fields);
    else this.context.log.warn("session failed", fields);
    await this.handler(session)
      .release(session, reason, this.context)
      .catch((error: unknown) => this.context.log.error("releasing a failed session failed", { ...fields, error: String(error) }));
    if (session.direct !== null && session.id === null) for (const party of this.direct.missing(session)) session.direct.disputed.add(party);
    const disputed = session.direct !== null && session.direct.disputed.size > 0 ? { disputed: [...session.direct.disputed] } : {};
    if (report && session.coordinator !== this.self) this.sendFrame(session.coordinator, session.routeId, { kind: "done", ok: false, detail: reason.slice(0, 500), ...disputed });
    this.settle(session);
    if (session.coordinator !== this.self) this.close(session);
  }

  /** A co-signer failed a multiplication check: ban it in the generation the session used (a newer generation is unaffected). */
  private async persistBan(session: Session, generation: string, party: PartyIndex): Promise<void> {
    if (await this.context.store.addBan(session.keyId, generation, party)) {
      this.context.log.error("co-signer banned for this key generation after a failed check", { keyId: session.keyId, generation, sessionId: session.id, party });
    }
  }

  // ------------------------------------------------------------------ plumbing

  private handler(session: Session): OperationHandler {
    return this.handlers[session.params.operation];
  }

  private open(routeId: string, keyId: string, params: PrepareParams, generation: string | null, coordinator: PartyIndex): Session {
    const session: Session = {
      routeId,
      keyId,
      params,
      generation,
      coordinator,
      nonce: toHex(randomBytes(32)),
      state: "prepared",
      id: null,
      jointId: null,
      participants: [],
      dealers: null,
      instance: null,
      early: [],
      signed: [],
      digest: null,
      reserved: false,
      timer: null,
      startedAt: Date.now(),
      outcome: null,
      failure: null,
      coord: null,
      direct: this.direct.open(routeId, params),
      settle: null,
      superseded: null,
      culprit: null,
    };
    this.sessions.set(routeId, session);
    return session;
  }

  private close(session: Session): void {
    if (session.failure !== null && session.id !== null) this.faults.keep(session.routeId, this.record(session));
    if (session.timer !== null) clearTimeout(session.timer);
    session.timer = null;
    if (session.state !== "closed" && session.outcome === null && session.failure === null) session.failure = "closed";
    session.state = "closed";
    session.instance = null;
    session.early = [];
    session.signed = [];
    this.sessions.delete(session.routeId);
    if (session.reserved && this.reservedKeys.get(session.keyId) === session.routeId) this.reservedKeys.delete(session.keyId);
  }

  private settle(session: Session): void {
    const settle = session.settle;
    session.settle = null;
    settle?.();
    session.coord?.wake();
  }

  private armTimer(session: Session, ms: number, reason: string): void {
    if (session.timer !== null) clearTimeout(session.timer);
    session.timer = setTimeout(() => void this.fail(session, reason, true), ms);
    session.timer.unref();
  }

  roundTimeout(session: Pick<Session, "params">): number {
    const op = session.params.operation;
    return op === "keygen" || op === "refresh" || op === "reshare" ? this.context.timeouts.keygenRoundMs : this.context.timeouts.roundMs;
  }

  sendFrame(to: PartyIndex, sessionId: string, body: FrameBody): void {
    try {
      this.sender.send(to, { v: FRAME_VERSION, id: toHex(randomBytes(16)), ts: Date.now(), from: this.self, sessionId, body });
    } catch (error) {
      this.context.log.warn("frame not sent", { to, error: String(error) });
    }
  }

  private drop(reason: string): void {
    this.context.metrics.framesDropped.inc({ reason });
  }
}

/** A session whose sharing was replaced: a conflict when it happened here, else a failure that avoids the (unverified) claimant. */
function supersededError(session: Session): SessionError {
  const message = `${session.params.operation}: ${session.failure ?? "superseded"}`;
  if (session.superseded === "here") return new SessionError("conflict", message, [], { superseded: true });
  return new SessionError("failed", message, [], { superseded: true, avoid: session.superseded === null ? [] : [session.superseded] });
}

/** A session that signs (full or presigning) rather than deals new shares. */
function isSigning(session: Session): boolean {
  return session.params.operation === "sign" || session.params.operation === "presign";
}

/** The same parties, whatever the order or repetitions. */
export function sameMembers(a: readonly PartyIndex[], b: readonly PartyIndex[]): boolean {
  const x = uniqueSorted(a);
  const y = uniqueSorted(b);
  return x.length === y.length && x.every((p, i) => p === y[i]);
}
