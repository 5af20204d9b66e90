/** Binds the session manager to the threshold-ECDSA library (relayer/mpc). */
import { secp256k1 } from "@noble/curves/secp256k1.js";
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
  shareAfterAbort: (error) => (error instanceof BannedPartyAbort ? error.share : null),
  verify(publicKey: Uint8Array, digest: Uint8Array, signature: SignatureLike): boolean {
    return secp256k1.verify(signature.bytes.subarray(0, 64), digest, publicKey, { prehash: false, lowS: true, format: "compact" });
  },
};
