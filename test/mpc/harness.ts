/**
 * In-process runner for the MPC protocols in tests: delivers messages between
 * ProtocolInstances in FIFO order, with a hook to tamper with, drop or
 * duplicate messages in flight, and records every abort.
 */
import { createHash } from "node:crypto";
import { finished, runInProcess as run, type RunOutcome, type Tamper } from "@mpc-relay/mpc";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  type PartyIndex,
  type ProtocolInstance,
  type ProtocolMessage,
  type RandomBytes,
  createKeygen,
  createOnlineSign,
  createPresign,
  createSign,
  type KeyShare,
  type Presignature,
  type Signature,
} from "@mpc-relay/mpc";

/** Deterministic RNG for tests (SHA-256 in counter mode). Never use in the product. */
export function seededRng(seed: string): RandomBytes {
  let counter = 0;
  const seedBytes = new TextEncoder().encode(seed);
  return (length: number) => {
    const out = new Uint8Array(length);
    for (let offset = 0; offset < length; offset += 32) {
      const block = new Uint8Array(seedBytes.length + 4);
      block.set(seedBytes);
      new DataView(block.buffer).setUint32(seedBytes.length, counter++, false);
      out.set(sha256(block).subarray(0, Math.min(32, length - offset)), offset);
    }
    return out;
  };
}

/** Deterministic RNG of the OT and multiplication tests (SHAKE256 of seed and counter). Never use in the product. */
export function shakeRng(seed: string): RandomBytes {
  let counter = 0;
  return (n) => new Uint8Array(createHash("shake256", { outputLength: n }).update(`${seed}/${counter++}`).digest());
}

/** SHA-256 of a label: a sub-session id for the OT and multiplication tests. */
export function labelHash(label: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(label).digest());
}

export function sessionIdFrom(label: string): Uint8Array {
  return sha256(new TextEncoder().encode(`session:${label}`));
}

export { finished, run, type RunOutcome, type Tamper };

/** Every k-subset of `items` (lexicographic). */
export function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, k - 1).map((s) => [head, ...s]), ...subsets(rest, k)];
}

/** Flips one bit of a payload at `index` (negative counts from the end). */
export function flipByte(payload: Uint8Array, index: number): Uint8Array {
  const out = Uint8Array.from(payload);
  const i = index < 0 ? out.length + index : index;
  out[i] = out[i]! ^ 0x01;
  return out;
}

/**
 * A dishonest dealer: the same keyGen / refresh / reshare instance, except
 * that its round-2 message to `victim` carries a share (the scalar after the
 * flags byte) that fails the dealer's Feldman commitments.
 */
export function withBadShareTo<R>(victim: PartyIndex, instance: ProtocolInstance<R>): ProtocolInstance<R> {
  return withOutgoing(instance, (messages) => messages.map((m) => (m.round === 2 && m.to === victim ? { ...m, payload: flipByte(m.payload, 32) } : m)));
}

/** The same instance, its outgoing messages passed through `rewrite` first (a dishonest party's sending side). */
export function withOutgoing<R>(instance: ProtocolInstance<R>, rewrite: (messages: ProtocolMessage[]) => ProtocolMessage[]): ProtocolInstance<R> {
  return {
    protocol: instance.protocol,
    sessionId: instance.sessionId,
    keyId: instance.keyId,
    self: instance.self,
    parties: instance.parties,
    get done() {
      return instance.done;
    },
    start: () => rewrite(instance.start()),
    receive: (message) => rewrite(instance.receive(message)),
    result: () => instance.result(),
  };
}

// ---------------------------------------------------------------- protocol drivers

export const KEY_ID = "test-key";

export function keygen(parties: number[], threshold: number, label: string, tamper?: Tamper): RunOutcome<KeyShare> {
  const sessionId = sessionIdFrom(`keygen:${label}`);
  const instances = new Map(parties.map((self) => [self, createKeygen({ sessionId, keyId: KEY_ID, self, parties, threshold, rng: seededRng(`${label}:${self}`) })]));
  return run(instances, tamper);
}

/** Keygen that must succeed; returns the shares. */
export function keygenOk(parties: number[], threshold: number, label: string): Map<number, KeyShare> {
  return finished(keygen(parties, threshold, label)).results;
}

export function sign(shares: ReadonlyMap<number, KeyShare>, signers: number[], digest: Uint8Array, label: string, tamper?: Tamper): RunOutcome<Signature> {
  const sessionId = sessionIdFrom(`sign:${label}`);
  const instances = new Map(signers.map((self) => [self, createSign({ sessionId, keyId: KEY_ID, share: shares.get(self)!, signers, digest, rng: seededRng(`${label}:${self}`) })]));
  return run(instances, tamper);
}

export function presign(shares: ReadonlyMap<number, KeyShare>, signers: number[], label: string, tamper?: Tamper): RunOutcome<Presignature> {
  const sessionId = sessionIdFrom(`presign:${label}`);
  const instances = new Map(signers.map((self) => [self, createPresign({ sessionId, keyId: KEY_ID, share: shares.get(self)!, signers, rng: seededRng(`${label}:${self}`) })]));
  return run(instances, tamper);
}

export function online(presignatures: ReadonlyMap<number, Presignature>, digest: Uint8Array, label: string, tamper?: Tamper): RunOutcome<Signature> {
  const sessionId = sessionIdFrom(`online:${label}`);
  const instances = new Map([...presignatures].map(([self, presignature]) => [self, createOnlineSign({ sessionId, keyId: KEY_ID, presignature, digest })]));
  return run(instances, tamper);
}

/** Digest for tests. */
export function digestOf(text: string): Uint8Array {
  return sha256(new TextEncoder().encode(text));
}
