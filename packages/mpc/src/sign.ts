/**
 * DKLs23 signing (Protocol 3.6), split into a message-independent presign
 * (rounds 1-2 and the round-3 checks) and a one-round online phase.
 *
 * Per ordered pair (i alice, j bob) the parties run one two-party
 * multiplication with alice's inputs (r_i, sk_i) and bob's random chi_j; the
 * Gamma values (alice's output shares times G) let bob check alice's outputs
 * against the committed R_i and pk_i. u_i and v_i are additive shares of r*phi
 * and sk*phi; the online phase reveals w_i = m*phi_i + r_x*v_i and u_i, and
 * s = sum w / sum u.
 *
 * Longer than our ~400-line rule: one protocol as one straight-line state machine, its rounds in
 * order, so a reviewer checks it against the paper top to bottom.
 */
import {
  addScalars,
  bytesToBigInt,
  CURVE_ORDER,
  ecdsaRecover,
  ecdsaVerify,
  IdentityPointError,
  invScalar,
  mod,
  mul,
  mulBase,
  mulScalars,
  type Point,
  pointsEqual,
  randomScalar,
  scalarToBytes,
  subScalars,
  sum,
  add,
} from "./curve.ts";
import { bytesEqual, DecodeError, Reader, toHex, Writer } from "./encoding.ts";
import { type KeyShare, withBan } from "./keyshare.ts";
import { type BobMulState, MUL_ELL, mulAliceRespond, mulBobFinish, mulBobStart, MultiplicationCheckError, OtExtensionCheckError } from "./multiply.ts";
import { RoundProtocol, type RoundInput, type RoundOutput, type RoundShape } from "./rounds.ts";
import { Transcript } from "./transcript.ts";
import { BroadcastMismatch, type PartyIndex, ProtocolAbort, type RandomBytes } from "./types.ts";
import { lagrangeAtZero } from "./vss.ts";
import { deriveZeroShare } from "./zero-shares.ts";

export interface Signature {
  readonly r: bigint;
  readonly s: bigint;
  readonly v: 27 | 28;
  /** 65 bytes: r || s || v, as Ethereum's ecrecover expects. */
  readonly bytes: Uint8Array;
}

/**
 * A party failed a multiplication/OT check: it is banned for this key until a
 * refresh redoes the pairwise setup. `share` is our key share with the ban
 * recorded; the caller persists it.
 */
export class BannedPartyAbort extends ProtocolAbort {
  constructor(
    reason: string,
    readonly banned: PartyIndex,
    readonly share: KeyShare,
  ) {
    super(reason, banned);
    this.name = "BannedPartyAbort";
  }
}

export class PresignatureConsumedError extends Error {
  constructor() {
    super("presignature already used (a presignature signs at most once)");
    this.name = "PresignatureConsumedError";
  }
}

interface PresignSecrets {
  phi: bigint;
  u: bigint;
  v: bigint;
}

/**
 * Our part of a presignature: bound to one key (and sharing epoch), one signer
 * set and one R. Usable once: `take()` hands out the secrets and zeroizes them.
 */
export class Presignature {
  private secrets: PresignSecrets | null;

  constructor(
    /** Same at every signer: lets the node mark it consumed before the online partial leaves. */
    readonly id: Uint8Array,
    readonly keyId: string,
    readonly publicKey: Point,
    readonly signers: readonly PartyIndex[],
    readonly self: PartyIndex,
    /** R = sum R_i, the nonce point. */
    readonly R: Point,
    /** Hash of every broadcast of the presign session, echoed in the online round. */
    readonly transcript: Uint8Array,
    secrets: PresignSecrets,
  ) {
    this.secrets = { ...secrets };
  }

  get consumed(): boolean {
    return this.secrets === null;
  }

  /**
   * Hands out the secrets once and forgets them. Also refuses any other copy of
   * the same presignature (e.g. decoded twice from storage) in this process.
   */
  take(): PresignSecrets {
    const secrets = this.secrets;
    if (secrets === null) throw new PresignatureConsumedError();
    this.secrets = null;
    const key = `${this.keyId}/${this.self}/${toHex(this.id)}`;
    if (usedPresignatures.has(key)) throw new PresignatureConsumedError();
    usedPresignatures.add(key);
    return secrets;
  }

  /** Read access for encoding only. */
  peekForEncoding(): PresignSecrets {
    if (this.secrets === null) throw new PresignatureConsumedError();
    return this.secrets;
  }
}

/** Ids of presignatures this process has used (a few dozen bytes per signature). */
const usedPresignatures = new Set<string>();

