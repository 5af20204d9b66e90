/**
 * Share recovery (issue 14): a member r that missed a refresh regains its
 * share x_r of the CURRENT sharing from t current holders (the helpers H),
 * without any helper learning anything and without r learning more than x_r.
 *
 * x_r = sum over h in H of lambda_h(r) * x_h (Lagrange at r over H). Each
 * helper masks its term with pairwise zero-sum randomness: for each other
 * helper h', h picks a fresh uniform m_{h->h'} and sends it to h' (round 1),
 * then sends r (round 2)
 *   c_h = lambda_h(r) x_h + sum_{h'} m_{h->h'} - sum_{h'} m_{h'->h}
 * with the points M_{h->h'} = m_{h->h'} G it sent and M'_{h'->h} = m_{h'->h} G
 * it received. The masks cancel in the sum, so sum_h c_h = x_r. Every mask an
 * honest pair shares is uniform and unknown to r, so the c_h are uniform
 * subject only to their sum: r learns x_r and nothing else (the mask points
 * are uniform points, independent of the shares); a helper sees only uniform
 * masks. At least two helpers are honest whenever r and the other corrupt
 * members number at most t-1, so each honest term hides behind a mask.
 *
 * r checks before it keeps anything (each failure aborts, naming whom it can):
 * - round 1: each helper's list of the sharing's public shares is the certified
 *   one (the caller's check, e.g. the sharing digest the holders signed);
 * - each helper's own claims: c_h G = lambda_h(r) X_h + sum M_{h->h'} - sum M'_{h'->h};
 * - each pair's claims agree: M_{h->h'} = M'_{h->h'} (else one of the two lied; both are named);
 * - the sum: x_r G = X_r, the public share the sharing fixes for index r
 *   (publicShareAt: the refresh's commitments define it for every index).
 *
 * Rounds (every participant sends every peer a direct message each round; unused ones are empty):
 *  1. helper -> helper: the mask m_{h->h'}; helper -> r: the holders' public shares.
 *  2. helper -> r: c_h, then each other helper's M_{h->h'} and M'_{h'->h} in helper order.
 */
import { addScalars, mul, mulBase, mulScalars, type Point, pointsEqual, randomScalar, subScalars, sum, sub } from "./curve.ts";
import { DecodeError, Reader, Writer } from "./encoding.ts";
import { cryptoRandomBytes } from "./random.ts";
import { ethereumAddress, readShareFacts, writeShareFacts, type KeyShare } from "./keyshare.ts";
import { RoundProtocol, type RoundInput, type RoundOutput, type RoundShape } from "./rounds.ts";
import { type PartyIndex, ProtocolAbort, type ProtocolInstance, type ProtocolMessage, type RandomBytes } from "./types.ts";
import { InvalidPartiesError, lagrangeAt, normalizeParties } from "./vss.ts";

const RECOVERY_ROUNDS = 2;

/** X_x from the public shares of any t holders: the public share a sharing fixes for an index no holder holds. */
export function publicShareAt(publicShares: ReadonlyMap<PartyIndex, Point>, threshold: number, x: PartyIndex): Point {
  const existing = publicShares.get(x);
  if (existing !== undefined) return existing;
  const set = [...publicShares.keys()].sort((a, b) => a - b).slice(0, threshold);
  if (set.length < threshold) throw new InvalidPartiesError(`${set.length} public shares for threshold ${threshold}`);
  return sum(set.map((h) => mul(publicShares.get(h)!, lagrangeAt(h, set, x))));
}

/**
 * The same sharing seen by another member set: `parties` sorted, their public shares
 * derived from the sharing (publicShareAt). A refresh over the subset deals among the
 * present members only; one over a superset brings a recovered member back. Pairwise
 * setups with members outside the old set don't exist: the refresh makes new ones.
 */
export function withMembers(share: KeyShare, parties: readonly PartyIndex[]): KeyShare {
  const sorted = normalizeParties(parties);
  if (!sorted.includes(share.self)) throw new InvalidPartiesError(`party ${share.self} is not in the new member set`);
  if (sorted.length < share.threshold) throw new InvalidPartiesError(`${sorted.length} members for threshold ${share.threshold}`);
  const publicShares = new Map(sorted.map((p) => [p, publicShareAt(share.publicShares, share.threshold, p)] as const));
  const keep = <V>(m: ReadonlyMap<PartyIndex, V>) => new Map([...m].filter(([p]) => sorted.includes(p)));
  return {
    ...share,
    parties: sorted,
    publicShares,
    zeroSeeds: keep(share.zeroSeeds),
    mulAlice: keep(share.mulAlice),
    mulBob: keep(share.mulBob),
    banned: share.banned.filter((p) => sorted.includes(p)),
  };
}

