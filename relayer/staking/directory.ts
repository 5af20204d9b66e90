/**
 * The committee as the staking contract states it: a PeerDirectory whose
 * members are the operators elected for the latest epoch of RelayStaking.
 *
 * A member's party index is its node id (registration number), the same in
 * every epoch, so that an old and a new committee share one index space and
 * can reshare a key between them; the peer id is the identity the operator
 * registered (libp2p peer id bytes). While the latest epoch waits for its
 * cluster key, the members of the active (confirmed) epoch stay peers too:
 * they hold the key the new committee gets by resharing.
 * The contract holds no network addresses: each node's config maps peer id to
 * multiaddr (`staking.peerAddresses`), and a member without one is known (the
 * gater admits it) but not dialled. `refresh()` re-reads the contract and
 * swaps the whole view when the epoch changed, its relay got confirmed or a
 * member was removed (RelayStaking `NodeRemoved`): a removed member keeps its
 * position (party index) but is no peer any more. The transport's connection
 * gater asks the directory on every connection, so it follows at once.
 * Identities are not reserved on chain (nobody can lock a node out by
 * registering its peer id first): each registration carries the libp2p key's
 * signature of its identity claim, and a member whose proof fails is no peer.
 */
import { base58btc } from "multiformats/bases/base58";
import { peerIdFromString } from "@libp2p/peer-id";
import { getAddress, hexToBytes, type Address, type Hex, type PublicClient } from "viem";
import type { PartyIndex } from "@mpc-relay/mpc";
import type { PeerDirectory, PeerEntry } from "../node/plugin.ts";
import { relayStakingAbi } from "@mpc-relay/sdk";
import { identityClaim, verifyIdentityProof } from "./operator.ts";

export interface StakingMember extends PeerEntry {
  readonly operator: Address;
  /** Removed for a proven fault: still at its position in the committee, but no longer a peer. */
  readonly removed: boolean;
  /** Its registration's identity proof is the peer id's key's signature: only then is it a peer. */
  readonly identityVerified: boolean;
}

export interface CommitteeView {
  readonly epoch: bigint;
  readonly threshold: number;
  readonly relay: Address | null;
  readonly startBlock: bigint;
  readonly endBlock: bigint;
  readonly members: readonly StakingMember[];
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** The peer id string of a registered identity; throws when the bytes are not a libp2p peer id. */
export function peerIdFromIdentity(identity: Hex): string {
  const text = base58btc.baseEncode(hexToBytes(identity));
  return peerIdFromString(text).toString();
}

/** Reads the committee of `epoch` and each member's registered identity, checking its identity proof. */
export async function readCommittee(client: PublicClient, staking: Address, epoch: bigint, addresses: Readonly<Record<string, string>>, chainId: number): Promise<CommitteeView> {
  const [operators, threshold, relay, startBlock, endBlock] = await client.readContract({
    address: staking,
    abi: relayStakingAbi,
    functionName: "committee",
    args: [epoch],
  });
  const members = await Promise.all(
    operators.map(async (operator): Promise<StakingMember> => {
      const node = await client.readContract({ address: staking, abi: relayStakingAbi, functionName: "getNode", args: [operator] });
      const peerId = peerIdFromIdentity(node.identity);
      const identityVerified = await verifyIdentityProof(peerId, identityClaim(chainId, staking, getAddress(operator)), node.identityProof);
      return { index: node.id, peerId, address: addresses[peerId] ?? "", operator: getAddress(operator), removed: node.removed, identityVerified };
    }),
  );
  return { epoch, threshold, relay: relay === ZERO_ADDRESS ? null : getAddress(relay), startBlock, endBlock, members };
}

export class StakingPeerDirectory implements PeerDirectory {
  private view: CommitteeView = { epoch: 0n, threshold: 0, relay: null, startBlock: 0n, endBlock: 0n, members: [] };
  private previousView: CommitteeView | null = null;
  /** Sorted by party index. */
  private peers: readonly StakingMember[] = [];
  private byIndexMap = new Map<PartyIndex, StakingMember>();
  /** Last block searched for NodeRemoved events. */
  private removalsScannedTo = 0n;
  private byPeerMap = new Map<string, StakingMember>();
  private timer: NodeJS.Timeout | null = null;
  /** Called after a refresh that changed the committee (new epoch, or its relay got confirmed). */
  onChange: (view: CommitteeView) => void = () => {};

  private constructor(
    private readonly client: PublicClient,
    readonly staking: Address,
    /** The SlashingCourt RelayStaking created: where slashes, removals and forgery proofs are submitted. */
    readonly court: Address,
    private readonly chainId: number,
    private readonly addresses: Readonly<Record<string, string>>,
  ) {}

