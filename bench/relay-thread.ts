/**
 * Delay relays (delay-relay.ts) on a thread of their own, so that what else
 * the benchmark process does (the in-process chains every node reads, HTTP to
 * the nodes, polling) never holds bytes up on their way between nodes: on a
 * real network nothing shares an event loop with the links.
 *
 * This module is both sides: RelayThread in the benchmark, and, when loaded as
 * the worker, the loop that owns the relays.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { DelayRelay } from "./delay-relay.ts";

const ROLE = "delay-relays";

type Command = { op: "add"; targetPort: number; rttMs: number } | { op: "rtt"; rttMs: number } | { op: "bytes" } | { op: "close" };
type Request = Command & { id: number };
type Reply = { id: number; ok: true; value: number | null } | { id: number; ok: false; error: string };

export class RelayThread {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: number | null) => void; reject: (error: Error) => void }>();

  private constructor(private readonly worker: Worker) {
    worker.on("message", (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.value);
      else waiter?.reject(new Error(reply.error));
    });
    worker.on("error", (error) => {
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
  }

  static start(): RelayThread {
    return new RelayThread(new Worker(new URL(import.meta.url), { workerData: { role: ROLE } }));
  }

  private call(command: Command): Promise<number | null> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...command, id } satisfies Request);
    });
  }

  /** A new relay in front of `targetPort`; returns the port peers dial. */
  async add(targetPort: number, rttMs: number): Promise<number> {
    return (await this.call({ op: "add", targetPort, rttMs }))!;
  }

  /** The RTT of every relay, for bytes sent from now on. */
  async setRtt(rttMs: number): Promise<void> {
    await this.call({ op: "rtt", rttMs });
  }

  /** Bytes forwarded by every relay so far, both ways. */
  async bytes(): Promise<number> {
    return (await this.call({ op: "bytes" }))!;
  }

  async close(): Promise<void> {
    await this.call({ op: "close" });
    await this.worker.terminate();
  }
}

async function serve(port: NonNullable<typeof parentPort>): Promise<void> {
  const relays: DelayRelay[] = [];
  const handle = async (request: Request): Promise<number | null> => {
    switch (request.op) {
      case "add": {
        const relay = await DelayRelay.start(request.targetPort, { rttMs: request.rttMs });
        relays.push(relay);
        return relay.port;
      }
      case "rtt":
        for (const relay of relays) relay.rttMs = request.rttMs;
        return null;
      case "bytes":
        return relays.reduce((sum, relay) => sum + relay.stats.bytesIn + relay.stats.bytesOut, 0);
      case "close":
        await Promise.all(relays.map((relay) => relay.close()));
        return null;
    }
  };
  port.on("message", (request: Request) => {
    handle(request).then(
      (value) => port.postMessage({ id: request.id, ok: true, value } satisfies Reply),
      (error: unknown) => port.postMessage({ id: request.id, ok: false, error: String(error) } satisfies Reply),
    );
  });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE && parentPort !== null) await serve(parentPort);