const PRESIGNATURE_MAGIC = new TextEncoder().encode("MPCPS");
const PRESIGNATURE_VERSION = 1;

export function encodePresignature(p: Presignature): Uint8Array {
  const secrets = p.peekForEncoding();
  return new Writer()
    .raw(PRESIGNATURE_MAGIC)
    .u8(PRESIGNATURE_VERSION)
    .raw(p.id)
    .string(p.keyId)
    .point(p.publicKey)
    .indices(p.signers)
    .u32(p.self)
    .point(p.R)
    .raw(p.transcript)
    .scalar(secrets.phi)
    .scalar(secrets.u)
    .scalar(secrets.v)
    .finish();
}

export function decodePresignature(bytes: Uint8Array): Presignature {
  const r = new Reader(bytes, "presignature");
  const magic = r.raw(PRESIGNATURE_MAGIC.length);
  if (!magic.every((b, i) => b === PRESIGNATURE_MAGIC[i])) throw new DecodeError("presignature: bad magic");
  const version = r.u8();
  if (version !== PRESIGNATURE_VERSION) throw new DecodeError(`presignature: unsupported version ${version}`);
  const id = r.raw(32);
  const keyId = r.string();
  const publicKey = r.point();
  const signers = r.indices();
  const self = r.u32();
  if (!signers.includes(self)) throw new DecodeError("presignature: self is not a signer");
  const R = r.point();
  const transcript = r.raw(32);
  const secrets = { phi: r.scalar(), u: r.scalar(true), v: r.scalar(true) };
  r.end();
  return new Presignature(id, keyId, publicKey, signers, self, R, transcript, secrets);
}

/** The message-independent part of signing, driven by the presign and sign protocols. */
class PresignCore {
  readonly sid: Uint8Array;
  private r: bigint;
  private phi: bigint;
  private readonly Ri: Point;
  private readonly salt: Uint8Array;
  private sk = 0n;
  private pk: Point | null = null;
  private readonly commitments = new Map<PartyIndex, Uint8Array>();
  private readonly bobStates = new Map<PartyIndex, { state: BobMulState; chi: bigint }>();
  private readonly aliceShares = new Map<PartyIndex, bigint[]>();
  private readonly log: Transcript;

  constructor(
    protocol: "presign" | "sign",
    sessionId: Uint8Array,
    private readonly share: KeyShare,
    readonly signers: readonly PartyIndex[],
    private readonly peers: readonly PartyIndex[],
    private readonly rng: RandomBytes,
  ) {
    // Binds the multiplications to this session; the node must never reuse a session id for a key.
    this.sid = new Transcript("presign-session")
      .absorb("protocol", protocol)
      .absorb("session", sessionId)
      .absorb("key", share.keyId)
      .absorb("epoch", share.epoch)
      .absorb("public-key", share.publicKey)
      .absorbList("signers", signers)
      .digest();
    this.log = new Transcript("presign-broadcasts").absorb("session", this.sid);
    this.r = randomScalar(rng);
    this.phi = randomScalar(rng);
    this.Ri = mulBase(this.r);
    this.salt = rng(32);
  }

  private pairSid(alice: PartyIndex, bob: PartyIndex): Uint8Array {
    return new Transcript("presign-mul-sid").absorb("session", this.sid).absorb("alice", alice).absorb("bob", bob).digest();
  }

  private commitR(party: PartyIndex, R: Point, salt: Uint8Array): Uint8Array {
    return new Transcript("presign-commit-R").absorb("session", this.sid).absorb("party", party).absorb("R", R).absorb("salt", salt).digest();
  }

  private ban(peer: PartyIndex, reason: string): BannedPartyAbort {
    return new BannedPartyAbort(reason, peer, withBan(this.share, peer));
  }

  round1(): RoundOutput {
    const self = this.share.self;
    const broadcast = new Writer()
      .raw(this.share.epoch)
      .raw(this.commitR(self, this.Ri, this.salt))
      .finish();
    const direct = new Map<PartyIndex, Uint8Array>();
    for (const j of this.peers) {
      const started = mulBobStart(this.share.mulBob.get(j)!, this.pairSid(j, self), this.rng);
      this.bobStates.set(j, { state: started.state, chi: started.chi });
      direct.set(j, started.message);
    }
    return { broadcast, direct };
  }

