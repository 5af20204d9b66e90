/**
 * The dealing protocol behind key generation, refresh and resharing (Feldman
 * VSS with commit-then-open and Schnorr proofs, as in the DKLs23 setup /
 * ePrint 2022/374), plus the pairwise zero-sharing seeds and multiplication
 * setups every new committee needs.
 *
 * Roles: dealers each share one polynomial; receivers (the new committee) sum
 * what they get. Keygen: everyone deals a random secret. Refresh: everyone
 * deals a zero-constant polynomial added to the old shares. Reshare: t old
 * parties deal lambda_i * x_i to a new committee.
 *
 * Rounds (ROUNDS = max(3, 1 + MUL_SETUP_FLOWS)):
 *  1. broadcast: session nonce, hash commitment to the dealer's Feldman vector;
 *     direct (receiver pairs): commitment to a zero-seed contribution.
 *  2. joint session id = H(coordinator session, key, roles, every nonce).
 *     broadcast: hash of every round-1 broadcast (checked before anyone is
 *     blamed), the Feldman vector, its opening salt, a Schnorr proof of the
 *     first committed coefficient bound to the joint session id;
 *     direct: the receiver's share, the seed opening, multiplication-setup flow 1.
 *  3. broadcast: echo of the transcript hash (every broadcast seen, the public
 *     key and public shares), so equivocation is detected; direct: setup flow 2.
 *  4.. direct: remaining setup flows. The result is ready after the last one.
 *
 * Longer than our ~400-line rule: one protocol as one straight-line state machine, its rounds in
 * order, so a reviewer checks it against the paper top to bottom.
 */
import { add, type Point, IdentityPointError, mulBase, pointsEqual, addScalars, sum } from "./curve.ts";
import { bytesEqual, Reader, Writer } from "./encoding.ts";
import { ethereumAddress, type KeyShare } from "./keyshare.ts";
import { type AliceSetup, type BobSetup, createMulSetup, MUL_SETUP_FLOWS, type MulSetupParty } from "./multiply.ts";
import { RoundProtocol, type RoundInput, type RoundOutput, type RoundShape } from "./rounds.ts";
import { proveKnowledge, readProof, type SchnorrProof, verifyKnowledge, writeProof } from "./schnorr.ts";
import { Transcript } from "./transcript.ts";
import { BroadcastMismatch, type PartyIndex, ProtocolAbort, type RandomBytes } from "./types.ts";
import { evaluateCommitments, evaluatePolynomial, randomPolynomial, verifyShare } from "./vss.ts";
import { combineZeroSeed, commitZeroSeedContribution } from "./zero-shares.ts";

export const DEALING_ROUNDS = Math.max(3, 1 + MUL_SETUP_FLOWS);

export interface DealingConfig {
  readonly protocol: "keygen" | "refresh" | "reshare";
  readonly sessionId: Uint8Array;
  readonly keyId: string;
  readonly self: PartyIndex;
  /** Sorted. */
  readonly dealers: readonly PartyIndex[];
  /** Sorted: the committee that ends up holding the key. */
  readonly receivers: readonly PartyIndex[];
  /** Threshold of the receivers' sharing. */
  readonly threshold: number;
  /** Our polynomial's constant term when we deal (ignored for refresh, whose constant is zero). */
  readonly dealtSecret: bigint | null;
  /** Refresh: every dealt polynomial has constant term zero (its commitment is omitted). */
  readonly zeroConstant: boolean;
  /** Reshare: the commitment to each dealer's constant term must be lambda_d * X_d. */
  readonly expectedConstants: ReadonlyMap<PartyIndex, Point> | null;
  /** Refresh and reshare: the public key must come out unchanged. */
  readonly expectedPublicKey: Point | null;
  /** Refresh: old share and public shares the dealt zero-sharing is added to. */
  readonly baseShare: bigint;
  readonly basePublicShares: ReadonlyMap<PartyIndex, Point> | null;
  readonly rng: RandomBytes;
}

export interface DealerOpening {
  readonly commitments: (Point | null)[];
  readonly salt: Uint8Array;
  readonly proof: SchnorrProof | null;
}

