/** Binds the session manager to the threshold-ECDSA library (relayer/mpc). */
import { ecdsaVerify, pointFromBytes } from "../mpc/curve.ts";
import {
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
} from "../mpc/index.ts";
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