  round2(input: RoundInput): RoundOutput {
    const self = this.share.self;
    for (const [from, bytes] of input.broadcast) {
      let epoch: Uint8Array;
      try {
        const r = new Reader(bytes, "presign round 1");
        epoch = r.raw(32);
        this.commitments.set(from, r.raw(32));
        r.end();
      } catch (error) {
        throw new ProtocolAbort(`presign: bad round-1 broadcast: ${(error as Error).message}`, from);
      }
      if (!bytesEqual(epoch, this.share.epoch)) {
        throw new ProtocolAbort(`presign: party ${from} holds a share of another sharing (old or new epoch) of this key`, from);
      }
    }
    this.logRound(
      1,
      input.broadcast,
      new Writer()
        .raw(this.share.epoch)
        .raw(this.commitR(self, this.Ri, this.salt))
        .finish(),
    );

    const lambda = lagrangeAtZero(self, this.signers);
    const zeta = deriveZeroShare(self, this.signers, this.share.zeroSeeds, this.sid);
    this.sk = addScalars(mulScalars(lambda, this.share.secretShare), zeta);
    if (this.sk === 0n) throw new ProtocolAbort("presign: derived additive share is zero");
    this.pk = mulBase(this.sk);
    const broadcast = new Writer().point(this.Ri).raw(this.salt).point(this.pk).finish();
    const direct = new Map<PartyIndex, Uint8Array>();
    for (const j of this.peers) {
      const bobMessage = input.direct.get(j)!;
      let response: { shares: bigint[]; message: Uint8Array };
      try {
        response = mulAliceRespond(this.share.mulAlice.get(j)!, this.pairSid(self, j), [this.r, this.sk], bobMessage, this.rng);
      } catch (error) {
        throw this.mulFailure(j, error);
      }
      if (response.shares.length !== MUL_ELL) throw new Error("multiplication returned the wrong number of shares");
      this.aliceShares.set(j, response.shares);
      const [cu, cv] = response.shares as [bigint, bigint];
      const psi = subScalars(this.phi, this.bobStates.get(j)!.chi);
      direct.set(j, new Writer().bytes(response.message).point(mulBase(cu)).point(mulBase(cv)).scalar(psi).finish());
    }
    return { broadcast, direct };
  }

  private mulFailure(peer: PartyIndex, error: unknown): ProtocolAbort {
    const message = (error as Error).message ?? String(error);
    if (error instanceof MultiplicationCheckError || error instanceof OtExtensionCheckError) {
      return this.ban(peer, `presign: multiplication with party ${peer} failed its check: ${message}`);
    }
    return new ProtocolAbort(`presign: malformed multiplication message: ${message}`, peer);
  }

  private logRound(round: number, broadcast: ReadonlyMap<PartyIndex, Uint8Array>, own: Uint8Array): void {
    for (const p of this.signers) this.log.absorb(`round-${round}-from-${p}`, p === this.share.self ? own : broadcast.get(p)!);
  }

