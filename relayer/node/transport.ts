/**
 * Authenticated, encrypted transport between committee members: libp2p over
 * TCP with Noise (each side proves its Ed25519 peer id) and Yamux, on the
 * listen addresses the config names, dialing members at whatever multiaddr
 * (IP or DNS) the directory lists.
 *
 * A connection gater refuses any peer id that is neither a member (the
 * directory) nor an admitted relayer, before and after the Noise handshake.
 * Members speak the frames protocol; relayers only the API protocol
 * (api/p2p.ts). Each inbound frame is size-limited by the length-prefix
 * decoder, parsed and schema-checked, its claimed sender must be the
 * authenticated peer, and replays are dropped; only then is it handed on.
 */
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { multiaddr } from "@multiformats/multiaddr";
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { API_PROTOCOL, serveApiStream, type P2pRequest } from "./api/p2p.ts";
import type { ApiResponse } from "./api/routes.ts";
import * as lp from "it-length-prefixed";
import type { PartyIndex } from "@mpc-relay/mpc";
import type { PeerDirectory } from "./directory.ts";
import type { NodeIdentity } from "./identity.ts";
import { FrameError, MAX_FRAME_BYTES, ReplayGuard, decodeFrame, encodeFrame, type Frame } from "./frames.ts";
import type { Logger } from "../shared/log.ts";

export const FRAME_PROTOCOL = "/mpc-relay/frames/1.0.0";

export type DropReason = "oversized" | "malformed" | "schema" | "sender-mismatch" | "replayed" | "stale" | "unknown-peer";

export interface TransportEvents {
  onFrame(from: PartyIndex, frame: Frame): void;
  onDrop(reason: DropReason, peerId: string): void;
  /** Frames to a peer given up after every retry failed. */
  onUndelivered?(to: PartyIndex, frames: number): void;
}

/** How often a frame's stream is (re)opened before its frames are given up, and the wait between tries. */
const SEND_ATTEMPTS = 8;
const RETRY_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 500;
/** A handshake on a crossed dial can stall until the socket dies, so each try is short. */
const DIAL_TIMEOUT_MS = 2_000;

/**
 * Frames to one peer, in order. A frame leaves `pending` only once the stream
 * has taken it; when a dial or stream fails the rest is sent again on a new
 * stream (libp2p reuses whichever of two crossed connections survived). A
 * frame sent twice is dropped as a replay by the receiver.
 */
interface OutboundChannel {
  pending: Uint8Array[];
  closed: boolean;
  /** Whether a pump is dialing or streaming for this channel. */
  pumping: boolean;
  /** Bumped per stream so a dead stream's source stops taking frames. */
  generation: number;
  wake: () => void;
  /** The peer the stream goes to: a party index can change hands when the directory changes. */
  peerId: string | null;
}

export class Transport {
  private readonly outbound = new Map<PartyIndex, OutboundChannel>();
  private readonly replay = new ReplayGuard();

  private constructor(
    private readonly node: Libp2p,
    private readonly directory: PeerDirectory,
    private readonly events: TransportEvents,
    private readonly log: Logger,
  ) {}