export interface RecoveryConfig {
  readonly sessionId: Uint8Array;
  readonly keyId: string;
  readonly self: PartyIndex;
  /** The member whose share is recovered. */
  readonly target: PartyIndex;
  /** Exactly t current holders, not the target. */
  readonly helpers: readonly PartyIndex[];
  readonly threshold: number;
  /** A helper's share of the current sharing (secret and every holder's public share); null for the target. */
  readonly holder: { readonly secret: bigint; readonly publicShares: ReadonlyMap<PartyIndex, Point> } | null;
  /** The target's check of the holders' public shares a helper sends (e.g. against the certified sharing digest). */
  readonly acceptPublicShares: ((publicShares: ReadonlyMap<PartyIndex, Point>) => boolean) | null;
  readonly rng: RandomBytes;
}

/** What the target gets: its share, and the holders' public shares it was checked against. */
export interface Recovered {
  readonly secret: bigint;
  readonly publicShares: ReadonlyMap<PartyIndex, Point>;
}

interface Contribution {
  value: bigint;
  sent: Map<PartyIndex, Point>;
  received: Map<PartyIndex, Point>;
}

export class RecoveryProtocol extends RoundProtocol<Recovered | null> {
  private readonly helpers: PartyIndex[];
  private readonly masksOut = new Map<PartyIndex, bigint>();
  private readonly masksIn = new Map<PartyIndex, bigint>();
  private publicShares: ReadonlyMap<PartyIndex, Point> | null = null;

  constructor(private readonly config: RecoveryConfig) {
    const helpers = normalizeParties(config.helpers, "helpers");
    if (helpers.includes(config.target)) throw new InvalidPartiesError(`the target ${config.target} can't help recover its own share`);
    if (helpers.length !== config.threshold) throw new InvalidPartiesError(`${helpers.length} helpers for threshold ${config.threshold}`);
    const isHelper = helpers.includes(config.self);
    if (!isHelper && config.self !== config.target) throw new InvalidPartiesError(`party ${config.self} is neither a helper nor the target`);
    if (isHelper !== (config.holder !== null) || isHelper === (config.acceptPublicShares !== null)) throw new InvalidPartiesError("a helper needs its share, the target a check of the public shares");
    if (config.holder !== null) for (const h of helpers) if (!config.holder.publicShares.has(h)) throw new InvalidPartiesError(`helper ${h} holds no share of this sharing`);
    super(
      "recover",
      config.sessionId,
      config.keyId,
      config.self,
      [...helpers, config.target].sort((a, b) => a - b),
      RECOVERY_ROUNDS,
    );
    this.helpers = helpers;
    if (isHelper) for (const h of helpers) if (h !== config.self) this.masksOut.set(h, randomScalar(config.rng));
  }

  protected shape(): RoundShape {
    return { broadcast: false, direct: true };
  }

  protected produce(round: number): RoundOutput {
    const direct = new Map<PartyIndex, Uint8Array>();
    for (const p of this.peers) direct.set(p, new Uint8Array(0));
    const holder = this.config.holder;
    if (holder === null) return { direct };
    const { target } = this.config;
    if (round === 1) {
      for (const [h, m] of this.masksOut) direct.set(h, new Writer().scalar(m).finish());
      const parties = [...holder.publicShares.keys()].sort((a, b) => a - b);
      const w = new Writer().indices(parties);
      for (const p of parties) w.point(holder.publicShares.get(p)!);
      direct.set(target, w.finish());
      return { direct };
    }
    let value = mulScalars(lagrangeAt(this.self, this.helpers, target), holder.secret);
    const w = new Writer();
    for (const h of this.helpers) if (h !== this.self) value = subScalars(addScalars(value, this.masksOut.get(h)!), this.masksIn.get(h)!);
    w.scalar(value);
    for (const h of this.helpers) if (h !== this.self) w.point(mulBase(this.masksOut.get(h)!)).point(mulBase(this.masksIn.get(h)!));
    direct.set(target, w.finish());
    return { direct };
  }

