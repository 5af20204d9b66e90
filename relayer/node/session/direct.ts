/**
 * Direct start for full signing (issue 12): the coordinator names the t
 * signers in `prepare`; each named signer that passes its own prepare sends
 * `ready`, with its fresh nonce, to every other named signer, and starts the
 * protocol on its own once it holds every signer's nonce. There is no `start`
 * frame: prepare 0.5 + ready 0.5 + the protocol's rounds.
 *
 * What keeps it as safe as `start`:
 * - each signer still derives the joint id from every signer's nonce, its own
 *   fresh one included, and records it before its first protocol message
 *   (engine.ts `begin`), so two runs never share an id;
 * - a signer that sends different nonces to different signers only splits the
 *   joint id: every protocol frame carries its sender's joint id (`sid`), and a
 *   receiver under another id ends the session blaming nobody (engine.ts);
 * - `ready` and `refuse` count only from named signers; the signer set itself
 *   is checked by the signing operation's `prepare` (operations/sign.ts);
 * - readies that arrive before this node's `prepare` are kept per sender, at
 *   most EARLY_READIES_PER_PEER each and for two prepare windows, so one
 *   member's flood evicts only its own;
 * - blame (`directBlame`): the coordinator records absent only a named signer
 *   whose ready never reached the coordinator itself, or one behind in the
 *   protocol; a signer that reports it could not run with another (a missing
 *   ready, another joint id) puts both out of the retry, and neither on record.
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import type { FrameBody, PrepareParams } from "../frames.ts";
import type { CoordinatorState, DirectState, Session } from "./types.ts";

/** Early readies kept per sending member (each is a route id and a nonce). */
export const EARLY_READIES_PER_PEER = 64;
/** How long a signer that held up a direct start is not named again by this coordinator. */
const SUSPECT_MS = 60_000;

export interface DirectDeps {
  readonly self: PartyIndex;
  readonly prepareMs: number;
  send(to: PartyIndex, routeId: string, body: FrameBody): void;
  /** Starts the protocol with these participants and nonces; the engine's checks apply (own nonce, signer set, joint id used once). */
  begin(session: Session, participants: readonly PartyIndex[], nonces: { party: PartyIndex; nonce: string }[]): void;
  /** Ends the session here; `report`: tells the coordinator. */
  fail(session: Session, reason: string, report: boolean): void;
  armTimer(session: Session, ms: number, reason: string): void;
  drop(reason: string): void;
}

/** The named signers when `params` ask for a direct start (full signing with signers), else null. */
export function namedSigners(params: PrepareParams): readonly PartyIndex[] | null {
  return params.operation === "sign" && params.presignId === null && params.signers !== null ? params.signers : null;
}

export class DirectStart {
  /** sender -> route id -> its ready, for sessions this node has not opened yet. */
  private readonly early = new Map<PartyIndex, Map<string, { nonce: string; at: number }>>();
  /** party -> until when this coordinator does not name it. */
  private readonly suspects = new Map<PartyIndex, number>();

  constructor(private readonly deps: DirectDeps) {}

  /** A new session's direct-start state (null if it is not one), with the readies that came before it. */
  open(routeId: string, params: PrepareParams): DirectState | null {
    const signers = namedSigners(params);
    if (signers === null) return null;
    const state: DirectState = { signers, nonces: new Map(), prepared: false, disputed: new Set(), refusal: null };
    const stale = Date.now() - 2 * this.deps.prepareMs;
    for (const party of signers) {
      const kept = this.early.get(party);
      const ready = kept?.get(routeId);
      kept?.delete(routeId);
      if (ready !== undefined && ready.at >= stale && party !== this.deps.self) state.nonces.set(party, ready.nonce);
    }
    return state;
  }

  /** This node's own prepare passed: its nonce goes to every other named signer; starts if every nonce is in. */
  prepared(session: Session): void {
    const direct = session.direct!;
    direct.prepared = true;
    direct.nonces.set(this.deps.self, session.nonce);
    for (const party of new Set(direct.signers)) if (party !== this.deps.self) this.deps.send(party, session.routeId, { kind: "ready", nonce: session.nonce });
    this.deps.armTimer(session, this.deps.prepareMs, "not every named signer was ready");
    this.maybeBegin(session);
  }

