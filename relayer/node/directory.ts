/**
 * Who is in the committee: party index, libp2p peer id and address of every
 * member. A devnet reads it from the config file; production will read the
 * staking contract's registry behind the same interface.
 */
import type { PartyIndex } from "@mpc-relay/mpc";

export interface PeerEntry {
  readonly index: PartyIndex;
  readonly peerId: string;
  /** libp2p multiaddr without the /p2p suffix, e.g. /ip4/127.0.0.1/tcp/4101. */
  readonly address: string;
}

export interface PeerDirectory {
  members(): readonly PeerEntry[];
  byIndex(index: PartyIndex): PeerEntry | undefined;
  byPeerId(peerId: string): PeerEntry | undefined;
}

export class StaticPeerDirectory implements PeerDirectory {
  private readonly indexMap = new Map<PartyIndex, PeerEntry>();
  private readonly peerMap = new Map<string, PeerEntry>();

  constructor(entries: readonly PeerEntry[]) {
    for (const entry of entries) {
      if (this.indexMap.has(entry.index)) throw new Error(`duplicate party index ${entry.index} in the peer directory`);
      if (this.peerMap.has(entry.peerId)) throw new Error(`duplicate peer id ${entry.peerId} in the peer directory`);
      this.indexMap.set(entry.index, entry);
      this.peerMap.set(entry.peerId, entry);
    }
  }

  members(): readonly PeerEntry[] {
    return [...this.indexMap.values()];
  }
  byIndex(index: PartyIndex): PeerEntry | undefined {
    return this.indexMap.get(index);
  }
  byPeerId(peerId: string): PeerEntry | undefined {
    return this.peerMap.get(peerId);
  }
}