  /** Round-3 checks; returns the presignature. */
  finish(input: RoundInput): Presignature {
    const self = this.share.self;
    const Rs: Point[] = [this.Ri];
    const pks: Point[] = [this.pk!];
    let uAcc = 0n;
    let vAcc = 0n;
    let phiSum = this.phi;
    const received = new Map<PartyIndex, { R: Point; pk: Point }>();
    for (const [from, bytes] of input.broadcast) {
      let R: Point, salt: Uint8Array, pk: Point;
      try {
        const r = new Reader(bytes, "presign round 2 broadcast");
        R = r.point();
        salt = r.raw(32);
        pk = r.point();
        r.end();
      } catch (error) {
        throw new ProtocolAbort(`presign: bad round-2 broadcast: ${(error as Error).message}`, from);
      }
      if (!bytesEqual(this.commitR(from, R, salt), this.commitments.get(from)!)) {
        throw new ProtocolAbort("presign: R_i does not open its round-1 commitment", from);
      }
      received.set(from, { R, pk });
      Rs.push(R);
      pks.push(pk);
    }
    for (const [from, bytes] of input.direct) {
      const { R, pk } = received.get(from)!;
      let aliceMessage: Uint8Array, gammaU: Point, gammaV: Point, psi: bigint;
      try {
        const r = new Reader(bytes, "presign round 2 direct");
        aliceMessage = r.bytes();
        gammaU = r.point();
        gammaV = r.point();
        psi = r.scalar(true);
        r.end();
      } catch (error) {
        throw new ProtocolAbort(`presign: bad round-2 message: ${(error as Error).message}`, from);
      }
      const bob = this.bobStates.get(from)!;
      let d: bigint[];
      try {
        d = mulBobFinish(bob.state, aliceMessage).shares;
      } catch (error) {
        throw this.mulFailure(from, error);
      }
      const [du, dv] = d as [bigint, bigint];
      // chi * R_j == d_u * G + Gamma_u and chi * pk_j == d_v * G + Gamma_v.
      if (!this.gammaHolds(R, bob.chi, du, gammaU) || !this.gammaHolds(pk, bob.chi, dv, gammaV)) {
        throw this.ban(from, `presign: multiplication output of party ${from} does not match its Gamma values`);
      }
      const [cu, cv] = this.aliceShares.get(from)! as [bigint, bigint];
      uAcc = addScalars(uAcc, addScalars(cu, du));
      vAcc = addScalars(vAcc, addScalars(cv, dv));
      phiSum = addScalars(phiSum, psi);
    }
    let R: Point;
    let publicKeySum: Point;
    try {
      R = sum(Rs);
      publicKeySum = sum(pks);
    } catch (error) {
      if (error instanceof IdentityPointError) throw new ProtocolAbort("presign: R or the sum of pk_i is the identity");
      throw error;
    }
    if (!pointsEqual(publicKeySum, this.share.publicKey)) {
      // Some pk_j is wrong; which one is not verifiable (zeta_j is secret).
      throw new ProtocolAbort("presign: the pk_i values do not sum to the public key");
    }
    const u = addScalars(mulScalars(this.r, phiSum), uAcc);
    const v = addScalars(mulScalars(this.sk, phiSum), vAcc);
    this.logRound(2, input.broadcast, new Writer().point(this.Ri).raw(this.salt).point(this.pk!).finish());
    const transcript = this.log.absorb("R", R).digest();
    const id = new Transcript("presignature-id").absorb("session", this.sid).digest();
    const presignature = new Presignature(id, this.share.keyId, this.share.publicKey, this.signers, self, R, transcript, { phi: this.phi, u, v });
    this.wipe();
    return presignature;
  }

  private gammaHolds(P: Point, chi: bigint, d: bigint, gamma: Point): boolean {
    try {
      const right = d === 0n ? gamma : add(mulBase(d), gamma);
      return pointsEqual(mul(P, chi), right);
    } catch {
      return false;
    }
  }

  wipe(): void {
    this.r = 0n;
    this.phi = 0n;
    this.sk = 0n;
    this.aliceShares.clear();
    this.bobStates.clear();
  }
}

/** The online round: from a presignature and a 32-byte digest to a signature. */
class OnlineCore {
  private readonly m: bigint;
  private readonly rx: bigint;
  private readonly parity: number;
  private readonly w: bigint;
  private readonly u: bigint;
  private readonly payload: Uint8Array;

  constructor(
    private readonly presignature: Presignature,
    private readonly digest: Uint8Array,
  ) {
    this.m = mod(bytesToBigInt(digest));
    const x = bytesToBigInt(presignature.R.subarray(1));
    if (x >= CURVE_ORDER) throw new ProtocolAbort("sign: R.x >= q (recovery id > 1); use another presignature");
    this.rx = x;
    this.parity = presignature.R[0] === 0x03 ? 1 : 0;
    const secrets = presignature.take();
    this.w = addScalars(mulScalars(this.m, secrets.phi), mulScalars(this.rx, secrets.v));
    this.u = secrets.u;
    this.payload = new Writer().raw(presignature.id).raw(presignature.transcript).scalar(this.w).scalar(this.u).finish();
  }

  output(): RoundOutput {
    return { broadcast: this.payload };
  }

