/**
 * Who may change which keys this node holds. The coordinator of a session is
 * just another member and is never trusted for that: every participant asks
 * its own authority before it takes part in a keyGen or reshare, and before it
 * deletes a share.
 *
 * - Without staking (OperatorApprovals): the node's own operator approves
 *   each keyGen and reshare by the hash of its exact parameters (API
 *   `POST /v1/approvals`, CLI `mpc-relay approve`); an approval expires. The
 *   coordinator's own API call is its operator's approval on that node.
 * - With staking (relayer/staking/authority.ts): the epoch key's parameters
 *   must equal what RelayStaking elected, read by each node itself; other
 *   keys fall back to operator approvals.
 *
 * Signing needs no approval (each request is validated), nor does a refresh
 * (its committee and threshold are the key's own; the engine rate-limits it).
 * No member can delete another member's share: a share goes when this node's
 * operator deletes it, or when a reshare it approved has committed and left
 * this node out.
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import type { KeyRecord, KeyStore } from "../keystore.ts";
import { SessionError } from "./errors.ts";
import { operationHash, type ApprovableOperation } from "./ids.ts";

export interface ReshareTarget {
  readonly newParties: readonly PartyIndex[];
  readonly newThreshold: number;
}

export interface KeyAuthority {
  /** Records this node's operator's approval of `op` (the coordinator's own request); returns its hash. */
  approve(op: ApprovableOperation, ttlMs?: number): Promise<string>;
  /** Throws SessionError("unauthorized") unless this node may take part in the keyGen. */
  authorizeKeygen(keyId: string, parties: readonly PartyIndex[], threshold: number): Promise<void>;
  /** Throws SessionError("unauthorized") unless this node may help move `key` to `target` (as dealer or new member). */
  authorizeReshare(key: Pick<KeyRecord, "keyId" | "publicKey" | "address" | "participants">, target: ReshareTarget): Promise<void>;
  /** Whether this node may now delete its share of `key`, which a committed reshare to `target` left out. */
  mayRetire(key: KeyRecord, target: ReshareTarget): Promise<boolean>;
  /** Throws SessionError("conflict") when the operator must not delete `key` now (e.g. it is the live relay key). */
  authorizeDelete(key: KeyRecord): Promise<void>;
}

/** How long an operator's approval stays usable unless it says otherwise. */
export const DEFAULT_APPROVAL_TTL_MS = 60 * 60 * 1000;
export const MAX_APPROVAL_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export function describe(op: ApprovableOperation): string {
  return op.operation === "keygen"
    ? `keygen of ${op.keyId}, ${op.threshold}-of-{${[...op.parties].sort((a, b) => a - b).join(",")}}`
    : `reshare of ${op.keyId} from {${[...op.oldParties].sort((a, b) => a - b).join(",")}} to ${op.newThreshold}-of-{${[...op.newParties].sort((a, b) => a - b).join(",")}}`;
}

export class OperatorApprovals implements KeyAuthority {
  constructor(
    private readonly store: KeyStore,
    private readonly now: () => number = Date.now,
  ) {}

  async approve(op: ApprovableOperation, ttlMs = DEFAULT_APPROVAL_TTL_MS): Promise<string> {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_APPROVAL_TTL_MS) throw new SessionError("invalid", `approval lifetime must be 1 ms to ${MAX_APPROVAL_TTL_MS} ms`);
    const hash = operationHash(op);
    const now = this.now();
    await this.store.putApproval({ hash, operation: { ...op }, expiresAt: now + ttlMs, createdAt: now });
    return hash;
  }

  async authorizeKeygen(keyId: string, parties: readonly PartyIndex[], threshold: number): Promise<void> {
    await this.require({ operation: "keygen", keyId, parties, threshold });
  }

  async authorizeReshare(key: Pick<KeyRecord, "keyId" | "publicKey" | "participants">, target: ReshareTarget): Promise<void> {
    await this.require(reshareOperation(key, target));
  }

  async mayRetire(key: KeyRecord, target: ReshareTarget): Promise<boolean> {
    return (await this.store.getApproval(operationHash(reshareOperation(key, target)), this.now())) !== null;
  }

  async authorizeDelete(): Promise<void> {}

  private async require(op: ApprovableOperation): Promise<void> {
    const hash = operationHash(op);
    if ((await this.store.getApproval(hash, this.now())) === null) {
      throw new SessionError("unauthorized", `this node's operator has not approved the ${describe(op)} (approval ${hash})`);
    }
  }
}

export function reshareOperation(key: Pick<KeyRecord, "keyId" | "publicKey" | "participants">, target: ReshareTarget): ApprovableOperation {
  return { operation: "reshare", keyId: key.keyId, publicKey: key.publicKey ?? "", oldParties: key.participants, newParties: target.newParties, newThreshold: target.newThreshold };
}
