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
 * it received. The masks cancel in the sum, so sum_h c_h = x_r; any t-1 of
 * the c_h are uniform and independent of the shares (each honest pair's mask
 * is unknown to r), so r learns x_r and nothing else, and a helper sees only
 * uniform masks.
 *
 * r checks before it keeps anything:
 * - each helper's own claims: c_h G = lambda_h(r) X_h + sum M_{h->h'} - sum M'_{h'->h},
 *   with X_h the helper's public share of the current sharing (ProtocolAbort naming h);
 * - each pair's claims agree: M_{h->h'} = M'_{h->h'} (else one of the two lied; both are named);
 * - the sum: x_r G = X_r, the public share the refresh's commitments fix for index r.
 * So a lying helper is detected and named; it can't make r store a wrong share.
 *
 * Rounds (every participant sends every peer a direct message each round; unused ones are empty):
 *  1. helper -> helper: the mask m_{h->h'} (32 bytes).
 *  2. helper -> r: c_h, then each other helper's M_{h->h'} and M'_{h'->h} in helper order.
 */
import { addScalars, mul, mulBase, mulScalars, type Point, pointsEqual, randomScalar, subScalars, sum, sub, invScalar } from "./curve.ts";
import { Reader, Writer } from "./encoding.ts";
import { RoundProtocol, type RoundInput, type RoundOutput, type RoundShape } from "./rounds.ts";
import { type PartyIndex, ProtocolAbort, type RandomBytes } from "./types.ts";
import { InvalidPartiesError, normalizeParties } from "./vss.ts";
import { cryptoRandomBytes } from "./index.ts";

export const RECOVERY_ROUNDS = 2;

/** Lagrange coefficient at `x` of party `i` within `set` (which must contain i and not x). */
export function lagrangeAt(i: PartyIndex, set: readonly PartyIndex[], x: PartyIndex): bigint {
  if (!set.includes(i)) throw new InvalidPartiesError(`party ${i} is not in the interpolation set`);
  let num = 1n;
  let den = 1n;
  for (const j of set) {
    if (j === i) continue;
    num = mulScalars(num, subScalars(BigInt(x), BigInt(j)));
    den = mulScalars(den, subScalars(BigInt(i), BigInt(j)));
  }
  return mulScalars(num, invScalar(den));
}

/** X_x from the public shares of any t holders: the public share a sharing fixes for an index no holder holds. */
export function publicShareAt(publicShares: ReadonlyMap<PartyIndex, Point>, threshold: number, x: PartyIndex): Point {
  const set = [...publicShares.keys()].sort((a, b) => a - b).slice(0, threshold);
  if (set.length < threshold) throw new InvalidPartiesError(`${set.length} public shares for threshold ${threshold}`);
  return sum(set.map((h) => mul(publicShares.get(h)!, lagrangeAt(h, set, x))));
}

export interface RecoveryConfig {
  readonly sessionId: Uint8Array;
  readonly keyId: string;
  readonly self: PartyIndex;
  /** The member whose share is recovered. */
  readonly target: PartyIndex;
  /** Exactly t current holders, not the target. */
  readonly helpers: readonly PartyIndex[];
  /** A helper's share x_self of the current sharing; null for the target. */
  readonly share: bigint | null;
  /** Public shares of the current sharing: every helper's and the target's. */
  readonly publicShares: ReadonlyMap<PartyIndex, Point>;
  readonly rng: RandomBytes;
}

interface Contribution {
  value: bigint;
  sent: Map<PartyIndex, Point>;
  received: Map<PartyIndex, Point>;
}

export class RecoveryProtocol extends RoundProtocol<bigint | null> {
  private readonly helpers: PartyIndex[];
  private readonly masksOut = new Map<PartyIndex, bigint>();
  private readonly masksIn = new Map<PartyIndex, bigint>();

  constructor(private readonly config: RecoveryConfig) {
    const helpers = normalizeParties(config.helpers, "helpers");
    if (helpers.includes(config.target)) throw new InvalidPartiesError(`the target ${config.target} can't help recover its own share`);
    const isHelper = helpers.includes(config.self);
    if (!isHelper && config.self !== config.target) throw new InvalidPartiesError(`party ${config.self} is neither a helper nor the target`);
    if (isHelper !== (config.share !== null)) throw new InvalidPartiesError("a helper needs its share, the target must not pass one");
    for (const p of [...helpers, config.target]) if (!config.publicShares.has(p)) throw new InvalidPartiesError(`no public share for party ${p}`);
    super("recover", config.sessionId, config.keyId, config.self, [...helpers, config.target].sort((a, b) => a - b), RECOVERY_ROUNDS);
    this.helpers = helpers;
    if (isHelper) for (const h of helpers) if (h !== config.self) this.masksOut.set(h, randomScalar(config.rng));
  }