  finish(input: RoundInput): Signature {
    let wSum = this.w;
    let uSum = this.u;
    for (const [from, bytes] of input.broadcast) {
      let id: Uint8Array, transcript: Uint8Array, w: bigint, u: bigint;
      try {
        const r = new Reader(bytes, "online partial signature");
        id = r.raw(32);
        transcript = r.raw(32);
        w = r.scalar(true);
        u = r.scalar(true);
        r.end();
      } catch (error) {
        throw new ProtocolAbort(`sign: bad partial signature: ${(error as Error).message}`, from);
      }
      if (!bytesEqual(id, this.presignature.id)) throw new ProtocolAbort(`sign: party ${from} signs with another presignature`, from);
      if (!bytesEqual(transcript, this.presignature.transcript)) {
        // Someone equivocated during presign (or `from` lies about what it saw): not attributable.
        throw new BroadcastMismatch(`sign: party ${from} saw a different presign transcript (equivocating broadcast)`);
      }
      wSum = addScalars(wSum, w);
      uSum = addScalars(uSum, u);
    }
    if (uSum === 0n) throw new ProtocolAbort("sign: sum of u_i is zero");
    let s = mulScalars(wSum, invScalar(uSum));
    if (s === 0n) throw new ProtocolAbort("sign: s is zero");
    let recovery = this.parity;
    if (s > CURVE_ORDER >> 1n) {
      s = CURVE_ORDER - s;
      recovery ^= 1;
    }
    const rs = new Uint8Array(64);
    rs.set(scalarToBytes(this.rx), 0);
    rs.set(scalarToBytes(s), 32);
    if (!ecdsaVerify(rs, this.digest, this.presignature.publicKey)) {
      // Some w_i/u_i is wrong; DKLs23 does not make single partials verifiable.
      throw new ProtocolAbort("sign: the combined signature does not verify (a partial signature is wrong)");
    }
    const recovered = ecdsaRecover(rs, recovery, this.digest);
    if (recovered === null || !pointsEqual(recovered, this.presignature.publicKey)) {
      throw new ProtocolAbort("sign: recovery id does not recover the public key");
    }
    const v = (27 + recovery) as 27 | 28;
    const bytes = new Uint8Array(65);
    bytes.set(rs, 0);
    bytes[64] = v;
    return { r: this.rx, s, v, bytes };
  }
}

export class InvalidDigestError extends Error {
  constructor(length: number) {
    super(`digest must be exactly 32 bytes, got ${length}`);
    this.name = "InvalidDigestError";
  }
}

export function checkDigest(digest: unknown): Uint8Array {
  if (!(digest instanceof Uint8Array)) throw new InvalidDigestError(-1);
  if (digest.length !== 32) throw new InvalidDigestError(digest.length);
  return Uint8Array.from(digest);
}

export class PresignProtocol extends RoundProtocol<Presignature> {
  private readonly core: PresignCore;
  private round2Output: RoundOutput | null = null;

  constructor(sessionId: Uint8Array, share: KeyShare, signers: readonly PartyIndex[], rng: RandomBytes) {
    super("presign", sessionId, share.keyId, share.self, signers, 2);
    this.core = new PresignCore("presign", sessionId, share, signers, this.peers, rng);
  }

  protected shape(): RoundShape {
    return { broadcast: true, direct: true };
  }

  protected produce(round: number): RoundOutput {
    return round === 1 ? this.core.round1() : this.round2Output!;
  }

  protected consume(round: number, input: RoundInput): Presignature | undefined {
    if (round === 1) {
      this.round2Output = this.core.round2(input);
      return undefined;
    }
    return this.core.finish(input);
  }

  protected override wipe(): void {
    this.core.wipe();
  }
}

export class OnlineSignProtocol extends RoundProtocol<Signature> {
  private readonly core: OnlineCore;

  constructor(sessionId: Uint8Array, presignature: Presignature, digest: Uint8Array) {
    super("sign", sessionId, presignature.keyId, presignature.self, presignature.signers, 1);
    this.core = new OnlineCore(presignature, digest);
  }

  protected shape(): RoundShape {
    return { broadcast: true, direct: false };
  }

  protected produce(): RoundOutput {
    return this.core.output();
  }

  protected consume(_round: number, input: RoundInput): Signature {
    return this.core.finish(input);
  }
}

/** Presign and online in one three-round protocol. */
export class SignProtocol extends RoundProtocol<Signature> {
  private readonly presign: PresignCore;
  private online: OnlineCore | null = null;
  private round2Output: RoundOutput | null = null;

  constructor(
    sessionId: Uint8Array,
    share: KeyShare,
    signers: readonly PartyIndex[],
    private readonly digest: Uint8Array,
    rng: RandomBytes,
  ) {
    super("sign", sessionId, share.keyId, share.self, signers, 3);
    this.presign = new PresignCore("sign", sessionId, share, signers, this.peers, rng);
  }

  protected shape(round: number): RoundShape {
    return { broadcast: true, direct: round < 3 };
  }

  protected produce(round: number): RoundOutput {
    if (round === 1) return this.presign.round1();
    if (round === 2) return this.round2Output!;
    return this.online!.output();
  }

  protected consume(round: number, input: RoundInput): Signature | undefined {
    if (round === 1) this.round2Output = this.presign.round2(input);
    else if (round === 2) this.online = new OnlineCore(this.presign.finish(input), this.digest);
    else return this.online!.finish(input);
    return undefined;
  }

  protected override wipe(): void {
    this.presign.wipe();
  }
}
