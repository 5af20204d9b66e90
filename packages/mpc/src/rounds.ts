/**
 * A round-based state machine shared by every protocol here. It owns the
 * envelope rules: a message must carry this instance's session id, key id and
 * protocol, come from another participant, be addressed to us (or broadcast),
 * belong to the current round or the next one (a peer is at most one round
 * ahead), and be the only one of its kind from that sender in that round.
 * Anything else aborts the instance (fail closed). Subclasses see complete
 * rounds only.
 */
import { bytesEqual } from "./encoding.ts";
import { type PartyIndex, ProtocolAbort, type ProtocolInstance, type ProtocolMessage, type ProtocolName } from "./types.ts";

/** What every participant sends in a round: one broadcast, a direct message to each peer, or both. */
export interface RoundShape {
  readonly broadcast: boolean;
  readonly direct: boolean;
}

export interface RoundOutput {
  readonly broadcast?: Uint8Array;
  readonly direct?: ReadonlyMap<PartyIndex, Uint8Array>;
}

/** The messages of one complete round, by sender (ours excluded). */
export interface RoundInput {
  readonly broadcast: ReadonlyMap<PartyIndex, Uint8Array>;
  readonly direct: ReadonlyMap<PartyIndex, Uint8Array>;
}

interface Inbox {
  broadcast: Map<PartyIndex, Uint8Array>;
  direct: Map<PartyIndex, Uint8Array>;
}

export abstract class RoundProtocol<Result> implements ProtocolInstance<Result> {
  readonly peers: readonly PartyIndex[];
  private current = 0; // round whose messages we are collecting; 0 before start()
  private readonly inboxes = new Map<number, Inbox>();
  private aborted: ProtocolAbort | null = null;
  private output: Result | undefined;
  private finished = false;

  protected constructor(
    readonly protocol: ProtocolName,
    readonly sessionId: Uint8Array,
    readonly keyId: string,
    readonly self: PartyIndex,
    readonly parties: readonly PartyIndex[],
    private readonly roundCount: number,
  ) {
    this.peers = parties.filter((p) => p !== self);
  }

  get done(): boolean {
    return this.finished;
  }

  /** Message shape of a round (1-based). */
  protected abstract shape(round: number): RoundShape;
  /** Our messages for a round, given that every earlier round was consumed. */
  protected abstract produce(round: number): RoundOutput;
  /** Processes a complete round; the last round returns the result. */
  protected abstract consume(round: number, input: RoundInput): Result | undefined;

  start(): ProtocolMessage[] {
    this.assertAlive();
    if (this.current !== 0) throw new ProtocolAbort(`${this.protocol}: start() called twice`);
    return this.guard(() => {
      const out = this.advance();
      return out.concat(this.drain());
    });
  }

  receive(message: ProtocolMessage): ProtocolMessage[] {
    this.assertAlive();
    if (this.finished) throw new ProtocolAbort(`${this.protocol}: message after the protocol finished`);
    return this.guard(() => {
      this.accept(message);
      return this.current === 0 ? [] : this.drain();
    });
  }

  result(): Result {
    if (this.aborted !== null) throw this.aborted;
    if (!this.finished) throw new Error(`${this.protocol}: result() before the protocol finished`);
    return this.output as Result;
  }

  /** Runs a step; any exception kills the instance and surfaces as a ProtocolAbort. */
  private guard(step: () => ProtocolMessage[]): ProtocolMessage[] {
    try {
      return step();
    } catch (error) {
      const abort = error instanceof ProtocolAbort ? error : new ProtocolAbort(`${this.protocol}: ${(error as Error).message ?? String(error)}`);
      this.aborted = abort;
      this.wipe();
      throw abort;
    }
  }

  /** Drops secret state after an abort or when finished (subclasses override). */
  protected wipe(): void {}

  private assertAlive(): void {
    if (this.aborted !== null) throw this.aborted;
  }