  protected shape(): RoundShape {
    return { broadcast: false, direct: true };
  }

  private get isHelper(): boolean {
    return this.config.share !== null;
  }

  protected produce(round: number): RoundOutput {
    const direct = new Map<PartyIndex, Uint8Array>();
    for (const p of this.peers) direct.set(p, new Uint8Array(0));
    if (!this.isHelper) return { direct };
    if (round === 1) {
      for (const [h, m] of this.masksOut) direct.set(h, new Writer().scalar(m).finish());
      return { direct };
    }
    const { target } = this.config;
    let value = mulScalars(lagrangeAt(this.self, this.helpers, target), this.config.share!);
    const w = new Writer();
    for (const h of this.helpers) {
      if (h === this.self) continue;
      value = subScalars(addScalars(value, this.masksOut.get(h)!), this.masksIn.get(h)!);
    }
    w.scalar(value);
    for (const h of this.helpers) if (h !== this.self) w.point(mulBase(this.masksOut.get(h)!)).point(mulBase(this.masksIn.get(h)!));
    direct.set(target, w.finish());
    return { direct };
  }

  protected consume(round: number, input: RoundInput): bigint | null | undefined {
    for (const [from, bytes] of input.direct) {
      const expectsContent = round === 1 ? this.isHelper && this.helpers.includes(from) : !this.isHelper;
      if (!expectsContent && bytes.length !== 0) throw new ProtocolAbort(`recover: unexpected round-${round} content`, from);
    }
    if (round === 1) {
      if (!this.isHelper) return undefined;
      for (const h of this.helpers) {
        if (h === this.self) continue;
        try {
          const r = new Reader(input.direct.get(h)!, "recovery mask");
          this.masksIn.set(h, r.scalar());
          r.end();
        } catch (error) {
          throw new ProtocolAbort(`recover: bad mask: ${(error as Error).message}`, h);
        }
      }
      return undefined;
    }
    if (this.isHelper) return null;
    return this.recover(input.direct);
  }

  private recover(direct: ReadonlyMap<PartyIndex, Uint8Array>): bigint {
    const { target, publicShares } = this.config;
    const contributions = new Map<PartyIndex, Contribution>();
    for (const h of this.helpers) {
      try {
        const r = new Reader(direct.get(h)!, "recovery contribution");
        const value = r.scalar(true);
        const sent = new Map<PartyIndex, Point>();
        const received = new Map<PartyIndex, Point>();
        for (const other of this.helpers) {
          if (other === h) continue;
          sent.set(other, r.point());
          received.set(other, r.point());
        }
        r.end();
        contributions.set(h, { value, sent, received });
      } catch (error) {
        throw new ProtocolAbort(`recover: bad contribution: ${(error as Error).message}`, h);
      }
    }
    // Each helper against its own claims and its public share: a wrong term names its sender.
    for (const [h, c] of contributions) {
      const expected = sub(sum([mul(publicShares.get(h)!, lagrangeAt(h, this.helpers, target)), ...c.sent.values()]), sum([...c.received.values()]));
      if (!pointsEqual(mulBase(c.value), expected)) throw new ProtocolAbort(`recover: helper ${h}'s contribution does not match its public share and masks`, h);
    }
    // Each pair's claims about the mask between them: a mismatch means one of the two lied.
    for (const [h, c] of contributions) {
      for (const [other, M] of c.sent) {
        if (!pointsEqual(M, contributions.get(other)!.received.get(h)!)) throw new RecoveryMaskMismatch(h, other);
      }
    }
    let share = 0n;
    for (const c of contributions.values()) share = addScalars(share, c.value);
    if (share === 0n || !pointsEqual(mulBase(share), publicShares.get(target)!)) throw new ProtocolAbort("recover: the recovered share does not match its public share");
    return share;
  }

  protected override wipe(): void {
    this.masksOut.clear();
    this.masksIn.clear();
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

/** A recovery instance; helpers pass their share, the target null. */
export function createRecovery(p: Omit<RecoveryConfig, "rng"> & { rng?: RandomBytes }): RecoveryProtocol {
  return new RecoveryProtocol({ ...p, sessionId: Uint8Array.from(p.sessionId), rng: p.rng ?? cryptoRandomBytes });
}