// Flags of the direct payload.
const HAS_SHARE = 1;
const HAS_SEED_COMMIT = 2;
const HAS_SEED_OPEN = 4;
const HAS_FLOW_AS_ALICE = 8; // sender acts as alice in this flow
const HAS_FLOW_AS_BOB = 16;

export interface DirectPayload {
  share?: bigint;
  seedCommit?: Uint8Array;
  seedOpen?: Uint8Array;
  flowAsAlice?: Uint8Array;
  flowAsBob?: Uint8Array;
}

function encodeDirect(p: DirectPayload): Uint8Array {
  const flags =
    (p.share !== undefined ? HAS_SHARE : 0) |
    (p.seedCommit !== undefined ? HAS_SEED_COMMIT : 0) |
    (p.seedOpen !== undefined ? HAS_SEED_OPEN : 0) |
    (p.flowAsAlice !== undefined ? HAS_FLOW_AS_ALICE : 0) |
    (p.flowAsBob !== undefined ? HAS_FLOW_AS_BOB : 0);
  const w = new Writer().u8(flags);
  if (p.share !== undefined) w.scalar(p.share);
  if (p.seedCommit !== undefined) w.raw(p.seedCommit);
  if (p.seedOpen !== undefined) w.raw(p.seedOpen);
  if (p.flowAsAlice !== undefined) w.bytes(p.flowAsAlice);
  if (p.flowAsBob !== undefined) w.bytes(p.flowAsBob);
  return w.finish();
}

/** Decodes a dealing protocol's direct payload (also used to check fault proofs). */
export function decodeDirect(bytes: Uint8Array): DirectPayload {
  const r = new Reader(bytes, "dealing direct message");
  const flags = r.u8();
  if (flags >= 32) throw new Error("unknown flags");
  const p: DirectPayload = {};
  // A refresh share may legitimately be zero only with negligible probability; verifyShare rejects it.
  if (flags & HAS_SHARE) p.share = r.scalar(true);
  if (flags & HAS_SEED_COMMIT) p.seedCommit = r.raw(32);
  if (flags & HAS_SEED_OPEN) p.seedOpen = r.raw(32);
  if (flags & HAS_FLOW_AS_ALICE) p.flowAsAlice = r.bytes();
  if (flags & HAS_FLOW_AS_BOB) p.flowAsBob = r.bytes();
  r.end();
  return p;
}

/** A dealer's round-1 hash commitment to its Feldman vector, bound to the session envelope and the dealer. */
export function dealingCommitHash(
  envelope: { readonly sessionId: Uint8Array; readonly keyId: string; readonly protocol: string },
  dealer: PartyIndex,
  commitments: readonly (Point | null)[],
  salt: Uint8Array,
): Uint8Array {
  const t = new Transcript("dealing-commit")
    .absorb("session", envelope.sessionId)
    .absorb("key", envelope.keyId)
    .absorb("protocol", envelope.protocol)
    .absorb("dealer", dealer)
    .absorb("count", commitments.length);
  for (const C of commitments) t.absorb("C", C ?? new Uint8Array(0));
  return t.absorb("salt", salt).digest();
}

/** The commitment hash of a dealer's round-1 broadcast (nonce, dealer flag, hash); null for a non-dealer. */
export function parseRound1Commitment(bytes: Uint8Array): Uint8Array | null {
  const r = new Reader(bytes, "dealing round 1");
  r.raw(32);
  const dealing = r.u8();
  if (dealing > 1) throw new Error("dealer flag must be 0 or 1");
  const hash = dealing === 1 ? r.raw(32) : null;
  r.end();
  return hash;
}

/**
 * A dealer's round-2 broadcast after its 32-byte round-1 echo: the Feldman
 * vector (refresh omits the zero constant), the opening salt and a Schnorr
 * proof of the first committed coefficient.
 */
export function parseDealerOpening(bytes: Uint8Array, zeroConstant: boolean): DealerOpening {
  const r = new Reader(bytes.subarray(32), "dealer opening");
  const count = r.u32();
  if (count < 1 || count > 256) throw new Error(`commitment vector has ${count} entries`);
  const commitments: (Point | null)[] = [];
  for (let k = 0; k < count; k++) commitments.push(k === 0 && zeroConstant ? null : r.point());
  const salt = r.raw(32);
  const proof = commitments.some((C) => C !== null) ? readProof(r) : null;
  r.end();
  return { commitments, salt, proof };
}

