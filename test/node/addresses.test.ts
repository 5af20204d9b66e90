/**
 * Members dial each other at whatever multiaddr the directory lists: an IPv4
 * or IPv6 address or a DNS name (here names and addresses of this machine's
 * loopback, so no traffic leaves it), and listen where the config says.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { StaticPeerDirectory } from "../../relayer/node/directory.ts";
import { FRAME_VERSION, toHex, type Frame } from "../../relayer/node/frames.ts";
import { createIdentity } from "../../relayer/node/identity.ts";
import { createLogger } from "../../relayer/shared/log.ts";
import { Transport } from "../../relayer/node/transport.ts";
import { freePort } from "../../relayer/shared/ports.ts";
import { eventually } from "./inprocess.ts";

const log = createLogger({ test: "addresses" }, "error", () => {});
const transports: Transport[] = [];

after(async () => {
  for (const transport of transports) await transport.stop();
});

/** Two members; member 2 is listed at `address(port)` in member 1's directory. Returns what member 2 received. */
async function pair(listen: (port: number) => string, address: (port: number) => string): Promise<{ send: () => void; received: Frame[] }> {
  const [one, two] = [await createIdentity(), await createIdentity()];
  const [portOne, portTwo] = [await freePort(), await freePort()];
  const received: Frame[] = [];
  const directoryOf = (addressOfTwo: string) =>
    new StaticPeerDirectory([
      { index: 1, peerId: one.peerId, address: `/ip4/127.0.0.1/tcp/${portOne}` },
      { index: 2, peerId: two.peerId, address: addressOfTwo },
    ]);
  const first = await Transport.start({ identity: one, directory: directoryOf(address(portTwo)), listen: [`/ip4/127.0.0.1/tcp/${portOne}`], events: { onFrame: () => {}, onDrop: () => {} }, log });
  const second = await Transport.start({
    identity: two,
    directory: directoryOf(listen(portTwo)),
    listen: [listen(portTwo)],
    events: { onFrame: (_from, frame) => received.push(frame), onDrop: () => {} },
    log,
  });
  transports.push(first, second);
  const send = () =>
    first.send(2, { v: FRAME_VERSION, id: toHex(crypto.getRandomValues(new Uint8Array(16))), ts: Date.now(), from: 1, sessionId: "ab".repeat(32), body: { kind: "abort", reason: "hello" } });
  return { send, received };
}

describe("transport addresses", { timeout: 30_000 }, () => {
  it("dials a member by DNS name", async () => {
    const { send, received } = await pair(
      (port) => `/ip4/127.0.0.1/tcp/${port}`,
      (port) => `/dns4/localhost/tcp/${port}`,
    );
    send();
    await eventually(() => assert.equal(received.length, 1));
  });

  it("listens and dials over IPv6", async () => {
    const { send, received } = await pair(
      (port) => `/ip6/::1/tcp/${port}`,
      (port) => `/ip6/::1/tcp/${port}`,
    );
    send();
    await eventually(() => assert.equal(received.length, 1));
  });

  it("reports the addresses it listens on", async () => {
    const identity = await createIdentity();
    const port = await freePort();
    const transport = await Transport.start({
      identity,
      directory: new StaticPeerDirectory([{ index: 1, peerId: identity.peerId, address: `/ip4/127.0.0.1/tcp/${port}` }]),
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
      events: { onFrame: () => {}, onDrop: () => {} },
      log,
    });
    transports.push(transport);
    assert.deepEqual(transport.listenAddresses(), [`/ip4/127.0.0.1/tcp/${port}/p2p/${identity.peerId}`]);
  });
});
