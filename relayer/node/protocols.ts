/**
 * What the session manager needs from the threshold-ECDSA library: the
 * protocol factories and the share / presignature encodings of
 * packages/mpc/src/index.ts. The manager is generic over the share and
 * presignature types; `mpcSuite` (mpc-suite.ts) binds the real library.
 */
import type { PartyIndex, ProtocolInstance } from "@mpc-relay/mpc";

/** The public facts about a share that the node stores beside it in the clear. */
export interface ShareFacts {
  readonly keyId: string;
  readonly threshold: number;
  readonly parties: readonly PartyIndex[];
  readonly self: PartyIndex;
  readonly publicKey: Uint8Array;
  readonly address: string;
}

export interface SignatureLike {
  readonly r: bigint;
  readonly s: bigint;
  readonly v: 27 | 28;
  /** 65 bytes: r || s || v. */
  readonly bytes: Uint8Array;
}

export interface ProtocolSuite<Share extends ShareFacts, Presignature> {
  keygen(p: { sessionId: Uint8Array; keyId: string; self: PartyIndex; parties: PartyIndex[]; threshold: number }): ProtocolInstance<Share>;
  presign(p: { sessionId: Uint8Array; keyId: string; share: Share; signers: PartyIndex[] }): ProtocolInstance<Presignature>;
  onlineSign(p: { sessionId: Uint8Array; keyId: string; presignature: Presignature; digest: Uint8Array }): ProtocolInstance<SignatureLike>;
  sign(p: { sessionId: Uint8Array; keyId: string; share: Share; signers: PartyIndex[]; digest: Uint8Array }): ProtocolInstance<SignatureLike>;
  refresh(p: { sessionId: Uint8Array; keyId: string; share: Share }): ProtocolInstance<Share>;
  reshare(p: {
    sessionId: Uint8Array;
    keyId: string;
    self: PartyIndex;
    oldShare: Share | null;
    oldParties: PartyIndex[];
    newParties: PartyIndex[];
    newThreshold: number;
    publicKey: Uint8Array;
  }): ProtocolInstance<Share | null>;
  /**
   * Share recovery (packages/mpc/src/recovery.ts): a helper passes its share; the target the sharing's public facts and a
   * check of the holders' public shares against the certified digest, and gets a share that can deal in its rejoin refresh only.
   */
  recover(p: {
    sessionId: Uint8Array;
    keyId: string;
    self: PartyIndex;
    target: PartyIndex;
    helpers: PartyIndex[];
    share: Share | null;
    sharing: { threshold: number; parties: PartyIndex[]; publicKey: Uint8Array; epoch: Uint8Array; digest: Uint8Array } | null;
  }): ProtocolInstance<Share | null>;
  /** The same sharing over another member set (a refresh among the present members, or one bringing a recovered member back). */
  withMembers(share: Share, parties: readonly PartyIndex[]): Share;
  /** Encodes a share or a recovered one (decodeShare reads both). */
  encodeShare(share: Share): Uint8Array;
  decodeShare(bytes: Uint8Array): Share;
  encodePresignature(presignature: Presignature): Uint8Array;
  decodePresignature(bytes: Uint8Array): Presignature;
  /** The co-signer an abort banned (a failed OT / multiplication check), which the node must persist; else null. */
  bannedBy(error: unknown): PartyIndex | null;
  /** The share with these co-signers banned (the node keeps bans beside the sealed share, per generation). */
  withBans(share: Share, banned: readonly PartyIndex[]): Share;
  /** A digest of the sharing's public facts: holders of one sharing compute the same (session/commit.ts). */
  sharingDigest(share: Share): Uint8Array;
  /** Checks a finished signature against the key before it is released. */
  verify(publicKey: Uint8Array, digest: Uint8Array, signature: SignatureLike): boolean;
}