/** True when `value` is the share at `x` of the polynomial the dealer committed to (a zero polynomial of degree 0 has value 0). */
export function shareMatches(commitments: readonly (Point | null)[], x: PartyIndex, value: bigint): boolean {
  return commitments.every((C) => C === null) ? value === 0n : verifyShare(commitments, x, value);
}

/** Sub-session id of the multiplication setup between `alice` and `bob`. */
function mulSetupSid(jointSessionId: Uint8Array, alice: PartyIndex, bob: PartyIndex): Uint8Array {
  return new Transcript("mul-setup-sid").absorb("session", jointSessionId).absorb("alice", alice).absorb("bob", bob).digest();
}

export class DealingProtocol extends RoundProtocol<KeyShare | null> {
  private readonly isDealer: boolean;
  private readonly isReceiver: boolean;
  private readonly receiverPeers: PartyIndex[];
  private readonly nonce: Uint8Array;
  private polynomial: bigint[] | null = null;
  private opening: DealerOpening | null = null;
  private readonly seedContributions = new Map<PartyIndex, Uint8Array>();

  // Learned from the rounds.
  private readonly nonces = new Map<PartyIndex, Uint8Array>();
  private readonly commitHashes = new Map<PartyIndex, Uint8Array>();
  /** Kept so that a dealer whose opening fails can be proven at fault. */
  private readonly round1Broadcasts = new Map<PartyIndex, Uint8Array>();
  private readonly seedCommits = new Map<PartyIndex, Uint8Array>();
  private readonly broadcastLog = new Transcript("dealing-broadcasts");
  private jointSessionId: Uint8Array | null = null;
  private readonly asAlice = new Map<PartyIndex, MulSetupParty>();
  private readonly asBob = new Map<PartyIndex, MulSetupParty>();
  private readonly pendingAsAlice = new Map<PartyIndex, Uint8Array>();
  private readonly pendingAsBob = new Map<PartyIndex, Uint8Array>();
  private readonly zeroSeeds = new Map<PartyIndex, Uint8Array>();
  private secretShare = 0n;
  private publicKey: Point | null = null;
  private publicShares = new Map<PartyIndex, Point>();
  private echo: Uint8Array | null = null;
  private readonly ownBroadcasts = new Map<number, Uint8Array>();
  /** Hash of every round-1 broadcast, echoed in round 2 so nonce or commitment equivocation stops us before anyone is blamed. */
  private round1Echo: Uint8Array | null = null;

  /** Hash of the coordinator session id, key id and protocol, for commitments made before the joint session id exists. */
  private readonly envelopeBinding: Uint8Array;

  constructor(private readonly config: DealingConfig) {
    const participants = [...new Set([...config.dealers, ...config.receivers])].sort((a, b) => a - b);
    super(config.protocol, config.sessionId, config.keyId, config.self, participants, DEALING_ROUNDS);
    this.envelopeBinding = new Transcript("dealing-envelope").absorb("session", config.sessionId).absorb("key", config.keyId).absorb("protocol", config.protocol).digest();
    this.isDealer = config.dealers.includes(config.self);
    this.isReceiver = config.receivers.includes(config.self);
    this.receiverPeers = this.isReceiver ? config.receivers.filter((p) => p !== config.self) : [];
    this.nonce = config.rng(32);
    if (this.isDealer) {
      const t = config.threshold;
      const polynomial = config.zeroConstant ? randomPolynomial(0n, t, config.rng) : randomPolynomial(config.dealtSecret!, t, config.rng);
      this.polynomial = polynomial;
      const commitments = polynomial.map((c, k) => (k === 0 && config.zeroConstant ? null : mulBase(c)));
      this.opening = { commitments, salt: config.rng(32), proof: null };
    }
    for (const j of this.receiverPeers) this.seedContributions.set(j, config.rng(32));
  }

  protected shape(round: number): RoundShape {
    return { broadcast: round <= 3, direct: true };
  }

  private commitHash(dealer: PartyIndex, commitments: readonly (Point | null)[], salt: Uint8Array): Uint8Array {
    return dealingCommitHash(this, dealer, commitments, salt);
  }

