/**
 * Authenticated, encrypted transport between committee members: libp2p over
 * TCP on 127.0.0.1 with Noise (each side proves its Ed25519 peer id) and Yamux.
 *
 * A connection gater refuses any peer id that is not in the directory, before
 * and after the Noise handshake. Each inbound frame is size-limited by the
 * length-prefix decoder, parsed and schema-checked, its claimed sender must be
 * the authenticated peer, and replays are dropped; only then is it handed on.
 */
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { multiaddr } from "@multiformats/multiaddr";
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import * as lp from "it-length-prefixed";
import { pushable, type Pushable } from "it-pushable";
import type { PartyIndex } from "../mpc/types.ts";
import type { PeerDirectory } from "./directory.ts";
import type { NodeIdentity } from "./identity.ts";
import { FrameError, MAX_FRAME_BYTES, ReplayGuard, decodeFrame, encodeFrame, type Frame } from "./frames.ts";
import type { Logger } from "./log.ts";

export const FRAME_PROTOCOL = "/mpc-relay/frames/1.0.0";

export type DropReason = "oversized" | "malformed" | "schema" | "sender-mismatch" | "replayed" | "stale" | "unknown-peer";

export interface TransportEvents {
  onFrame(from: PartyIndex, frame: Frame): void;
  onDrop(reason: DropReason, peerId: string): void;
}

interface OutboundChannel {
  queue: Pushable<Uint8Array>;
  closed: boolean;
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
    listenPort: number;
    events: TransportEvents;
    log: Logger;
  }): Promise<Transport> {
    const isMember = (peerId: PeerId): boolean => p.directory.byPeerId(peerId.toString()) !== undefined;
    const node = await createLibp2p({
      privateKey: p.identity.privateKey,
      addresses: { listen: [`/ip4/127.0.0.1/tcp/${p.listenPort}`] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialMultiaddr: (address) => !address.toString().startsWith("/ip4/127.0.0.1/"),
        denyDialPeer: (peerId) => !isMember(peerId),
        denyInboundEncryptedConnection: (peerId) => !isMember(peerId),
        denyOutboundEncryptedConnection: (peerId) => !isMember(peerId),
      },
      connectionMonitor: { enabled: false },
    });
    const transport = new Transport(node, p.directory, p.events, p.log);
    await node.handle(FRAME_PROTOCOL, ({ stream, connection }) => void transport.readStream(stream, connection), {
      maxInboundStreams: 8,
    });
    await node.start();
    return transport;
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  connectedPeers(): number {
    return this.node.getConnections().length;
  }

  /** Queues a frame to a peer; the stream is opened on first use and reopened after a failure. */
  send(to: PartyIndex, frame: Frame): void {
    const bytes = encodeFrame(frame);
    let channel = this.outbound.get(to);
    if (channel !== undefined && !channel.closed && channel.peerId !== (this.directory.byIndex(to)?.peerId ?? null)) {
      channel.closed = true;
      channel.queue.end();
    }
    if (channel === undefined || channel.closed) {
      channel = this.openChannel(to);
      this.outbound.set(to, channel);
    }
    channel.queue.push(bytes);
  }

  /** Closes connections to peers the directory no longer lists (the gater only sees new connections). */
  async dropNonMembers(): Promise<void> {
    const strangers = this.node.getConnections().filter((c) => this.directory.byPeerId(c.remotePeer.toString()) === undefined);
    await Promise.all(strangers.map((c) => c.close().catch(() => c.abort(new Error("not a committee member")))));
  }

  async stop(): Promise<void> {
    for (const channel of this.outbound.values()) channel.queue.end();
    await this.node.stop();
  }

  private openChannel(to: PartyIndex): OutboundChannel {
    const peer = this.directory.byIndex(to);
    const queue = pushable<Uint8Array>();
    const channel: OutboundChannel = { queue, closed: false, peerId: peer?.peerId ?? null };
    if (peer === undefined) {
      channel.closed = true;
      queue.end();
      this.log.warn("send to unknown party dropped", { to });
      return channel;
    }
    void (async () => {
      try {
        const stream = await this.node.dialProtocol(multiaddr(`${peer.address}/p2p/${peer.peerId}`), FRAME_PROTOCOL, {
          signal: AbortSignal.timeout(5_000),
        });
        await stream.sink(lp.encode(queue, { maxDataLength: MAX_FRAME_BYTES }));
      } catch (error) {
        this.log.debug("outbound stream closed", { to, error: String(error) });
      } finally {
        channel.closed = true;
        queue.end();
      }
    })();
    return channel;
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
