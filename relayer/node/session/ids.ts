/**
 * Identifiers of key operations.
 *
 * - `operationHash`: the hash of an operation's exact parameters, which an
 *   operator approves (session/authority.ts) and can compare out of band.
 * - `jointSessionId`: a session's id, the hash of the coordinator's proposal
 *   and every participant's fresh nonce. No party alone picks it, and an
 *   honest participant's nonce makes it new for every run: messages of two
 *   runs never share a session id, so they can't be paired into a fault proof
 *   against an honest member.
 */
import { Transcript, type PartyIndex } from "@mpc-relay/mpc";
import { toHex, type PrepareParams } from "../frames.ts";

/** The operations an operator approves, with every parameter that decides who ends up holding the key. */
export type ApprovableOperation =
  | { operation: "keygen"; keyId: string; parties: readonly PartyIndex[]; threshold: number }
  | { operation: "reshare"; keyId: string; publicKey: string; oldParties: readonly PartyIndex[]; newParties: readonly PartyIndex[]; newThreshold: number };

const sorted = (parties: readonly PartyIndex[]): PartyIndex[] => [...new Set(parties)].sort((a, b) => a - b);

/** Hex sha-256 of the operation's canonical, length-prefixed encoding. */
export function operationHash(op: ApprovableOperation): string {
  const t = new Transcript("node-operation").absorb("operation", op.operation).absorb("key", op.keyId);
  if (op.operation === "keygen") t.absorbList("parties", sorted(op.parties)).absorb("threshold", op.threshold);
  else t.absorb("public-key", op.publicKey.toLowerCase()).absorbList("old-parties", sorted(op.oldParties)).absorbList("new-parties", sorted(op.newParties)).absorb("new-threshold", op.newThreshold);
  return toHex(t.digest());
}

/** JSON with object keys sorted, so that equal parameters always hash the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function jointSessionId(p: {
  proposalId: string;
  keyId: string;
  params: PrepareParams;
  generation: string | null;
  dealers: readonly PartyIndex[] | null;
  nonces: ReadonlyMap<PartyIndex, string>;
}): Uint8Array {
  const t = new Transcript("node-session")
    .absorb("proposal", p.proposalId)
    .absorb("key", p.keyId)
    .absorb("params", canonicalJson(p.params))
    .absorb("generation", p.generation ?? "")
    .absorbList("dealers", sorted(p.dealers ?? []));
  for (const party of sorted([...p.nonces.keys()])) t.absorb(`nonce-${party}`, p.nonces.get(party)!);
  return t.digest();
}