  private accept(m: ProtocolMessage): void {
    if (!(m.sessionId instanceof Uint8Array) || !bytesEqual(m.sessionId, this.sessionId)) {
      throw new ProtocolAbort(`${this.protocol}: message from another session`);
    }
    if (m.keyId !== this.keyId) throw new ProtocolAbort(`${this.protocol}: message for key ${JSON.stringify(m.keyId)}`);
    if (m.protocol !== this.protocol) throw new ProtocolAbort(`${this.protocol}: message of protocol ${m.protocol}`);
    if (!this.peers.includes(m.from)) {
      throw new ProtocolAbort(`${this.protocol}: message from party ${m.from}, who is not a peer in this session`);
    }
    if (m.to !== null && m.to !== this.self) {
      throw new ProtocolAbort(`${this.protocol}: message addressed to party ${m.to}, not to us`, m.from);
    }
    if (!Number.isInteger(m.round) || m.round < 1 || m.round > this.roundCount) {
      throw new ProtocolAbort(`${this.protocol}: round ${m.round} does not exist`, m.from);
    }
    const expected = Math.max(this.current, 1);
    if (m.round < expected || m.round > expected + 1) {
      throw new ProtocolAbort(`${this.protocol}: round ${m.round} message while in round ${this.current} (replay or skipped round)`, m.from);
    }
    if (!(m.payload instanceof Uint8Array)) throw new ProtocolAbort(`${this.protocol}: payload is not bytes`, m.from);
    const shape = this.shape(m.round);
    const kind = m.to === null ? "broadcast" : "direct";
    if (!shape[kind]) throw new ProtocolAbort(`${this.protocol}: unexpected ${kind} message in round ${m.round}`, m.from);
    const inbox = this.inbox(m.round)[kind];
    const first = inbox.get(m.from);
    if (first !== undefined) {
      // A second, different message for one slot is provable equivocation; an identical copy is only out of place.
      const proof = bytesEqual(first, m.payload)
        ? null
        : { kind: "equivocation" as const, culprit: m.from, messages: [this.received(m.round, m.from, m.to, first), this.received(m.round, m.from, m.to, m.payload)] };
      throw new ProtocolAbort(`${this.protocol}: second ${kind} message from party ${m.from} in round ${m.round}`, m.from, proof);
    }
    inbox.set(m.from, m.payload);
  }

  /** The full envelope of a message we received, as its sender built it (for fault proofs). */
  protected received(round: number, from: PartyIndex, to: PartyIndex | null, payload: Uint8Array): ProtocolMessage {
    return { sessionId: this.sessionId, keyId: this.keyId, protocol: this.protocol, round, from, to, payload };
  }

  private inbox(round: number): Inbox {
    let inbox = this.inboxes.get(round);
    if (inbox === undefined) {
      inbox = { broadcast: new Map(), direct: new Map() };
      this.inboxes.set(round, inbox);
    }
    return inbox;
  }

  private complete(round: number): boolean {
    const shape = this.shape(round);
    const inbox = this.inbox(round);
    return (!shape.broadcast || inbox.broadcast.size === this.peers.length) && (!shape.direct || inbox.direct.size === this.peers.length);
  }

  /** Consumes every complete round in order, returning the messages produced meanwhile. */
  private drain(): ProtocolMessage[] {
    const out: ProtocolMessage[] = [];
    while (!this.finished && this.complete(this.current)) {
      const input = this.inbox(this.current);
      this.inboxes.delete(this.current);
      const result = this.consume(this.current, input);
      if (this.current === this.roundCount) {
        this.output = result;
        this.finished = true;
        this.wipe();
      } else {
        out.push(...this.advance());
      }
    }
    return out;
  }

  private advance(): ProtocolMessage[] {
    this.current += 1;
    const round = this.current;
    const shape = this.shape(round);
    const produced = this.produce(round);
    const envelope = { sessionId: this.sessionId, keyId: this.keyId, protocol: this.protocol, round, from: this.self };
    const out: ProtocolMessage[] = [];
    if (shape.broadcast) {
      if (produced.broadcast === undefined) throw new Error(`round ${round} produced no broadcast`);
      out.push({ ...envelope, to: null, payload: produced.broadcast });
    }
    if (shape.direct) {
      for (const peer of this.peers) {
        const payload = produced.direct?.get(peer);
        if (payload === undefined) throw new Error(`round ${round} produced no message for party ${peer}`);
        out.push({ ...envelope, to: peer, payload });
      }
    }
    return out;
  }
}
