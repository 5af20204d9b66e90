/**
 * The committee as the staking contract states it: a PeerDirectory whose
 * members are the operators elected for the latest epoch of RelayStaking.
 *
 * Party index i is the operator at position i-1 of `committee(epoch).members`;
 * the peer id is the identity the operator registered (libp2p peer id bytes).
 * The contract holds no network addresses: each node's config maps peer id to
 * multiaddr (`staking.peerAddresses`), and a member without one is known (the
 * gater admits it) but not dialled. `refresh()` re-reads the contract and
 * swaps the whole view when the epoch changed, its relay got confirmed or a
 * member was removed (RelayStaking `NodeRemoved`): a removed member keeps its
 * position (party index) but is no peer any more. The transport's connection
 * gater asks the directory on every connection, so it follows at once.
 */
import { base58btc } from "multiformats/bases/base58";
import { peerIdFromString } from "@libp2p/peer-id";
import { getAddress, hexToBytes, type Address, type Hex, type PublicClient } from "viem";
import type { PartyIndex } from "../mpc/types.ts";
import type { PeerDirectory, PeerEntry } from "../node/directory.ts";
import { relayStakingAbi } from "../sdk/abi.ts";

export interface StakingMember extends PeerEntry {
  readonly operator: Address;
  /** Removed for a proven fault: still at its position in the committee, but no longer a peer. */
  readonly removed: boolean;
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

/** Reads the committee of `epoch` and each member's registered identity. */
export async function readCommittee(
  client: PublicClient,
  staking: Address,
  epoch: bigint,
  addresses: Readonly<Record<string, string>>,
): Promise<CommitteeView> {
  const [operators, threshold, relay, startBlock, endBlock] = await client.readContract({
    address: staking,
    abi: relayStakingAbi,
    functionName: "committee",
    args: [epoch],
  });
  const members = await Promise.all(
    operators.map(async (operator, position): Promise<StakingMember> => {
      const node = await client.readContract({ address: staking, abi: relayStakingAbi, functionName: "getNode", args: [operator] });
      const peerId = peerIdFromIdentity(node.identity);
      return { index: position + 1, peerId, address: addresses[peerId] ?? "", operator: getAddress(operator), removed: node.removed };
    }),
  );
  return { epoch, threshold, relay: relay === ZERO_ADDRESS ? null : getAddress(relay), startBlock, endBlock, members };
}

export class StakingPeerDirectory implements PeerDirectory {
  private view: CommitteeView = { epoch: 0n, threshold: 0, relay: null, startBlock: 0n, endBlock: 0n, members: [] };
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
    private readonly addresses: Readonly<Record<string, string>>,
  ) {}

  /** Reads the latest epoch's committee; throws when no committee was elected yet. */
  static async load(client: PublicClient, staking: Address, addresses: Readonly<Record<string, string>>): Promise<StakingPeerDirectory> {
    const directory = new StakingPeerDirectory(client, getAddress(staking), addresses);
    await directory.refresh();
    if (directory.view.epoch === 0n) throw new Error(`no committee elected yet on RelayStaking ${staking}`);
    return directory;
  }

  get committee(): CommitteeView {
    return this.view;
  }

  /** Re-reads the latest epoch; returns true when the view changed. */
  async refresh(): Promise<boolean> {
    const [epoch, head] = await Promise.all([
      this.client.readContract({ address: this.staking, abi: relayStakingAbi, functionName: "latestEpoch" }),
      this.client.getBlockNumber(),
    ]);
    if (epoch === 0n) return false;
    const removal = await this.memberRemovedSince(head);
    if (epoch === this.view.epoch && this.view.relay !== null && !removal) return false;
    const view = await readCommittee(this.client, this.staking, epoch, this.addresses);
    const removedBefore = this.view.members.filter((m) => m.removed).length;
    const removedNow = view.members.filter((m) => m.removed).length;
    if (view.epoch === this.view.epoch && view.relay === this.view.relay && removedNow === removedBefore) return false;
    this.view = view;
    const peers = view.members.filter((m) => !m.removed);
    this.byIndexMap = new Map(peers.map((m) => [m.index, m]));
    this.byPeerMap = new Map(peers.map((m) => [m.peerId, m]));
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
    return events.some((event) => this.view.members.some((m) => m.operator === getAddress(event.args.operator ?? "0x")));
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

  /** The members that are peers (not removed). */
  members(): readonly StakingMember[] {
    return [...this.byIndexMap.values()];
  }
  byIndex(index: PartyIndex): StakingMember | undefined {
    return this.byIndexMap.get(index);
  }
  byPeerId(peerId: string): StakingMember | undefined {
    return this.byPeerMap.get(peerId);
  }
  byOperator(operator: Address): StakingMember | undefined {
    const wanted = getAddress(operator);
    return this.members().find((m) => m.operator === wanted);
  }
}
