/**
 * The benchmarks' delay relay (bench/delay-relay.ts) must not change what
 * crosses it: every byte arrives, in order, both ways, across RTT changes and
 * half-closes; a reader that stops reading stops the writer instead of
 * filling the relay's memory; and a round trip costs at least the RTT.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { DelayRelay } from "../../bench/delay-relay.ts";
import { eventually } from "../node/cluster.ts";

async function listen(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { server, port: address.port };
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Everything the socket sends until its end. */
function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.once("end", () => resolve(Buffer.concat(chunks)));
    socket.once("error", reject);
  });
}

const digest = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("delay relay", () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  it("delivers every byte in order both ways while the RTT changes, and passes half-closes on", async () => {
    // An echo server that answers after the client's half-close: both FINs must travel.
    const echo = await listen((socket) => {
      const seen: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => {
        seen.push(chunk);
        socket.write(chunk);
      });
      socket.on("end", () => socket.end(Buffer.from(`total ${Buffer.concat(seen).length}`)));
    });
    closers.push(() => new Promise((r) => echo.server.close(() => r())));
    const relay = await DelayRelay.start(echo.port, { rttMs: 40 });
    closers.push(() => relay.close());

    const client = await dial(relay.port);
    const answer = readAll(client);
    const sent: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const chunk = randomBytes(1 + ((i * 7919) % 20_000));
      sent.push(chunk);
      client.write(chunk);
      // A shorter RTT for later bytes must not let them overtake earlier ones.
      if (i === 100) relay.rttMs = 0;
      if (i === 200) relay.rttMs = 30;
      if (i === 300) relay.rttMs = 2;
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    client.end();
    const body = Buffer.concat(sent);
    const echoed = await answer;
    const trailer = Buffer.from(`total ${body.length}`);
    assert.equal(echoed.length, body.length + trailer.length);
    assert.equal(digest(echoed.subarray(0, body.length)), digest(body), "the echo is the bytes sent, in order");
    assert.deepEqual(echoed.subarray(body.length), trailer, "the server saw every byte before the client's half-close");
    assert.equal(relay.stats.bytesIn, body.length);
    assert.equal(relay.stats.bytesOut, echoed.length);
  });

  it("stops reading from a writer whose reader does not read, and loses nothing when the reader resumes", async () => {
    const highWaterBytes = 256 * 1024;
    let reader: Socket | null = null;
    const sink = await listen((socket) => {
      socket.pause();
      reader = socket;
    });
    closers.push(() => new Promise((r) => sink.server.close(() => r())));
    const relay = await DelayRelay.start(sink.port, { rttMs: 2, highWaterBytes });
    closers.push(() => relay.close());

    const client = await dial(relay.port);
    const body = randomBytes(48 * 1024 * 1024);
    client.end(body);
    // With the reader paused, the kernel buffers fill, then the relay's queue: it must pause its source.
    await eventually(async () => assert.ok(relay.stats.pauses > 0, "the relay paused the writer"), 20_000);
    await eventually(async () => assert.ok(client.writableLength > 0, "the writer is held back"), 20_000);
    assert.ok(relay.stats.maxHeldBytes <= highWaterBytes + 128 * 1024, `the relay held ${relay.stats.maxHeldBytes} bytes`);

    await eventually(async () => assert.ok(reader !== null), 5_000);
    const received = readAll(reader!);
    reader!.resume();
    const got = await received;
    reader!.end();
    assert.equal(got.length, body.length);
    assert.equal(digest(got), digest(body));
    assert.ok(relay.stats.maxHeldBytes <= highWaterBytes + 128 * 1024, `the relay held ${relay.stats.maxHeldBytes} bytes`);
  });

  it("makes a round trip cost at least the RTT, and a new connection's first bytes at least 1.5 RTT", async () => {
    const rttMs = 120;
    const echo = await listen((socket) => socket.pipe(socket));
    closers.push(() => new Promise((r) => echo.server.close(() => r())));
    const relay = await DelayRelay.start(echo.port, { rttMs });
    closers.push(() => relay.close());

    const roundTrip = (socket: Socket) =>
      new Promise<number>((resolve) => {
        const started = performance.now();
        socket.once("data", () => resolve(performance.now() - started));
        socket.write("ping");
      });
    const client = await dial(relay.port);
    const first = await roundTrip(client);
    // Lower bounds only: a loaded machine can be slower, never faster than the timers.
    assert.ok(first >= 1.5 * rttMs - 1, `first round trip ${first} ms`);
    const second = await roundTrip(client);
    assert.ok(second >= rttMs - 1, `round trip ${second} ms`);
    client.destroy();
  });
});
