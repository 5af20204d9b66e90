/**
 * How many one-way network delays each protocol of @mpc-relay/mpc needs, read off
 * the protocols themselves rather than written down: all parties run in this
 * process, every message carries a hop count (one more than the highest hop
 * its sender had received when it sent it), and a protocol's depth is the
 * highest hop any party had received when it finished. On a network where
 * every message takes the same time d and compute is free, the protocol takes
 * depth x d. The depth does not depend on the committee size.
 */
import { createKeygen, createOnlineSign, createPresign, createSign, type KeyShare, type Presignature, type ProtocolInstance, type ProtocolMessage } from "@mpc-relay/mpc";

const PARTIES = [1, 2, 3];
const THRESHOLD = 2;

interface Hop {
  message: ProtocolMessage;
  hop: number;
}

/** Runs the instances to the end; returns every party's result and the protocol's depth. */
function runCounting<R>(instances: Map<number, ProtocolInstance<R>>): { results: Map<number, R>; depth: number } {
  const received = new Map<number, number>([...instances.keys()].map((p) => [p, 0]));
  const queue: Hop[] = [];
  const send = (from: number, messages: ProtocolMessage[]) => {
    for (const message of messages) queue.push({ message, hop: received.get(from)! + 1 });
  };
  for (const [party, instance] of instances) send(party, instance.start());
  while (queue.length > 0) {
    const { message, hop } = queue.shift()!;
    for (const [party, instance] of instances) {
      if (party === message.from || (message.to !== null && message.to !== party)) continue;
      received.set(party, Math.max(received.get(party)!, hop));
      send(party, instance.receive(message));
    }
  }
  const results = new Map<number, R>();
  for (const [party, instance] of instances) {
    if (!instance.done) throw new Error(`party ${party} did not finish ${instance.protocol}`);
    results.set(party, instance.result());
  }
  return { results, depth: Math.max(...received.values()) };
}

const sessionId = () => globalThis.crypto.getRandomValues(new Uint8Array(32));

export interface ProtocolDepths {
  keygen: number;
  presign: number;
  online: number;
  /** Full signing: presign and online in one protocol. */
  sign: number;
}

/** One in-process run of each protocol (a 2-of-3 key: well under a second). */
export function protocolDepths(): ProtocolDepths {
  const keyId = "depth";
  const keygenSession = sessionId();
  const keygen = runCounting(new Map(PARTIES.map((self) => [self, createKeygen({ sessionId: keygenSession, keyId, self, parties: PARTIES, threshold: THRESHOLD })])));
  const shares = keygen.results as Map<number, KeyShare>;
  const signers = PARTIES.slice(0, THRESHOLD);
  const digest = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const presignSession = sessionId();
  const presign = runCounting(new Map(signers.map((self) => [self, createPresign({ sessionId: presignSession, keyId, share: shares.get(self)!, signers })])));
  const onlineSession = sessionId();
  const online = runCounting(
    new Map([...(presign.results as Map<number, Presignature>)].map(([self, presignature]) => [self, createOnlineSign({ sessionId: onlineSession, keyId, presignature, digest })])),
  );
  const signSession = sessionId();
  const sign = runCounting(new Map(signers.map((self) => [self, createSign({ sessionId: signSession, keyId, share: shares.get(self)!, signers, digest })])));
  return { keygen: keygen.depth, presign: presign.depth, online: online.depth, sign: sign.depth };
}