  /** A named signer's `ready` (its first nonce counts) or `refuse` (the session ends here). */
  onReadiness(session: Session, from: PartyIndex, body: Extract<FrameBody, { kind: "ready" | "refuse" }>): void {
    const direct = session.direct!;
    if (from === this.deps.self || !direct.signers.includes(from)) return this.deps.drop("unexpected-ready");
    if (session.state !== "prepared") return;
    if (body.kind === "refuse") {
      direct.refusal ??= { party: from, reason: body.reason, code: body.code };
      return this.deps.fail(session, `party ${from} refused: ${body.reason}`, false);
    }
    if (direct.nonces.has(from)) return;
    direct.nonces.set(from, body.nonce);
    this.maybeBegin(session);
  }

  private maybeBegin(session: Session): void {
    const direct = session.direct!;
    if (session.state !== "prepared" || !direct.prepared || this.missing(session).length > 0) return;
    this.deps.begin(
      session,
      direct.signers,
      direct.signers.map((party) => ({ party, nonce: direct.nonces.get(party)! })),
    );
  }

  /** Named signers whose ready has not reached this node. */
  missing(session: Session): PartyIndex[] {
    const direct = session.direct!;
    return [...new Set(direct.signers)].filter((party) => !direct.nonces.has(party));
  }

  /** A ready for a route this node has not opened: kept a while, in the sender's own bounded buffer. */
  keepEarly(from: PartyIndex, routeId: string, nonce: string): void {
    const now = Date.now();
    const kept = this.early.get(from) ?? new Map<string, { nonce: string; at: number }>();
    this.early.set(from, kept);
    for (const [route, ready] of kept) if (ready.at < now - 2 * this.deps.prepareMs) kept.delete(route);
    if (kept.has(routeId)) return;
    if (kept.size >= EARLY_READIES_PER_PEER) {
      kept.delete(kept.keys().next().value!);
      this.deps.drop("early-ready-overflow");
    }
    kept.set(routeId, { nonce, at: now });
  }

  /** Signers that held up a direct start are not named by this coordinator for a while (a retry asks them the classic way). */
  suspect(parties: readonly PartyIndex[]): void {
    const until = Date.now() + SUSPECT_MS;
    for (const party of parties) if (party !== this.deps.self) this.suspects.set(party, until);
  }

  /**
   * The signers to name: this node and the next t-1 candidates after it (in index order, wrapping, so
   * coordinators spread the load), without suspects or parties banned here. Null when too few are left.
   */
  pick(candidates: readonly PartyIndex[], threshold: number, banned: readonly PartyIndex[]): PartyIndex[] | null {
    const self = this.deps.self;
    const now = Date.now();
    const ordered = [...new Set(candidates)].filter((p) => p !== self).sort((a, b) => ((a - self + 1_000_000) % 1_000_000) - ((b - self + 1_000_000) % 1_000_000));
    const others = ordered.filter((p) => !banned.includes(p) && (this.suspects.get(p) ?? 0) <= now);
    if (!candidates.includes(self) || others.length < threshold - 1) return null;
    return [self, ...others.slice(0, threshold - 1)].sort((a, b) => a - b);
  }
}

/**
 * Who held a failed direct-start session up, as its coordinator sees it: `absent` is recorded (needed,
 * and did not answer the coordinator), `avoid` is left out of the retry.
 * - never started here: a refusal puts the refuser out; else the signers whose ready never reached
 *   the coordinator are absent (a member cannot keep an honest signer's ready from the coordinator);
 * - a dispute (a signer could not run with another: a missing ready or another joint id): nobody is
 *   recorded, since either side may lie; every other signer is left out of the retry;
 * - otherwise the engine's rule: participants behind in the protocol.
 */
export function directBlame(session: Session, coord: CoordinatorState, self: PartyIndex, behind: () => PartyIndex[]): { absent: PartyIndex[]; avoid: PartyIndex[] } {
  const direct = session.direct!;
  const others = [...new Set(direct.signers)].filter((p) => p !== self);
  if (session.id === null) {
    if (direct.refusal !== null) return { absent: [], avoid: [direct.refusal.party] };
    const silent = others.filter((p) => !direct.nonces.has(p) && !coord.done.has(p));
    return silent.length > 0 ? { absent: silent, avoid: silent } : { absent: [], avoid: others };
  }
  if (direct.disputed.size > 0) return { absent: [], avoid: others };
  const absent = behind();
  return { absent, avoid: absent };
}