  private proofContext(dealer: PartyIndex): Uint8Array {
    return new Transcript("dealing-proof").absorb("session", this.jointSessionId!).absorb("dealer", dealer).digest();
  }

  protected produce(round: number): RoundOutput {
    const direct = new Map<PartyIndex, Uint8Array>();
    if (round === 1) {
      const w = new Writer().raw(this.nonce).u8(this.isDealer ? 1 : 0);
      if (this.isDealer) w.raw(this.commitHash(this.self, this.opening!.commitments, this.opening!.salt));
      for (const j of this.peers) {
        const contribution = this.seedContributions.get(j);
        direct.set(j, encodeDirect(contribution === undefined ? {} : { seedCommit: commitZeroSeedContribution(this.envelopeBinding, this.self, j, contribution) }));
      }
      this.ownBroadcasts.set(1, w.finish());
      return { broadcast: this.ownBroadcasts.get(1)!, direct };
    }
    if (round === 2) {
      let broadcast: Uint8Array = this.round1Echo!;
      if (this.isDealer) {
        const opening = this.opening!;
        const k = opening.commitments.findIndex((C) => C !== null);
        const proof = k < 0 ? null : proveKnowledge(this.polynomial![k]!, opening.commitments[k]!, this.proofContext(this.self), this.config.rng);
        this.opening = { ...opening, proof };
        const w = new Writer().raw(this.round1Echo!).u32(opening.commitments.length);
        for (const C of opening.commitments) if (C !== null) w.point(C);
        w.raw(opening.salt);
        if (proof !== null) writeProof(w, proof);
        broadcast = w.finish();
      }
      this.ownBroadcasts.set(2, broadcast);
      for (const j of this.receiverPeers) {
        this.asAlice.set(j, createMulSetup("alice", mulSetupSid(this.jointSessionId!, this.self, j), this.config.rng));
        this.asBob.set(j, createMulSetup("bob", mulSetupSid(this.jointSessionId!, j, this.self), this.config.rng));
        this.queueFlow(j, "alice", this.asAlice.get(j)!.start());
        this.queueFlow(j, "bob", this.asBob.get(j)!.start());
      }
      for (const j of this.peers) {
        const payload: DirectPayload = this.takeFlows(j);
        if (this.isDealer && this.config.receivers.includes(j)) payload.share = evaluatePolynomial(this.polynomial!, j);
        const contribution = this.seedContributions.get(j);
        if (contribution !== undefined) payload.seedOpen = contribution;
        direct.set(j, encodeDirect(payload));
      }
      return { broadcast, direct };
    }
    for (const j of this.peers) direct.set(j, encodeDirect(this.takeFlows(j)));
    return round === 3 ? { broadcast: this.echo!, direct } : { direct };
  }

  private queueFlow(peer: PartyIndex, role: "alice" | "bob", flow: Uint8Array | null): void {
    if (flow !== null) (role === "alice" ? this.pendingAsAlice : this.pendingAsBob).set(peer, flow);
  }

  private takeFlows(peer: PartyIndex): DirectPayload {
    const payload: DirectPayload = {};
    const asAlice = this.pendingAsAlice.get(peer);
    const asBob = this.pendingAsBob.get(peer);
    if (asAlice !== undefined) payload.flowAsAlice = asAlice;
    if (asBob !== undefined) payload.flowAsBob = asBob;
    this.pendingAsAlice.delete(peer);
    this.pendingAsBob.delete(peer);
    return payload;
  }

  protected consume(round: number, input: RoundInput): KeyShare | null | undefined {
    const direct = new Map<PartyIndex, DirectPayload>();
    for (const [from, bytes] of input.direct) {
      try {
        direct.set(from, decodeDirect(bytes));
      } catch (error) {
        throw new ProtocolAbort(`${this.protocol}: malformed direct message: ${(error as Error).message}`, from);
      }
    }
    if (round === 1) this.consumeRound1(input.broadcast, direct);
    else if (round === 2) this.consumeRound2(input.broadcast, direct, input.direct);
    else if (round === 3) this.consumeEcho(input.broadcast);
    if (round >= 2) this.deliverFlows(round, direct);
    return round === DEALING_ROUNDS ? this.finish() : undefined;
  }

