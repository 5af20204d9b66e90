/**
 * A party's share of a threshold key, and its versioned binary encoding (the
 * signer node stores it encrypted). The secret parts are the Shamir share x_i,
 * the pairwise zero-sharing seeds and the pairwise multiplication setups.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { type Point, pointToUncompressed } from "./curve.ts";
import { DecodeError, Reader, toHex, Writer } from "./encoding.ts";
import { Transcript } from "./transcript.ts";
import { type AliceSetup, type BobSetup, decodeAliceSetup, decodeBobSetup, encodeAliceSetup, encodeBobSetup } from "./multiply.ts";
import type { PartyIndex } from "./types.ts";
import { checkThreshold, normalizeParties } from "./vss.ts";

export interface KeyShare {
  readonly keyId: string;
  /** Signers needed (t). */
  readonly threshold: number;
  /** Committee, sorted. */
  readonly parties: readonly PartyIndex[];
  readonly self: PartyIndex;
  /** The group public key, 33-byte compressed. */
  readonly publicKey: Point;
  /** EIP-55 Ethereum address of the public key. */
  readonly address: `0x${string}`;
  /** X_j = x_j * G for every committee member. */
  readonly publicShares: ReadonlyMap<PartyIndex, Point>;
  /** Identifies the sharing (the joint session id of the DKG/refresh/reshare that produced it). */
  readonly epoch: Uint8Array;
  /** Secret Shamir share x_self. */
  readonly secretShare: bigint;
  /** Pairwise zero-sharing seeds, by peer. */
  readonly zeroSeeds: ReadonlyMap<PartyIndex, Uint8Array>;
  /** Our multiplication setups as sender ("alice") towards each peer. */
  readonly mulAlice: ReadonlyMap<PartyIndex, AliceSetup>;
  /** Our multiplication setups as receiver ("bob") from each peer. */
  readonly mulBob: ReadonlyMap<PartyIndex, BobSetup>;
  /** Peers whose multiplication/OT check failed: refused as co-signers until a refresh redoes the setup. */
  readonly banned: readonly PartyIndex[];
}

const KEY_SHARE_MAGIC = new TextEncoder().encode("MPCKS");
const KEY_SHARE_VERSION = 1;

/** Ethereum address (EIP-55 checksummed) of a secp256k1 public key. */
export function ethereumAddress(publicKey: Point): `0x${string}` {
  const hash = keccak_256(pointToUncompressed(publicKey).subarray(1));
  const hex = toHex(hash.subarray(12));
  const checksum = toHex(keccak_256(new TextEncoder().encode(hex)));
  let out = "";
  for (let i = 0; i < hex.length; i++) out += parseInt(checksum[i]!, 16) >= 8 ? hex[i]!.toUpperCase() : hex[i]!;
  return `0x${out}`;
}

/**
 * A digest of a sharing's public facts (key id, threshold, committee, public
 * key and every public share). Every holder of one sharing computes the same
 * digest, so holders confirm to each other that they hold the same sharing
 * without revealing anything secret.
 */
export function sharingDigest(share: Pick<KeyShare, "keyId" | "threshold" | "parties" | "publicKey" | "publicShares">): Uint8Array {
  const t = new Transcript("sharing-digest").absorb("key", share.keyId).absorb("threshold", share.threshold).absorbList("parties", share.parties);
  t.absorb("public-key", share.publicKey);
  for (const p of share.parties) t.absorb(`public-share-${p}`, share.publicShares.get(p)!);
  return t.digest();
}

/** The share with `party` added to its ban list (no-op if already there). */
export function withBan(share: KeyShare, party: PartyIndex): KeyShare {
  if (share.banned.includes(party)) return share;
  return { ...share, banned: [...share.banned, party].sort((a, b) => a - b) };
}

export function encodeKeyShare(share: KeyShare): Uint8Array {
  const w = writeShareFacts(new Writer().raw(KEY_SHARE_MAGIC).u8(KEY_SHARE_VERSION), share);
  const peers = share.parties.filter((p) => p !== share.self);
  for (const p of peers) {
    w.raw(share.zeroSeeds.get(p)!);
    w.bytes(encodeAliceSetup(share.mulAlice.get(p)!));
    w.bytes(encodeBobSetup(share.mulBob.get(p)!));
  }
  w.indices(share.banned);
  return w.finish();
}

export function decodeKeyShare(bytes: Uint8Array): KeyShare {
  const r = new Reader(bytes, "key share");
  const magic = r.raw(KEY_SHARE_MAGIC.length);
  if (!magic.every((b, i) => b === KEY_SHARE_MAGIC[i])) throw new DecodeError("key share: bad magic");
  const version = r.u8();
  if (version !== KEY_SHARE_VERSION) throw new DecodeError(`key share: unsupported version ${version}`);
  const facts = readShareFacts(r, "key share");
  const { parties: sorted, self } = facts;
  const zeroSeeds = new Map<PartyIndex, Uint8Array>();
  const mulAlice = new Map<PartyIndex, AliceSetup>();
  const mulBob = new Map<PartyIndex, BobSetup>();
  for (const p of sorted) {
    if (p === self) continue;
    zeroSeeds.set(p, r.raw(32));
    mulAlice.set(p, decodeAliceSetup(r.bytes()));
    mulBob.set(p, decodeBobSetup(r.bytes()));
  }
  const banned = r.indices();
  if (banned.some((b) => !sorted.includes(b) || b === self)) throw new DecodeError("key share: banned party is not a peer");
  r.end();
  return { ...facts, zeroSeeds, mulAlice, mulBob, banned };
}

/** What every encoding of a share carries after its magic and version: the sharing's facts and this member's secret. */
export type ShareFactsPart = Pick<KeyShare, "keyId" | "threshold" | "parties" | "self" | "publicKey" | "address" | "publicShares" | "epoch" | "secretShare">;

export function writeShareFacts(w: Writer, share: ShareFactsPart): Writer {
  w.string(share.keyId).u32(share.threshold).indices(share.parties).u32(share.self);
  w.point(share.publicKey).raw(share.epoch).scalar(share.secretShare);
  for (const p of share.parties) w.point(share.publicShares.get(p)!);
  return w;
}

/** Reads what writeShareFacts wrote; `what` names the encoding in errors. Parties must be sorted and valid, self among them. */
export function readShareFacts(r: Reader, what: string): ShareFactsPart {
  const keyId = r.string();
  const threshold = r.u32();
  const parties = r.indices();
  const self = r.u32();
  let sorted: PartyIndex[];
  try {
    sorted = normalizeParties(parties);
    checkThreshold(threshold, sorted.length);
  } catch (error) {
    throw new DecodeError(`${what}: ${(error as Error).message}`);
  }
  if (sorted.some((p, i) => p !== parties[i])) throw new DecodeError(`${what}: parties not sorted`);
  if (!sorted.includes(self)) throw new DecodeError(`${what}: self ${self} is not a party`);
  const publicKey = r.point();
  const epoch = r.raw(32);
  const secretShare = r.scalar();
  const publicShares = new Map<PartyIndex, Point>();
  for (const p of sorted) publicShares.set(p, r.point());
  return { keyId, threshold, parties: sorted, self, publicKey, address: ethereumAddress(publicKey), publicShares, epoch, secretShare };
}