  static async start(p: {
    identity: NodeIdentity;
    directory: PeerDirectory;
    /** Multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/4001. */
    listen: readonly string[];
    /** Multiaddrs to announce instead of the listen addresses (e.g. behind NAT); empty: the listen addresses. */
    announce?: readonly string[];
    /** Peer ids admitted to the API protocol (relayers, remote operators), and the handler of their requests. */
    api?: { peers: ReadonlySet<string>; handle: (peerId: string, request: P2pRequest) => Promise<ApiResponse> };
    events: TransportEvents;
    log: Logger;
  }): Promise<Transport> {
    const isMember = (peerId: PeerId): boolean => p.directory.byPeerId(peerId.toString()) !== undefined;
    const isClient = (peerId: PeerId): boolean => p.api?.peers.has(peerId.toString()) === true;
    const node = await createLibp2p({
      privateKey: p.identity.privateKey,
      addresses: { listen: [...p.listen], announce: [...(p.announce ?? [])] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: (peerId) => !isMember(peerId),
        denyInboundEncryptedConnection: (peerId) => !isMember(peerId) && !isClient(peerId),
        denyOutboundEncryptedConnection: (peerId) => !isMember(peerId),
      },
      connectionMonitor: { enabled: false },
    });
    const transport = new Transport(node, p.directory, p.events, p.log);
    await node.handle(FRAME_PROTOCOL, ({ stream, connection }) => void transport.readStream(stream, connection), {
      maxInboundStreams: 8,
    });
    const api = p.api;
    if (api !== undefined) {
      await node.handle(
        API_PROTOCOL,
        ({ stream, connection }) => {
          const peer = connection.remotePeer.toString();
          if (!api.peers.has(peer)) {
            p.events.onDrop("unknown-peer", peer);
            stream.abort(new Error("not admitted to the API"));
            return;
          }
          void serveApiStream(stream, peer, api.handle).catch((error: unknown) => p.log.warn("API stream failed", { peer, error: String(error) }));
        },
        { maxInboundStreams: 64 },
      );
    }
    await node.start();
    return transport;
  }