  protected consume(round: number, input: RoundInput): Recovered | null | undefined {
    const isHelper = this.config.holder !== null;
    for (const [from, bytes] of input.direct) {
      const expectsContent = isHelper ? round === 1 && this.helpers.includes(from) : true;
      if (!expectsContent && bytes.length !== 0) throw new ProtocolAbort(`recover: unexpected round-${round} content`, from);
    }
    if (round === 1) {
      for (const h of this.helpers) {
        if (!isHelper) this.acceptShares(h, input.direct.get(h)!);
        else if (h !== this.self)
          this.masksIn.set(
            h,
            parse(h, "mask", input.direct.get(h)!, (r) => r.scalar()),
          );
      }
      return undefined;
    }
    return isHelper ? null : this.recover(input.direct);
  }

  private acceptShares(helper: PartyIndex, bytes: Uint8Array): void {
    const shares = parse(helper, "public shares", bytes, (r) => {
      const parties = r.indices();
      return new Map(parties.map((p) => [p, r.point()] as const));
    });
    if (!this.config.acceptPublicShares!(shares) || this.helpers.some((h) => !shares.has(h))) {
      throw new ProtocolAbort(`recover: helper ${helper} sent public shares other than the certified sharing's`, helper);
    }
    this.publicShares ??= shares;
  }

  private recover(direct: ReadonlyMap<PartyIndex, Uint8Array>): Recovered {
    const { target, threshold } = this.config;
    const publicShares = this.publicShares!;
    const contributions = new Map<PartyIndex, Contribution>();
    for (const h of this.helpers) {
      contributions.set(
        h,
        parse(h, "contribution", direct.get(h)!, (r) => {
          const value = r.scalar(true);
          const sent = new Map<PartyIndex, Point>();
          const received = new Map<PartyIndex, Point>();
          for (const other of this.helpers) {
            if (other === h) continue;
            sent.set(other, r.point());
            received.set(other, r.point());
          }
          return { value, sent, received };
        }),
      );
    }
    // Each helper against its own claims and its public share: a wrong term names its sender.
    for (const [h, c] of contributions) {
      const expected = sub(sum([mul(publicShares.get(h)!, lagrangeAt(h, this.helpers, target)), ...c.sent.values()]), sum([...c.received.values()]));
      if (!pointsEqual(mulBase(c.value), expected)) throw new ProtocolAbort(`recover: helper ${h}'s contribution does not match its public share and masks`, h);
    }
    // Each pair's claims about the mask between them: a mismatch means one of the two lied.
    for (const [h, c] of contributions) {
      for (const [other, M] of c.sent) if (!pointsEqual(M, contributions.get(other)!.received.get(h)!)) throw new RecoveryMaskMismatch(h, other);
    }
    let secret = 0n;
    for (const c of contributions.values()) secret = addScalars(secret, c.value);
    if (secret === 0n || !pointsEqual(mulBase(secret), publicShareAt(publicShares, threshold, target))) throw new ProtocolAbort("recover: the recovered share does not match its public share");
    return { secret, publicShares };
  }

  protected override wipe(): void {
    this.masksOut.clear();
    this.masksIn.clear();
  }
}

function parse<T>(from: PartyIndex, what: string, bytes: Uint8Array, read: (r: Reader) => T): T {
  try {
    const r = new Reader(bytes, `recovery ${what}`);
    const value = read(r);
    r.end();
    return value;
  } catch (error) {
    throw new ProtocolAbort(`recover: bad ${what}: ${(error as Error).message}`, from);
  }
}

/** Two helpers disagree about the mask one sent the other: one of them lied, the target can't tell which. */
export class RecoveryMaskMismatch extends ProtocolAbort {
  constructor(
    readonly sender: PartyIndex,
    readonly receiver: PartyIndex,
  ) {
    super(`recover: helpers ${sender} and ${receiver} disagree about the mask between them`);
    this.name = "RecoveryMaskMismatch";
  }
}

/** A recovery instance on the raw secret and public shares (unit tests, and the share-level one below). */
export function createRecovery(p: Omit<RecoveryConfig, "rng"> & { rng?: RandomBytes }): RecoveryProtocol {
  return new RecoveryProtocol({ ...p, sessionId: Uint8Array.from(p.sessionId), rng: p.rng ?? cryptoRandomBytes });
}

