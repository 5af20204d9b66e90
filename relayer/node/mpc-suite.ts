/** Binds the session manager to the threshold-ECDSA library (packages/mpc). */
import {
  bytesEqual,
  ecdsaVerify,
  pointFromBytes,
  BannedPartyAbort,
  createKeygen,
  createOnlineSign,
  createPresign,
  createRefresh,
  createReshare,
  createSign,
  decodeKeyShare,
  decodePresignature,
  encodeKeyShare,
  encodePresignature,
  type KeyShare,
  type Presignature,
  sharingDigest,
  withBan,
  createShareRecovery,
  decodeRecoveredShare,
  encodeRecoveredShare,
  isRecoveredEncoding,
  isRecoveredShare,
  withMembers,
} from "@mpc-relay/mpc";
import type { ProtocolSuite, SignatureLike } from "./protocols.ts";

export const mpcSuite: ProtocolSuite<KeyShare, Presignature> = {
  keygen: (p) => createKeygen(p),
  presign: (p) => createPresign(p),
  onlineSign: (p) => createOnlineSign(p),
  sign: (p) => createSign(p),
  refresh: (p) => createRefresh(p),
  reshare: (p) => createReshare(p),
  recover: (p) => {
    if (p.sharing === null) return createShareRecovery({ ...p, sharing: null });
    const sharing = p.sharing;
    const publicKey = pointFromBytes(sharing.publicKey);
    return createShareRecovery({
      ...p,
      sharing: {
        threshold: sharing.threshold,
        publicKey,
        epoch: sharing.epoch,
        // The holders' public shares are the ones every holder signed: the sharing digest of the certificate.
        accept: (publicShares) => {
          const parties = [...publicShares.keys()].sort((a, b) => a - b);
          if (parties.length !== sharing.parties.length || parties.some((q, i) => q !== sharing.parties[i])) return false;
          return bytesEqual(sharingDigest({ keyId: p.keyId, threshold: sharing.threshold, parties, publicKey, publicShares }), sharing.digest);
        },
      },
    });
  },
  withMembers,
  encodeShare: (share) => (isRecoveredShare(share) ? encodeRecoveredShare(share) : encodeKeyShare(share)),
  decodeShare: (bytes) => (isRecoveredEncoding(bytes) ? decodeRecoveredShare(bytes) : decodeKeyShare(bytes)),
  encodePresignature,
  decodePresignature,
  bannedBy: (error) => (error instanceof BannedPartyAbort ? error.banned : null),
  withBans: (share, banned) => banned.reduce(withBan, share),
  sharingDigest,
  verify(publicKey: Uint8Array, digest: Uint8Array, signature: SignatureLike): boolean {
    return ecdsaVerify(signature.bytes.subarray(0, 64), digest, pointFromBytes(publicKey));
  },
};