  /** The addresses the node listens on, as libp2p resolved them (port 0 replaced by the real port). */
  listenAddresses(): string[] {
    return this.node.getMultiaddrs().map((ma) => ma.toString());
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  /** Members with an open connection (relayers not counted). */
  connectedMembers(): PartyIndex[] {
    const indices = this.node.getConnections().flatMap((c) => this.directory.byPeerId(c.remotePeer.toString())?.index ?? []);
    return [...new Set(indices)].sort((a, b) => a - b);
  }

  connectedPeers(): number {
    return this.connectedMembers().length;
  }

  /**
   * Queues a frame to a peer. The stream is opened on first use and reopened
   * after a failure, a bounded number of times; frames still unsent then are
   * reported through onUndelivered.
   */
  send(to: PartyIndex, frame: Frame): void {
    const bytes = encodeFrame(frame);
    let channel = this.outbound.get(to);
    const peerId = this.directory.byIndex(to)?.peerId ?? null;
    if (channel !== undefined && channel.peerId !== peerId) {
      this.closeChannel(channel);
      channel = undefined;
    }
    if (channel === undefined) {
      channel = { pending: [], closed: false, pumping: false, generation: 0, wake: () => {}, peerId };
      this.outbound.set(to, channel);
    }
    if (peerId === null) {
      this.log.warn("send to unknown party dropped", { to });
      this.events.onUndelivered?.(to, 1);
      return;
    }
    channel.pending.push(bytes);
    channel.wake();
    if (!channel.pumping) void this.pump(to, peerId, channel);
  }

  /** Closes connections to peers the directory no longer lists (the gater only sees new connections); API peers keep theirs. */
  async dropNonMembers(clients: ReadonlySet<string> = new Set()): Promise<void> {
    const strangers = this.node.getConnections().filter((c) => this.directory.byPeerId(c.remotePeer.toString()) === undefined && !clients.has(c.remotePeer.toString()));
    await Promise.all(strangers.map((c) => c.close().catch(() => c.abort(new Error("not a committee member")))));
  }

  async stop(): Promise<void> {
    for (const channel of this.outbound.values()) this.closeChannel(channel);
    await this.node.stop();
  }

  private closeChannel(channel: OutboundChannel): void {
    channel.closed = true;
    channel.generation++;
    channel.wake();
  }

  /** Streams a channel's pending frames to the peer, reopening the stream after a failure. */
  private async pump(to: PartyIndex, peerId: string, channel: OutboundChannel): Promise<void> {
    channel.pumping = true;
    let failures = 0;
    try {
      while (!channel.closed && channel.pending.length > 0) {
        const peer = this.directory.byIndex(to);
        if (peer === undefined || peer.peerId !== peerId) {
          // The index changed hands: these frames were for the old holder.
          this.giveUp(to, channel, "peer left the directory");
          this.closeChannel(channel);
          return;
        }
        const generation = ++channel.generation;
        let taken = 0;
        try {
          const stream = await this.node.dialProtocol(multiaddr(`${peer.address}/p2p/${peer.peerId}`), FRAME_PROTOCOL, {
            signal: AbortSignal.timeout(DIAL_TIMEOUT_MS),
          });
          const source = this.drain(channel, generation, () => taken++);
          await stream.sink(lp.encode(source, { maxDataLength: MAX_FRAME_BYTES }));
        } catch (error) {
          if (channel.closed) return;
          // A stream that carried frames before failing counts as progress: start the tries afresh.
          failures = taken > 0 ? 1 : failures + 1;
          this.log.debug("outbound stream failed", { to, attempt: failures, pending: channel.pending.length, error: String(error) });
          if (failures >= SEND_ATTEMPTS) {
            this.giveUp(to, channel, String(error));
            return;
          }
          await new Promise((r) => setTimeout(r, Math.min(RETRY_BACKOFF_MS * failures, MAX_BACKOFF_MS)));
        }
      }
    } finally {
      channel.pumping = false;
      // A frame queued while the pump was giving up or stopping gets a pump of its own.
      if (!channel.closed && channel.pending.length > 0) void this.pump(to, peerId, channel);
    }
  }

  private giveUp(to: PartyIndex, channel: OutboundChannel, why: string): void {
    const lost = channel.pending.length;
    channel.pending = [];
    if (lost === 0) return;
    this.log.warn("frames undeliverable", { to, frames: lost, error: why });
    this.events.onUndelivered?.(to, lost);
  }

  /** The frames of one stream: each leaves `pending` only when the stream asks for the next one. */
  private async *drain(channel: OutboundChannel, generation: number, onTaken: () => void): AsyncGenerator<Uint8Array> {
    while (channel.generation === generation) {
      const next = channel.pending[0];
      if (next === undefined) {
        await new Promise<void>((resolve) => (channel.wake = resolve));
        continue;
      }
      yield next;
      if (channel.generation !== generation) return;
      channel.pending.shift();
      onTaken();
    }
  }

  private async readStream(stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString();
    const peer = this.directory.byPeerId(peerId);
    if (peer === undefined) {
      this.events.onDrop("unknown-peer", peerId);
      stream.abort(new Error("not a committee member"));
      return;
    }
    try {
      for await (const chunk of lp.decode(stream.source, { maxDataLength: MAX_FRAME_BYTES })) {
        let frame: Frame;
        try {
          frame = decodeFrame(chunk.subarray());
        } catch (error) {
          this.events.onDrop(error instanceof FrameError ? error.reason : "malformed", peerId);
          continue;
        }
        // Re-read per frame: the directory may have changed since the stream opened.
        const current = this.directory.byPeerId(peerId);
        if (current === undefined) {
          this.events.onDrop("unknown-peer", peerId);
          stream.abort(new Error("no longer a committee member"));
          return;
        }
        if (frame.from !== current.index) {
          this.events.onDrop("sender-mismatch", peerId);
          continue;
        }
        const replay = this.replay.check(current.index, frame);
        if (replay !== null) {
          this.events.onDrop(replay, peerId);
          continue;
        }
        this.events.onFrame(current.index, frame);
      }
    } catch (error) {
      // The length decoder throws on an oversized or corrupt prefix: drop the stream, keep the node.
      const name = error instanceof Error ? error.name : "";
      if (/^Invalid(Data|Message)Length/.test(name)) this.events.onDrop("oversized", peerId);
      this.log.warn("inbound stream dropped", { peer: peer.index, error: String(error) });
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
