/**
 * Node identity: an Ed25519 libp2p key. Its peer id is how the committee knows
 * the node; Noise proves possession of it on every connection.
 */
import { chmod, writeFile } from "node:fs/promises";
import { readSecretFile } from "../shared/secrets.ts";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import type { PrivateKey } from "@libp2p/interface";
import type { PartyIndex } from "@mpc-relay/mpc";
import type { PeerDirectory } from "./directory.ts";

export interface NodeIdentity {
  readonly privateKey: PrivateKey;
  readonly peerId: string;
}

export async function createIdentity(): Promise<NodeIdentity> {
  const privateKey = await generateKeyPair("Ed25519");
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
}

/** Writes the identity key readable by the owner only. */
export async function saveIdentity(path: string, identity: NodeIdentity): Promise<void> {
  await writeFile(path, Buffer.from(privateKeyToProtobuf(identity.privateKey)).toString("base64") + "\n", { mode: 0o600 });
  await chmod(path, 0o600);
}

export async function loadIdentity(path: string): Promise<NodeIdentity> {
  const text = await readSecretFile(path, "identity key");
  const privateKey = privateKeyFromProtobuf(new Uint8Array(Buffer.from(text, "base64")));
  if (privateKey.type !== "Ed25519") throw new Error(`identity key ${path} must be Ed25519, found ${privateKey.type}`);
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
}

/** Statements a node signs with its identity key and members check against the peer ids the directory lists. */
export interface StatementSigner {
  sign(statement: Uint8Array): Promise<Uint8Array>;
  /** True when `signature` is `party`'s identity signature of `statement`. */
  verify(party: PartyIndex, statement: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

export function identityStatements(identity: NodeIdentity, directory: PeerDirectory): StatementSigner {
  return {
    sign: async (statement) => identity.privateKey.sign(statement),
    async verify(party, statement, signature) {
      const member = directory.byIndex(party);
      if (member === undefined) return false;
      try {
        return await peerIdFromString(member.peerId).publicKey!.verify(statement, signature);
      } catch {
        return false;
      }
    },
  };
}
