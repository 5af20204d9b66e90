/**
 * Key authority of a staking node (relayer/node/session/authority.ts): the
 * relay key's operations must be exactly what RelayStaking elected, as this
 * node reads the contract through its own staking RPC.
 *
 * - keyGen of the epoch key (`epoch-<n>` or `staking.keyId`): only while epoch
 *   n waits for its key and no active relay exists (an active relay is handed
 *   over by reshare, keeping the address), with the parties equal to epoch
 *   n's members that were not removed, and its threshold.
 * - reshare of the active relay key: only to the pending epoch's members (not
 *   removed) and threshold.
 * - a share of the relay key is deleted only once a newer epoch confirmed the
 *   same relay on chain without this node, never while it is this node's live key.
 * Keys that are not the relay key fall back to the operator's approvals.
 */
import { getAddress, type Address } from "viem";
import type { PartyIndex } from "@mpc-relay/mpc";
import { SessionError, operationHash, type ApprovableOperation, type KeyAuthority, type KeyRecord, type OperatorApprovals, type ReshareTarget } from "../node/plugin.ts";
import { activeMember, activeMembers, type CommitteeView, type StakingPeerDirectory } from "./directory.ts";

export const epochKeyId = (epoch: bigint): string => `epoch-${epoch}`;

export class StakingKeyAuthority implements KeyAuthority {
  constructor(
    private readonly directory: StakingPeerDirectory,
    private readonly operator: Address,
    private readonly approvals: OperatorApprovals,
    /** `staking.keyId`: a fixed id for the relay key instead of `epoch-<n>`. */
    private readonly keyId?: string,
  ) {}

  async approve(op: ApprovableOperation, ttlMs?: number): Promise<string> {
    // The chain authorizes the relay key's operations; the operator's word is not needed (nor enough).
    return this.governs(op.keyId, null) ? operationHash(op) : this.approvals.approve(op, ttlMs);
  }

  async authorizeKeygen(keyId: string, parties: readonly PartyIndex[], threshold: number): Promise<void> {
    if (!this.governs(keyId, null)) return this.approvals.authorizeKeygen(keyId, parties, threshold);
    await this.directory.refresh();
    const view = this.directory.committee;
    const expected = this.keyId ?? epochKeyId(view.epoch);
    if (keyId !== expected) throw this.refuse(`the relay key of epoch ${view.epoch} is ${expected}, not ${keyId}`);
    if (view.relay !== null) throw this.refuse(`epoch ${view.epoch} already confirmed relay ${view.relay}`);
    const previous = this.directory.previous;
    if (previous?.relay !== null && previous?.relay !== undefined) throw this.refuse(`relay ${previous.relay} of epoch ${previous.epoch} is active: it is handed over by reshare, not replaced`);
    this.requireElected(view, parties, threshold);
  }

  async authorizeReshare(key: Pick<KeyRecord, "keyId" | "publicKey" | "address" | "participants">, target: ReshareTarget): Promise<void> {
    if (!this.governs(key.keyId, key.address)) return this.approvals.authorizeReshare(key, target);
    await this.directory.refresh();
    const view = this.directory.committee;
    const previous = this.directory.previous;
    if (view.relay !== null || previous === null || previous.relay === null) throw this.refuse(`no hand-over is due: epoch ${view.epoch} is not waiting for the active relay key`);
    if (key.address === null || getAddress(key.address) !== previous.relay) throw this.refuse(`key ${key.keyId} is not the active relay ${previous.relay}`);
    this.requireElected(view, target.newParties, target.newThreshold);
  }

  async mayRetire(key: KeyRecord, target: ReshareTarget): Promise<boolean> {
    if (!this.governs(key.keyId, key.address)) return this.approvals.mayRetire(key, target);
    await this.directory.refresh();
    const view = this.directory.committee;
    if (view.relay === null || key.address === null || getAddress(key.address) !== view.relay) return false;
    return (
      activeMember(view, this.operator) === undefined &&
      sameSet(
        activeMembers(view).map((m) => m.index),
        target.newParties,
      ) &&
      target.newThreshold === view.threshold
    );
  }

  async authorizeDelete(key: KeyRecord): Promise<void> {
    if (key.address === null) return;
    for (const view of [this.directory.committee, this.directory.previous]) {
      if (view?.relay !== null && view?.relay !== undefined && getAddress(key.address) === view.relay && activeMember(view, this.operator) !== undefined) {
        throw new SessionError("conflict", `key ${key.keyId} is this node's share of relay ${view.relay} (epoch ${view.epoch}): it is deleted when a newer epoch confirms the relay without this node`);
      }
    }
  }

  /** The relay key: the epoch key id, or a key holding a relay address the contract names. */
  private governs(keyId: string, address: string | null): boolean {
    if (keyId === this.keyId || /^epoch-\d+$/.test(keyId)) return true;
    if (address === null) return false;
    const relays = [this.directory.committee.relay, this.directory.previous?.relay ?? null].filter((r): r is Address => r !== null);
    return relays.includes(getAddress(address));
  }

  private requireElected(view: CommitteeView, parties: readonly PartyIndex[], threshold: number): void {
    const elected = activeMembers(view).map((m) => m.index);
    if (!sameSet(elected, parties)) throw this.refuse(`epoch ${view.epoch} elected parties {${elected.join(",")}}, not {${[...parties].sort((a, b) => a - b).join(",")}}`);
    if (threshold !== view.threshold) throw this.refuse(`epoch ${view.epoch} elected threshold ${view.threshold}, not ${threshold}`);
  }

  private refuse(reason: string): SessionError {
    return new SessionError("unauthorized", `not what RelayStaking elected: ${reason}`);
  }
}

function sameSet(a: readonly PartyIndex[], b: readonly PartyIndex[]): boolean {
  const x = [...new Set(a)].sort((p, q) => p - q);
  const y = [...new Set(b)].sort((p, q) => p - q);
  return x.length === y.length && x.every((p, i) => p === y[i]);
}