  private consumeRound1(broadcast: ReadonlyMap<PartyIndex, Uint8Array>, direct: ReadonlyMap<PartyIndex, DirectPayload>): void {
    this.nonces.set(this.self, this.nonce);
    if (this.isDealer) this.commitHashes.set(this.self, this.commitHash(this.self, this.opening!.commitments, this.opening!.salt));
    for (const [from, bytes] of broadcast) {
      try {
        const commitment = parseRound1Commitment(bytes);
        if ((commitment !== null) !== this.config.dealers.includes(from)) throw new Error("dealer flag does not match the dealer set");
        this.nonces.set(from, bytes.slice(0, 32));
        if (commitment !== null) this.commitHashes.set(from, commitment);
        this.round1Broadcasts.set(from, bytes);
      } catch (error) {
        throw new ProtocolAbort(`${this.protocol}: bad round-1 broadcast: ${(error as Error).message}`, from);
      }
    }
    for (const [from, payload] of direct) {
      const expectsSeed = this.receiverPeers.includes(from);
      if (payload.share !== undefined || payload.seedOpen !== undefined || payload.flowAsAlice || payload.flowAsBob || (payload.seedCommit !== undefined) !== expectsSeed) {
        throw new ProtocolAbort(`${this.protocol}: unexpected round-1 direct message content`, from);
      }
      if (payload.seedCommit !== undefined) this.seedCommits.set(from, payload.seedCommit);
    }
    const sid = new Transcript("dealing-session")
      .absorb("session", this.sessionId)
      .absorb("key", this.keyId)
      .absorb("protocol", this.protocol)
      .absorbList("dealers", this.config.dealers)
      .absorbList("receivers", this.config.receivers)
      .absorb("threshold", this.config.threshold)
      .absorb("public-key", this.config.expectedPublicKey ?? new Uint8Array(0));
    for (const p of this.parties) sid.absorb(`nonce-${p}`, this.nonces.get(p)!);
    this.jointSessionId = sid.digest();
    this.logBroadcasts(1, broadcast);
    const echo = new Transcript("dealing-round1-echo").absorb("session", this.jointSessionId);
    for (const p of this.parties) echo.absorb(`from-${p}`, p === this.self ? this.ownBroadcasts.get(1)! : broadcast.get(p)!);
    this.round1Echo = echo.digest();
  }

  private logBroadcasts(round: number, broadcast: ReadonlyMap<PartyIndex, Uint8Array>): void {
    for (const p of this.parties) {
      this.broadcastLog.absorb(`round-${round}-from-${p}`, p === this.self ? this.ownBroadcasts.get(round)! : broadcast.get(p)!);
    }
  }

  private parseOpening(bytes: Uint8Array): DealerOpening {
    const opening = parseDealerOpening(bytes, this.config.zeroConstant);
    const expected = this.config.threshold;
    if (opening.commitments.length !== expected) throw new Error(`commitment vector has ${opening.commitments.length} entries, expected ${expected}`);
    return opening;
  }

