/**
 * Who signs for the relay address in a test kit. The gateways only ever see the address and its
 * EIP-712 signatures, so a plain test key (fast) and a real t-of-n threshold key made in-process with
 * the project's own DKLs23 library (the production signing path) are interchangeable.
 */
import { bytesToHex, hashTypedData, hexToBytes, keccak256, stringToHex, type Address, type Hex, type TypedDataDefinition } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { batchTypedData, messageTypedData, relayRotationTypedData } from "@mpc-relay/sdk";
import { createKeygen, createSign, ethereumAddress, finished, runInProcess, type KeyShare } from "@mpc-relay/mpc";

/** What a relay signs: a message, a batch root or a relay rotation, for one target gateway. */
export type GatewayTypedData = ReturnType<typeof messageTypedData> | ReturnType<typeof batchTypedData> | ReturnType<typeof relayRotationTypedData>;

export interface Attester {
  readonly address: Address;
  /** A 65-byte (r, s, v) low-s signature over the typed data's EIP-712 digest. */
  signTypedData(typedData: GatewayTypedData): Promise<Hex>;
}

// The SDK's message records are interfaces, which viem's index-signature typing does not accept as is.
const asDefinition = (typedData: GatewayTypedData) => typedData as unknown as TypedDataDefinition;

/**
 * An ordinary private key as the relay: deterministic per label, so tests are reproducible. Only for
 * tests: in production the relay key exists as threshold shares only.
 */
export function testKeyAttester(label = "relay"): Attester {
  const account = privateKeyToAccount(keccak256(stringToHex(`mpc-relay test kit key: ${label}`)));
  return { address: account.address, signTypedData: (typedData) => account.signTypedData(asDefinition(typedData)) };
}

function sessionId(label: string): Uint8Array {
  return hexToBytes(keccak256(stringToHex(`mpc-relay test kit session: ${label}`)));
}

/**
 * A `threshold`-of-`parties` key generated with DKLs23 among in-process parties; each signature is a
 * full threshold signing by the first `threshold` parties. No party, and nothing here, ever holds the
 * whole private key. Slower than a test key (about a second for the key, tens of ms per signature).
 */
export function mpcAttester(options: { parties?: number; threshold?: number; keyId?: string } = {}): Attester {
  const count = options.parties ?? 3;
  const threshold = options.threshold ?? 2;
  const keyId = options.keyId ?? "test-kit";
  const parties = Array.from({ length: count }, (_, i) => i + 1);
  const keygenId = sessionId(`${keyId}/keygen/${bytesToHex(crypto.getRandomValues(new Uint8Array(16)))}`);
  const shares = finished(runInProcess(new Map(parties.map((self) => [self, createKeygen({ sessionId: keygenId, keyId, self, parties, threshold })])))).results;
  const address: Address = ethereumAddress(shares.get(1)!.publicKey);
  const signers = parties.slice(0, threshold);
  let signatures = 0;
  return {
    address,
    async signTypedData(typedData) {
      const digest = hexToBytes(hashTypedData(asDefinition(typedData)));
      // The library binds each signing to a session id that is never reused for the key.
      const id = sessionId(`${keyId}/sign/${address}/${signatures++}`);
      const results = finished(runInProcess(new Map(signers.map((self) => [self, createSign({ sessionId: id, keyId, share: shares.get(self) as KeyShare, signers, digest })])))).results;
      return bytesToHex(results.get(signers[0]!)!.bytes);
    },
  };
}
