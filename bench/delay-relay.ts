/**
 * A delay-injecting TCP relay for benchmarks (user space: `tc netem` needs
 * privileges we do not have). One relay sits in front of one node's listen
 * port; peers dial the relay instead of the node. Every byte is held for half
 * the configured round-trip time in each direction, so a request and its answer
 * over any connection between two nodes cost one RTT, whichever side dialed.
 *
 * - Byte order: each direction is one FIFO queue flushed from its head, so a
 *   change of the RTT while bytes are queued never reorders them.
 * - Backpressure: a direction stops reading its source while more than
 *   `highWaterBytes` are queued or unwritten at the destination, and reads
 *   again below half of it, so a slow reader slows the writer as TCP would.
 * - Connection set-up: a client's first bytes leave no earlier than one RTT
 *   after it connected (the SYN / SYN-ACK exchange a real network costs).
 * - Half-close travels like data (delayed, in order); a reset or error on
 *   either side destroys both sides at once.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export interface DelayRelayOptions {
  /** Round-trip time added to every connection through the relay; may change while it runs. */
  rttMs: number;
  /** Bytes queued (in flight) per direction before the source is paused. */
  highWaterBytes?: number;
}

export interface DelayRelayStats {
  connections: number;
  /** Bytes forwarded towards the node (requests) and back from it (answers). */
  bytesIn: number;
  bytesOut: number;
  /** The most bytes the relay held for one direction at once: queued, or written and not yet taken by the kernel. */
  maxHeldBytes: number;
  /** How often a source was paused because its destination did not keep up. */
  pauses: number;
}

/** 8 MiB: above a WAN TCP window at these RTTs, so the relay adds latency, not a bandwidth cap. */
const DEFAULT_HIGH_WATER = 8 * 1024 * 1024;

/** One direction of one connection: from `source` to `sink`, each chunk held `delayMs()` (plus `notBefore`). */
class DelayedPipe {
  private readonly queue: { due: number; chunk: Buffer | null }[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly delayMs: () => number,
    private readonly highWater: number,
    private readonly stats: DelayRelayStats,
    private readonly count: (bytes: number) => void,
    /** performance.now() before which nothing leaves (connection set-up). */
    private readonly notBefore: number,
  ) {
    source.on("data", (chunk: Buffer) => this.push(chunk));
    source.on("end", () => this.push(null));
    sink.on("drain", () => this.resumeIfRoom());
  }

  private push(chunk: Buffer | null): void {
    const now = performance.now();
    const due = Math.max(now, this.notBefore) + this.delayMs();
    if (chunk !== null) {
      this.count(chunk.length);
      this.queuedBytes += chunk.length;
    }
    this.queue.push({ due, chunk });
    const held = this.queuedBytes + this.sink.writableLength;
    this.stats.maxHeldBytes = Math.max(this.stats.maxHeldBytes, held);
    if (held > this.highWater && !this.source.isPaused()) {
      this.source.pause();
      this.stats.pauses += 1;
    }
    if (due <= now) this.flush();
    else this.schedule();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (head === undefined || this.timer !== null) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.flush();
      },
      Math.max(0, head.due - performance.now()),
    );
  }

  private flush(): void {
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) {
      const { chunk } = this.queue.shift()!;
      if (this.sink.destroyed) return;
      if (chunk === null) {
        this.sink.end();
        continue;
      }
      this.queuedBytes -= chunk.length;
      this.sink.write(chunk);
    }
    this.resumeIfRoom();
    this.schedule();
  }

  private resumeIfRoom(): void {
    if (this.source.isPaused() && !this.source.destroyed && this.queuedBytes + this.sink.writableLength <= this.highWater / 2) this.source.resume();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

export class DelayRelay {
  readonly stats: DelayRelayStats = { connections: 0, bytesIn: 0, bytesOut: 0, maxHeldBytes: 0, pauses: 0 };
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    /** The round-trip time new bytes get; queued bytes keep theirs. */
    public rttMs: number,
  ) {}

  /** Starts a relay on 127.0.0.1 (an ephemeral port) forwarding to `targetPort` on 127.0.0.1. */
  static async start(targetPort: number, options: DelayRelayOptions): Promise<DelayRelay> {
    if (!Number.isFinite(options.rttMs) || options.rttMs < 0) throw new RangeError(`rttMs must be a finite number >= 0, got ${options.rttMs}`);
    const highWater = options.highWaterBytes ?? DEFAULT_HIGH_WATER;
    let relay: DelayRelay | null = null;
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => relay?.accept(client, targetPort, highWater));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the relay has no TCP address");
    relay = new DelayRelay(server, address.port, options.rttMs);
    return relay;
  }

  private accept(client: Socket, targetPort: number, highWater: number): void {
    this.stats.connections += 1;
    const openedAt = performance.now();
    const upstream = connect({ host: "127.0.0.1", port: targetPort, allowHalfOpen: true, noDelay: true });
    const oneWay = () => this.rttMs / 2;
    const toNode = new DelayedPipe(client, upstream, oneWay, highWater, this.stats, (n) => (this.stats.bytesIn += n), openedAt + this.rttMs);
    const fromNode = new DelayedPipe(upstream, client, oneWay, highWater, this.stats, (n) => (this.stats.bytesOut += n), 0);
    const sockets = [client, upstream];
    const teardown = (): void => {
      toNode.stop();
      fromNode.stop();
      for (const socket of sockets) {
        socket.destroy();
        this.sockets.delete(socket);
      }
    };
    for (const socket of sockets) {
      this.sockets.add(socket);
      socket.on("error", teardown);
      // A clean close means both of its directions ended: what is queued for the other side still goes.
      socket.on("close", (hadError) => (hadError ? teardown() : this.sockets.delete(socket)));
    }
  }

  /** Closes the listener and every connection through it. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