  private consumeRound2(broadcast: ReadonlyMap<PartyIndex, Uint8Array>, direct: ReadonlyMap<PartyIndex, DirectPayload>, rawDirect: ReadonlyMap<PartyIndex, Uint8Array>): void {
    const openings = new Map<PartyIndex, DealerOpening>();
    if (this.isDealer) openings.set(this.self, this.opening!);
    for (const [from, bytes] of broadcast) {
      if (bytes.length < 32) throw new ProtocolAbort(`${this.protocol}: round-2 broadcast too short`, from);
      if (!bytesEqual(bytes.subarray(0, 32), this.round1Echo!)) {
        // Somebody sent different round-1 broadcasts to different parties; not attributable.
        throw new BroadcastMismatch(`${this.protocol}: party ${from} saw different round-1 broadcasts (equivocating broadcast)`);
      }
    }
    for (const [from, bytes] of broadcast) {
      if (!this.config.dealers.includes(from)) {
        if (bytes.length !== 32) throw new ProtocolAbort(`${this.protocol}: non-dealer sent a dealer opening`, from);
        continue;
      }
      let opening: DealerOpening;
      try {
        opening = this.parseOpening(bytes);
      } catch (error) {
        throw new ProtocolAbort(`${this.protocol}: bad commitment vector: ${(error as Error).message}`, from);
      }
      if (!bytesEqual(this.commitHash(from, opening.commitments, opening.salt), this.commitHashes.get(from)!)) {
        throw new ProtocolAbort(`${this.protocol}: commitment vector does not open the round-1 commitment`, from, {
          kind: "commitment-opening",
          culprit: from,
          messages: [this.received(1, from, null, this.round1Broadcasts.get(from)!), this.received(2, from, null, bytes)],
        });
      }
      const k = opening.commitments.findIndex((C) => C !== null);
      if (k >= 0 && !verifyKnowledge(opening.proof!, opening.commitments[k]!, this.proofContext(from))) {
        throw new ProtocolAbort(`${this.protocol}: Schnorr proof of knowledge fails`, from);
      }
      const expectedConstant = this.config.expectedConstants?.get(from);
      if (expectedConstant !== undefined && !pointsEqual(opening.commitments[0]!, expectedConstant)) {
        throw new ProtocolAbort(`${this.protocol}: dealt constant term is not lambda * X of the dealer's public share`, from);
      }
      openings.set(from, opening);
    }
    this.logBroadcasts(2, broadcast);

    // Direct content must be exactly what the roles imply.
    for (const [from, payload] of direct) {
      const expectsShare = this.isReceiver && this.config.dealers.includes(from);
      const expectsSeed = this.receiverPeers.includes(from);
      if ((payload.share !== undefined) !== expectsShare || (payload.seedOpen !== undefined) !== expectsSeed || payload.seedCommit !== undefined) {
        throw new ProtocolAbort(`${this.protocol}: unexpected round-2 direct message content`, from);
      }
    }

    if (this.isReceiver) {
      let share = this.config.baseShare;
      for (const dealer of this.config.dealers) {
        const opening = openings.get(dealer)!;
        const value = dealer === this.self ? evaluatePolynomial(this.polynomial!, this.self) : direct.get(dealer)!.share!;
        if (!shareMatches(opening.commitments, this.self, value)) {
          throw new ProtocolAbort(`${this.protocol}: share does not match the dealer's Feldman commitments`, dealer, {
            kind: "feldman-share",
            culprit: dealer,
            messages: [this.received(2, dealer, null, broadcast.get(dealer)!), this.received(2, dealer, this.self, rawDirect.get(dealer)!)],
          });
        }
        share = addScalars(share, value);
      }
      if (share === 0n) throw new ProtocolAbort(`${this.protocol}: resulting share is zero`);
      this.secretShare = share;
      for (const j of this.receiverPeers) {
        const opened = direct.get(j)!.seedOpen!;
        if (!bytesEqual(commitZeroSeedContribution(this.envelopeBinding, j, this.self, opened), this.seedCommits.get(j)!)) {
          throw new ProtocolAbort(`${this.protocol}: zero-seed opening does not match its commitment`, j);
        }
        this.zeroSeeds.set(j, combineZeroSeed(this.jointSessionId!, this.self, this.seedContributions.get(j)!, j, opened));
      }
    }

    // Aggregate Feldman vector, public key and public shares (everyone computes them, dealers too, for the echo).
    try {
      const aggregate: (Point | null)[] = [];
      for (let k = 0; k < this.config.threshold; k++) {
        const terms = this.config.dealers.map((d) => openings.get(d)!.commitments[k]!).filter((C): C is Point => C !== null);
        aggregate.push(terms.length === 0 ? null : sum(terms));
      }
      const publicKey = this.config.zeroConstant ? this.config.expectedPublicKey! : aggregate[0]!;
      if (this.config.expectedPublicKey !== null && !pointsEqual(publicKey, this.config.expectedPublicKey)) {
        throw new ProtocolAbort(`${this.protocol}: the dealt sharing changes the public key`);
      }
      this.publicKey = publicKey;
      const hasDelta = aggregate.some((C) => C !== null);
      for (const j of this.config.receivers) {
        const base = this.config.basePublicShares?.get(j);
        const delta = hasDelta ? evaluateCommitments(aggregate, j) : null;
        const X = base === undefined ? delta! : delta === null ? base : add(base, delta);
        this.publicShares.set(j, X);
      }
    } catch (error) {
      if (error instanceof IdentityPointError) throw new ProtocolAbort(`${this.protocol}: a public key or public share is the identity`);
      throw error;
    }
    if (this.isReceiver && !pointsEqual(mulBase(this.secretShare), this.publicShares.get(this.self)!)) {
      throw new ProtocolAbort(`${this.protocol}: our share does not match the aggregate commitments`);
    }
    this.broadcastLog.absorb("public-key", this.publicKey);
    for (const j of this.config.receivers) this.broadcastLog.absorb(`public-share-${j}`, this.publicShares.get(j)!);
    this.echo = this.broadcastLog.absorb("joint-session", this.jointSessionId!).digest();
  }

