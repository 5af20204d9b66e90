/** Binds the session manager to the threshold-ECDSA library (packages/mpc). */
import {
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
} from "@mpc-relay/mpc";
import type { ProtocolSuite, SignatureLike } from "./protocols.ts";

export const mpcSuite: ProtocolSuite<KeyShare, Presignature> = {
  keygen: (p) => createKeygen(p),
  presign: (p) => createPresign(p),
  onlineSign: (p) => createOnlineSign(p),
  sign: (p) => createSign(p),
  refresh: (p) => createRefresh(p),
  reshare: (p) => createReshare(p),
  encodeShare: encodeKeyShare,
  decodeShare: decodeKeyShare,
  encodePresignature,
  decodePresignature,
  bannedBy: (error) => (error instanceof BannedPartyAbort ? error.banned : null),
  withBans: (share, banned) => banned.reduce(withBan, share),
  sharingDigest,
  verify(publicKey: Uint8Array, digest: Uint8Array, signature: SignatureLike): boolean {
    return ecdsaVerify(signature.bytes.subarray(0, 64), digest, pointFromBytes(publicKey));
  },
};
