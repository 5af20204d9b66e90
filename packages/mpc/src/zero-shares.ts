/**
 * Pairwise zero-sharing (DKLs23 setup): every pair of parties holds a common
 * 32-byte seed agreed by commit-then-open during the DKG. For a signing
 * session, each signer derives zeta_i = sum over co-signers j of
 * (+/-) PRF(seed_ij, session), + when i < j and - otherwise, so the zeta_i of
 * the signer set sum to zero while each looks random to the others.
 */
import { addScalars, scalarFromHash, subScalars } from "./curve.ts";
import { Transcript } from "./transcript.ts";
import type { PartyIndex } from "./types.ts";

/** The seed of a pair from both parties' opened contributions (order-independent). */
export function combineZeroSeed(jointSessionId: Uint8Array, a: PartyIndex, contributionA: Uint8Array, b: PartyIndex, contributionB: Uint8Array): Uint8Array {
  const [lo, loContribution, hi, hiContribution] = a < b ? [a, contributionA, b, contributionB] : [b, contributionB, a, contributionA];
  return new Transcript("zero-share-seed")
    .absorb("session", jointSessionId)
    .absorb("low", lo)
    .absorb("low-contribution", loContribution)
    .absorb("high", hi)
    .absorb("high-contribution", hiContribution)
    .digest();
}

/** Commitment to a seed contribution, sent before the opening. */
export function commitZeroSeedContribution(sessionBinding: Uint8Array, from: PartyIndex, to: PartyIndex, contribution: Uint8Array): Uint8Array {
  return new Transcript("zero-share-commit").absorb("session", sessionBinding).absorb("from", from).absorb("to", to).absorb("contribution", contribution).digest();
}

/** zeta_self for one signing session; the values of all signers sum to zero mod q. */
export function deriveZeroShare(self: PartyIndex, signers: readonly PartyIndex[], seeds: ReadonlyMap<PartyIndex, Uint8Array>, signingSessionId: Uint8Array): bigint {
  let zeta = 0n;
  for (const j of signers) {
    if (j === self) continue;
    const seed = seeds.get(j);
    if (seed === undefined) throw new Error(`no zero-sharing seed with party ${j}`);
    const value = scalarFromHash(new Transcript("zero-share").absorb("seed", seed).absorb("session", signingSessionId).digest());
    zeta = self < j ? addScalars(zeta, value) : subScalars(zeta, value);
  }
  return zeta;
}
