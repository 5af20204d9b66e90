/**
 * Threshold ECDSA (DKLs23) entry points for the signer node: every operation
 * is a message-driven ProtocolInstance (types.ts); key shares and
 * presignatures have versioned encodings. Nothing here computes the full
 * private key.
 *
 * What the caller (signer node) must do:
 * - Never reuse a sessionId for a key: presign/sign bind their multiplications to it.
 * - Deliver direct messages over an authenticated, encrypted channel (they carry shares).
 * - Persist `BannedPartyAbort.share` (our share with the ban recorded) when one is thrown.
 * - Mark a presignature (by `id`) consumed in storage before calling start() on its online instance.
 * - After refresh/reshare, delete the old share only once every party reported success.
 */
import { mul, mulScalars, type Point, pointFromBytes, pointsEqual, randomScalar } from "./curve.ts";
import { DealingProtocol } from "./dkg.ts";
import { cryptoRandomBytes } from "./random.ts";
import { type KeyShare } from "./keyshare.ts";
import { checkDigest, OnlineSignProtocol, type Presignature, PresignProtocol, type Signature, SignProtocol } from "./sign.ts";
import type { PartyIndex, ProtocolInstance, RandomBytes } from "./types.ts";
import { checkSignerSet, checkThreshold, InvalidPartiesError, lagrangeAtZero, normalizeParties } from "./vss.ts";

export { decodeKeyShare, encodeKeyShare, ethereumAddress, type KeyShare, sharingDigest, withBan } from "./keyshare.ts";
export { BannedPartyAbort, decodePresignature, encodePresignature, InvalidDigestError, Presignature, PresignatureConsumedError, type Signature } from "./sign.ts";
export { checkSignerSet, InvalidPartiesError, MAX_PARTY_INDEX, MIN_THRESHOLD, normalizeParties } from "./vss.ts";
export { bytesEqual, DecodeError } from "./encoding.ts";
export { ecdsaVerify, type Point, pointFromBytes } from "./curve.ts";
export { Transcript } from "./transcript.ts";
export { finished, runInProcess, type RunOutcome, type Tamper } from "./in-process.ts";
export { cryptoRandomBytes } from "./random.ts";
export { createRecovery, createShareRecovery, decodeRecoveredShare, encodeRecoveredShare, isRecoveredEncoding, isRecoveredShare, RecoveryMaskMismatch, withMembers } from "./recovery.ts";
export { BroadcastMismatch, type FaultKind, type FaultProof, type PartyIndex, ProtocolAbort, type ProtocolInstance, type ProtocolMessage, type RandomBytes } from "./types.ts";
export { checkFaultProof, checkProof, decodeProtocolMessage, encodeProtocolMessage, FAULT_KINDS, InvalidFaultProof, protocolMessageHeader } from "./evidence.ts";

export class InvalidParameterError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "InvalidParameterError";
  }
}

function checkSession(sessionId: unknown, keyId: unknown): void {
  if (!(sessionId instanceof Uint8Array) || sessionId.length < 16 || sessionId.length > 64) {
    throw new InvalidParameterError("sessionId must be 16 to 64 bytes");
  }
  if (typeof keyId !== "string" || keyId.length === 0 || keyId.length > 128) {
    throw new InvalidParameterError("keyId must be a non-empty string of at most 128 characters");
  }
}

function checkMember(self: PartyIndex, set: readonly PartyIndex[], what: string): void {
  if (!set.includes(self)) throw new InvalidPartiesError(`party ${self} is not in ${what}`);
}

export function createKeygen(p: { sessionId: Uint8Array; keyId: string; self: PartyIndex; parties: PartyIndex[]; threshold: number; rng?: RandomBytes }): ProtocolInstance<KeyShare> {
  checkSession(p.sessionId, p.keyId);
  const parties = normalizeParties(p.parties);
  checkThreshold(p.threshold, parties.length);
  checkMember(p.self, parties, "the committee");
  const rng = p.rng ?? cryptoRandomBytes;
  return new DealingProtocol({
    protocol: "keygen",
    sessionId: Uint8Array.from(p.sessionId),
    keyId: p.keyId,
    self: p.self,
    dealers: parties,
    receivers: parties,
    threshold: p.threshold,
    dealtSecret: randomScalar(rng),
    zeroConstant: false,
    expectedConstants: null,
    expectedPublicKey: null,
    baseShare: 0n,
    basePublicShares: null,
    rng,
  }) as ProtocolInstance<KeyShare>;
}

function checkSigners(share: KeyShare, keyId: string, signers: PartyIndex[]): PartyIndex[] {
  if (share.keyId !== keyId) throw new InvalidParameterError(`the share is for key ${share.keyId}, not ${keyId}`);
  return checkSignerSet(share, signers, share.self);
}

export function createPresign(p: { sessionId: Uint8Array; keyId: string; share: KeyShare; signers: PartyIndex[]; rng?: RandomBytes }): ProtocolInstance<Presignature> {
  checkSession(p.sessionId, p.keyId);
  const signers = checkSigners(p.share, p.keyId, p.signers);
  return new PresignProtocol(Uint8Array.from(p.sessionId), p.share, signers, p.rng ?? cryptoRandomBytes);
}