/**
 * Recovery between KeyShares: a helper passes its share of the sharing; the target passes the
 * sharing's public facts and gets a KeyShare over the holders and itself without pairwise setups
 * (it can deal in the refresh that brings it back, not sign: encodeRecoveredShare stores it).
 */
export function createShareRecovery(p: {
  sessionId: Uint8Array;
  keyId: string;
  self: PartyIndex;
  target: PartyIndex;
  helpers: PartyIndex[];
  share: KeyShare | null;
  sharing: { threshold: number; publicKey: Point; epoch: Uint8Array; accept: (publicShares: ReadonlyMap<PartyIndex, Point>) => boolean } | null;
  rng?: RandomBytes;
}): ProtocolInstance<KeyShare | null> {
  const share = p.share;
  if (share !== null && (share.keyId !== p.keyId || share.self !== p.self)) throw new InvalidPartiesError("the share is not this party's share of this key");
  const threshold = share?.threshold ?? p.sharing?.threshold ?? 0;
  const inner = createRecovery({
    sessionId: p.sessionId,
    keyId: p.keyId,
    self: p.self,
    target: p.target,
    helpers: p.helpers,
    threshold,
    holder: share === null ? null : { secret: share.secretShare, publicShares: share.publicShares },
    acceptPublicShares: p.sharing?.accept ?? null,
    ...(p.rng === undefined ? {} : { rng: p.rng }),
  });
  return {
    protocol: inner.protocol,
    sessionId: inner.sessionId,
    keyId: inner.keyId,
    self: inner.self,
    parties: inner.parties,
    get done() {
      return inner.done;
    },
    start: (): ProtocolMessage[] => inner.start(),
    receive: (message: ProtocolMessage): ProtocolMessage[] => inner.receive(message),
    result(): KeyShare | null {
      const recovered = inner.result();
      if (recovered === null) return null;
      const sharing = p.sharing!;
      return recoveredKeyShare({ keyId: p.keyId, threshold, self: p.self, publicKey: sharing.publicKey, epoch: sharing.epoch, holders: recovered.publicShares, secret: recovered.secret });
    },
  };
}

function recoveredKeyShare(p: { keyId: string; threshold: number; self: PartyIndex; publicKey: Point; epoch: Uint8Array; holders: ReadonlyMap<PartyIndex, Point>; secret: bigint }): KeyShare {
  const parties = normalizeParties([...p.holders.keys(), p.self]);
  const publicShares = new Map(parties.map((q) => [q, publicShareAt(p.holders, p.threshold, q)] as const));
  return {
    keyId: p.keyId,
    threshold: p.threshold,
    parties,
    self: p.self,
    publicKey: p.publicKey,
    address: ethereumAddress(p.publicKey),
    publicShares,
    epoch: Uint8Array.from(p.epoch),
    secretShare: p.secret,
    zeroSeeds: new Map(),
    mulAlice: new Map(),
    mulBob: new Map(),
    banned: [],
  };
}

const RECOVERED_MAGIC = new TextEncoder().encode("MPCRS");
const RECOVERED_VERSION = 1;

/** Whether a share lacks the pairwise setups (a recovered share, until its rejoin refresh). */
export function isRecoveredShare(share: KeyShare): boolean {
  return share.parties.length > 1 && share.mulAlice.size === 0;
}

/** A recovered share's encoding: the facts createRefresh needs, no pairwise state. */
export function encodeRecoveredShare(share: KeyShare): Uint8Array {
  return writeShareFacts(new Writer().raw(RECOVERED_MAGIC).u8(RECOVERED_VERSION), share).finish();
}

export function isRecoveredEncoding(bytes: Uint8Array): boolean {
  return bytes.length > RECOVERED_MAGIC.length && RECOVERED_MAGIC.every((b, i) => bytes[i] === b);
}

export function decodeRecoveredShare(bytes: Uint8Array): KeyShare {
  const r = new Reader(bytes, "recovered share");
  if (!isRecoveredEncoding(bytes)) throw new DecodeError("recovered share: bad magic");
  r.raw(RECOVERED_MAGIC.length);
  const version = r.u8();
  if (version !== RECOVERED_VERSION) throw new DecodeError(`recovered share: unsupported version ${version}`);
  const facts = readShareFacts(r, "recovered share");
  r.end();
  return { ...facts, zeroSeeds: new Map(), mulAlice: new Map(), mulBob: new Map(), banned: [] };
}