  /** Reads the latest epoch's committee; throws when no committee was elected yet. */
  static async load(client: PublicClient, staking: Address, addresses: Readonly<Record<string, string>>): Promise<StakingPeerDirectory> {
    const [court, chainId] = await Promise.all([client.readContract({ address: getAddress(staking), abi: relayStakingAbi, functionName: "court" }), client.getChainId()]);
    const directory = new StakingPeerDirectory(client, getAddress(staking), getAddress(court), chainId, addresses);
    await directory.refresh();
    if (directory.view.epoch === 0n) throw new Error(`no committee elected yet on RelayStaking ${staking}`);
    return directory;
  }

  /** The latest elected epoch's committee. */
  get committee(): CommitteeView {
    return this.view;
  }

  /** While the latest epoch waits for its cluster key: the active epoch's committee, which holds the key now. */
  get previous(): CommitteeView | null {
    return this.previousView;
  }

  /** When the contract was last read successfully (ms since the epoch). */
  syncedAt = 0;

  /** Re-reads the latest epoch; returns true when the view changed. */
  async refresh(): Promise<boolean> {
    const changed = await this.read();
    this.syncedAt = Date.now();
    return changed;
  }

  private async read(): Promise<boolean> {
    const [epoch, active, head] = await Promise.all([
      this.client.readContract({ address: this.staking, abi: relayStakingAbi, functionName: "latestEpoch" }),
      this.client.readContract({ address: this.staking, abi: relayStakingAbi, functionName: "activeEpoch" }),
      this.client.getBlockNumber(),
    ]);
    if (epoch === 0n) return false;
    const removal = await this.memberRemovedSince(head);
    if (epoch === this.view.epoch && this.view.relay !== null && !removal) return false;
    const view = await readCommittee(this.client, this.staking, epoch, this.addresses, this.chainId);
    const previous = view.relay === null && active !== 0n && active !== epoch ? await readCommittee(this.client, this.staking, active, this.addresses, this.chainId) : null;
    if (sameView(view, this.view) && sameView(previous, this.previousView)) return false;
    this.view = view;
    this.previousView = previous;
    this.byIndexMap = new Map([...view.members, ...(previous?.members ?? [])].filter((m) => !m.removed && m.identityVerified).map((m) => [m.index, m]));
    this.peers = [...this.byIndexMap.values()].sort((a, b) => a.index - b.index);
    this.byPeerMap = new Map(this.peers.map((m) => [m.peerId, m]));
    this.onChange(view);
    return true;
  }

  /** True when a member of the current view was removed in blocks (last scan, head]. */
  private async memberRemovedSince(head: bigint): Promise<boolean> {
    const fromBlock = this.removalsScannedTo + 1n;
    if (this.view.epoch === 0n || head < fromBlock) {
      this.removalsScannedTo = head;
      return false;
    }
    const events = await this.client.getContractEvents({ address: this.staking, abi: relayStakingAbi, eventName: "NodeRemoved", fromBlock, toBlock: head });
    this.removalsScannedTo = head;
    const known = [...this.view.members, ...(this.previousView?.members ?? [])];
    return events.some((event) => known.some((m) => m.operator === getAddress(event.args.operator ?? "0x")));
  }

  /** Polls the contract every `intervalMs`; read errors keep the last view (and are reported). */
  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.stop();
    this.timer = setInterval(() => void this.refresh().catch(onError), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The committee of `epoch` when this directory holds it: the latest one, or the active one during a hand-over. */
  committeeOf(epoch: bigint): CommitteeView | null {
    if (epoch === this.committee.epoch) return this.committee;
    return this.previousView?.epoch === epoch ? this.previousView : null;
  }

  /** The peers: members (not removed, identity proven) of the latest epoch and, during a hand-over, of the active one. */
  members(): readonly StakingMember[] {
    return this.peers;
  }
  byIndex(index: PartyIndex): StakingMember | undefined {
    return this.byIndexMap.get(index);
  }
  byPeerId(peerId: string): StakingMember | undefined {
    return this.byPeerMap.get(peerId);
  }
}

/** The members of a committee that were not removed. */
export function activeMembers(view: CommitteeView): StakingMember[] {
  return view.members.filter((m) => !m.removed);
}

/** A member of `view` that was not removed, by operator address. */
export function activeMember(view: CommitteeView, operator: Address): StakingMember | undefined {
  const wanted = getAddress(operator);
  return view.members.find((m) => m.operator === wanted && !m.removed);
}

function sameView(a: CommitteeView | null, b: CommitteeView | null): boolean {
  if (a === null || b === null) return a === b;
  const removed = (v: CommitteeView) => v.members.filter((m) => m.removed).length;
  return a.epoch === b.epoch && a.relay === b.relay && removed(a) === removed(b);
}
