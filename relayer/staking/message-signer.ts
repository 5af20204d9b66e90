/**
 * Operator signatures on protocol messages: every protocol message a staking
 * node sends carries its operator key's EIP-712 `ProtocolMessage(contentHash)`
 * signature (domain: the RelayStaking deployment), contentHash being
 * keccak256 of the message's header: its envelope and the SHA-256 of its
 * payload (packages/mpc/src/evidence.ts protocolMessageHeader).
 * A message that proves its sender's fault is then evidence RelayStaking's
 * removeNode accepts.
 *
 * This sits on the hot path (every round of every signature): payloads are
 * hashed with SHA-256 (OpenSSL, ~1 GB/s; noble's keccak does ~25 MB/s here),
 * keccak only covers the short header, and libsecp256k1 signs and recovers
 * instead of viem's pure-JS signer; tests check the digest against viem's
 * hashTypedData.
 */
import { createRequire } from "node:module";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { bytesToHex, encodeAbiParameters, getAddress, hexToBytes, keccak256, toBytes, type Address, type Hex } from "viem";
import type * as Secp256k1Native from "secp256k1";
import { protocolMessageHeader, type ProtocolMessage } from "@mpc-relay/mpc";
import { stakingDomain } from "./typed-data.ts";

const require = createRequire(import.meta.url);
const native: typeof Secp256k1Native = require("secp256k1");

const DOMAIN_TYPEHASH = keccak256(toBytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));
const PROTOCOL_MESSAGE_TYPEHASH = hexToBytes(keccak256(toBytes("ProtocolMessage(bytes32 contentHash)")));

/** The EIP-712 domain separator of a RelayStaking deployment. */
export function stakingDomainSeparator(chainId: number | bigint, staking: Address): Uint8Array {
  const domain = stakingDomain(chainId, staking);
  return hexToBytes(
    keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "address" }],
        [DOMAIN_TYPEHASH, keccak256(toBytes(domain.name!)), keccak256(toBytes(domain.version!)), BigInt(chainId), staking],
      ),
    ),
  );
}

export class MessageSigner {
  private readonly privateKey: Uint8Array;

  /** `privateKey`: the operator key; `domainSeparator`: stakingDomainSeparator of the deployment. */
  constructor(
    privateKey: Hex,
    private readonly domainSeparator: Uint8Array,
  ) {
    this.privateKey = hexToBytes(privateKey);
    if (this.privateKey.length !== 32 || !native.privateKeyVerify(this.privateKey)) throw new Error("invalid operator private key");
  }

  /** The EIP-712 digest the operator signs for a message header (protocolMessageHeader). */
  digest(header: Uint8Array): Uint8Array {
    const structHash = keccak_256(concatBytes(PROTOCOL_MESSAGE_TYPEHASH, keccak_256(header)));
    return keccak_256(concatBytes(Uint8Array.of(0x19, 0x01), this.domainSeparator, structHash));
  }

  /** 65-byte r || s || v (v = 27 | 28) signature, as RelayStaking recovers it. */
  sign(message: ProtocolMessage): Hex {
    const { signature, recid } = native.ecdsaSign(this.digest(protocolMessageHeader(message)), this.privateKey);
    return bytesToHex(concatBytes(signature, Uint8Array.of(27 + recid)));
  }

  /** True when `signature` is `operator`'s signature of `message`. */
  verify(message: ProtocolMessage, signature: Hex, operator: Address): boolean {
    return this.verifyHeader(protocolMessageHeader(message), signature, operator);
  }

  /** True when `signature` is `operator`'s signature of a message with this header. */
  verifyHeader(header: Uint8Array, signature: Hex, operator: Address): boolean {
    // Every received message passes here: compare case-insensitively rather than checksum `operator` each time.
    return recoverSigner(this.digest(header), signature)?.toLowerCase() === operator.toLowerCase();
  }
}

/** The address that signed `digest`, or null for a malformed or high-s signature. */
export function recoverSigner(digest: Uint8Array, signature: Hex): Address | null {
  const bytes = hexToBytes(signature);
  if (bytes.length !== 65 || (bytes[64] !== 27 && bytes[64] !== 28)) return null;
  try {
    const compact = bytes.subarray(0, 64);
    // libsecp256k1 refuses high-s on verify but recovers it; the contract (OpenZeppelin ECDSA) refuses it, so do we.
    if (!native.signatureNormalize(Uint8Array.from(compact)).every((b, i) => b === compact[i])) return null;
    const publicKey = native.ecdsaRecover(compact, bytes[64] - 27, digest, false);
    return getAddress(`0x${bytesToHex(keccak_256(publicKey.subarray(1))).slice(-40)}`);
  } catch {
    return null;
  }
}