/** One broadcast round. Consumes the presignature: a second call with it throws. */
export function createOnlineSign(p: { sessionId: Uint8Array; keyId: string; presignature: Presignature; digest: Uint8Array }): ProtocolInstance<Signature> {
  checkSession(p.sessionId, p.keyId);
  const digest = checkDigest(p.digest);
  if (p.presignature.keyId !== p.keyId) throw new InvalidParameterError(`the presignature is for key ${p.presignature.keyId}, not ${p.keyId}`);
  return new OnlineSignProtocol(Uint8Array.from(p.sessionId), p.presignature, digest);
}

export function createSign(p: { sessionId: Uint8Array; keyId: string; share: KeyShare; signers: PartyIndex[]; digest: Uint8Array; rng?: RandomBytes }): ProtocolInstance<Signature> {
  checkSession(p.sessionId, p.keyId);
  const digest = checkDigest(p.digest);
  const signers = checkSigners(p.share, p.keyId, p.signers);
  return new SignProtocol(Uint8Array.from(p.sessionId), p.share, signers, digest, p.rng ?? cryptoRandomBytes);
}

/** New shares of the same key for the same committee, and a fresh pairwise setup (clears bans). */
export function createRefresh(p: { sessionId: Uint8Array; keyId: string; share: KeyShare; rng?: RandomBytes }): ProtocolInstance<KeyShare> {
  checkSession(p.sessionId, p.keyId);
  if (p.share.keyId !== p.keyId) throw new InvalidParameterError(`the share is for key ${p.share.keyId}, not ${p.keyId}`);
  const share = p.share;
  return new DealingProtocol({
    protocol: "refresh",
    sessionId: Uint8Array.from(p.sessionId),
    keyId: p.keyId,
    self: share.self,
    dealers: share.parties,
    receivers: share.parties,
    threshold: share.threshold,
    dealtSecret: null,
    zeroConstant: true,
    expectedConstants: null,
    expectedPublicKey: share.publicKey,
    baseShare: share.secretShare,
    basePublicShares: share.publicShares,
    rng: p.rng ?? cryptoRandomBytes,
  }) as ProtocolInstance<KeyShare>;
}

/**
 * Moves the key to a new committee and/or threshold: the dealers (at least t
 * old members) each deal lambda_i * x_i; the new members sum. The result is
 * null for an old member that is not in the new committee.
 */
export function createReshare(p: {
  sessionId: Uint8Array;
  keyId: string;
  self: PartyIndex;
  oldShare: KeyShare | null;
  oldParties: PartyIndex[];
  newParties: PartyIndex[];
  newThreshold: number;
  publicKey: Uint8Array;
  oldPublicShares?: ReadonlyMap<PartyIndex, Uint8Array>;
  rng?: RandomBytes;
}): ProtocolInstance<KeyShare | null> {
  checkSession(p.sessionId, p.keyId);
  const dealers = normalizeParties(p.oldParties, "oldParties");
  const receivers = normalizeParties(p.newParties, "newParties");
  checkThreshold(p.newThreshold, receivers.length);
  const publicKey = pointFromBytes(p.publicKey);
  const isDealer = dealers.includes(p.self);
  if (!isDealer && !receivers.includes(p.self)) throw new InvalidPartiesError(`party ${p.self} is neither a dealer nor a new member`);
  const old = p.oldShare;
  if (isDealer && old === null) throw new InvalidParameterError(`dealer ${p.self} needs its old share`);
  let oldPublicShares: ReadonlyMap<PartyIndex, Point> | null = null;
  if (old !== null) {
    if (old.keyId !== p.keyId) throw new InvalidParameterError(`the share is for key ${old.keyId}, not ${p.keyId}`);
    if (old.self !== p.self) throw new InvalidParameterError(`the old share belongs to party ${old.self}, not ${p.self}`);
    if (!pointsEqual(old.publicKey, publicKey)) throw new InvalidParameterError("publicKey does not match the old share");
    if (dealers.length < old.threshold) throw new InvalidPartiesError(`at least ${old.threshold} dealers are needed, got ${dealers.length}`);
    for (const d of dealers) if (!old.parties.includes(d)) throw new InvalidPartiesError(`dealer ${d} is not in the old committee`);
    oldPublicShares = old.publicShares;
  } else if (p.oldPublicShares !== undefined) {
    const validated = new Map<PartyIndex, Point>();
    for (const d of dealers) {
      const X = p.oldPublicShares.get(d);
      if (X === undefined) throw new InvalidParameterError(`oldPublicShares lacks dealer ${d}`);
      validated.set(d, pointFromBytes(X));
    }
    oldPublicShares = validated;
  }
  let expectedConstants: Map<PartyIndex, Point> | null = null;
  if (oldPublicShares !== null) {
    expectedConstants = new Map();
    for (const d of dealers) {
      const X = oldPublicShares.get(d);
      if (X === undefined) throw new InvalidParameterError(`no public share for dealer ${d}`);
      expectedConstants.set(d, mul(X, lagrangeAtZero(d, dealers)));
    }
  }
  const rng = p.rng ?? cryptoRandomBytes;
  return new DealingProtocol({
    protocol: "reshare",
    sessionId: Uint8Array.from(p.sessionId),
    keyId: p.keyId,
    self: p.self,
    dealers,
    receivers,
    threshold: p.newThreshold,
    dealtSecret: isDealer ? mulScalars(lagrangeAtZero(p.self, dealers), old!.secretShare) : null,
    zeroConstant: false,
    expectedConstants,
    expectedPublicKey: publicKey,
    baseShare: 0n,
    basePublicShares: null,
    rng,
  });
}