  private consumeEcho(broadcast: ReadonlyMap<PartyIndex, Uint8Array>): void {
    for (const [from, bytes] of broadcast) {
      if (!bytesEqual(bytes, this.echo!)) {
        // Either `from` or some dealer showed different broadcasts to different parties; not provable which.
        throw new BroadcastMismatch(`${this.protocol}: party ${from} saw a different transcript (equivocating broadcast)`);
      }
    }
  }

  private deliverFlows(round: number, direct: ReadonlyMap<PartyIndex, DirectPayload>): void {
    for (const [from, payload] of direct) {
      const linked = this.receiverPeers.includes(from);
      if (!linked && (payload.flowAsAlice !== undefined || payload.flowAsBob !== undefined)) {
        throw new ProtocolAbort(`${this.protocol}: multiplication-setup flow from a party outside the new committee`, from);
      }
      if (!linked) continue;
      if (round >= 3 && (payload.share !== undefined || payload.seedCommit !== undefined || payload.seedOpen !== undefined)) {
        throw new ProtocolAbort(`${this.protocol}: unexpected round-${round} direct content`, from);
      }
      // The sender's alice flow goes to our bob setup and vice versa.
      this.step(from, "bob", this.asBob.get(from)!, payload.flowAsAlice);
      this.step(from, "alice", this.asAlice.get(from)!, payload.flowAsBob);
    }
  }

  private step(peer: PartyIndex, ourRole: "alice" | "bob", setup: MulSetupParty, flow: Uint8Array | undefined): void {
    if (flow === undefined) return;
    if (setup.done) throw new ProtocolAbort(`${this.protocol}: extra multiplication-setup flow`, peer);
    let next: Uint8Array | null;
    try {
      next = setup.receive(flow);
    } catch (error) {
      throw new ProtocolAbort(`${this.protocol}: multiplication setup with party ${peer} failed: ${(error as Error).message}`, peer);
    }
    this.queueFlow(peer, ourRole, next);
  }

  private finish(): KeyShare | null {
    if (!this.isReceiver) return null;
    const mulAlice = new Map<PartyIndex, AliceSetup>();
    const mulBob = new Map<PartyIndex, BobSetup>();
    for (const j of this.receiverPeers) {
      const alice = this.asAlice.get(j)!;
      const bob = this.asBob.get(j)!;
      if (!alice.done || !bob.done || this.pendingAsAlice.has(j) || this.pendingAsBob.has(j)) {
        throw new ProtocolAbort(`${this.protocol}: multiplication setup with party ${j} did not complete`, j);
      }
      mulAlice.set(j, alice.result() as AliceSetup);
      mulBob.set(j, bob.result() as BobSetup);
    }
    return {
      keyId: this.keyId,
      threshold: this.config.threshold,
      parties: [...this.config.receivers],
      self: this.self,
      publicKey: this.publicKey!,
      address: ethereumAddress(this.publicKey!),
      publicShares: new Map(this.publicShares),
      epoch: this.jointSessionId!,
      secretShare: this.secretShare,
      zeroSeeds: new Map(this.zeroSeeds),
      mulAlice,
      mulBob,
      banned: [],
    };
  }

  protected override wipe(): void {
    if (this.polynomial !== null) this.polynomial.fill(0n);
    this.polynomial = null;
    this.seedContributions.clear();
  }
}
