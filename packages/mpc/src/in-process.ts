/**
 * Runs one protocol among parties in this process: each message delivered in order to its recipients,
 * a party that aborts stops there. For tests, benchmarks and the test kit's in-process threshold key;
 * real parties exchange the messages over authenticated channels instead.
 */
import { ProtocolAbort, type PartyIndex, type ProtocolInstance, type ProtocolMessage } from "./types.ts";

/** Returns the message(s) to deliver instead of `message` (an empty list drops it): a test's adversary. */
export type Tamper = (message: ProtocolMessage, recipient: PartyIndex) => ProtocolMessage[];

export interface RunOutcome<R> {
  /** The result of every party that finished. */
  readonly results: Map<PartyIndex, R>;
  readonly aborts: Map<PartyIndex, ProtocolAbort>;
  /** Payload bytes each party sent (a broadcast counts once per recipient). */
  readonly bytesSent: Map<PartyIndex, number>;
}

export function runInProcess<R>(instances: ReadonlyMap<PartyIndex, ProtocolInstance<R>>, tamper?: Tamper): RunOutcome<R> {
  const queue: { message: ProtocolMessage; recipient: PartyIndex }[] = [];
  const aborts = new Map<PartyIndex, ProtocolAbort>();
  const bytesSent = new Map<PartyIndex, number>();
  const enqueue = (messages: ProtocolMessage[]) => {
    for (const message of messages) {
      const recipients = message.to === null ? [...instances.keys()].filter((p) => p !== message.from) : [message.to];
      for (const recipient of recipients) {
        bytesSent.set(message.from, (bytesSent.get(message.from) ?? 0) + message.payload.length);
        queue.push({ message, recipient });
      }
    }
  };
  const step = (party: PartyIndex, action: () => ProtocolMessage[]) => {
    try {
      enqueue(action());
    } catch (error) {
      if (!(error instanceof ProtocolAbort)) throw error;
      aborts.set(party, error);
    }
  };
  for (const [party, instance] of instances) step(party, () => instance.start());
  while (queue.length > 0) {
    const { message, recipient } = queue.shift()!;
    const instance = instances.get(recipient);
    if (instance === undefined || aborts.has(recipient)) continue;
    const delivered = tamper === undefined ? [message] : tamper(message, recipient);
    for (const m of delivered) {
      if (aborts.has(recipient)) break;
      step(recipient, () => instance.receive(m));
    }
  }
  const results = new Map<PartyIndex, R>();
  for (const [party, instance] of instances) if (instance.done) results.set(party, instance.result());
  return { results, aborts, bytesSent };
}

/** The outcome of a run every party finished; throws the first abort otherwise. */
export function finished<R>(outcome: RunOutcome<R>): RunOutcome<R> {
  const [abort] = outcome.aborts.values();
  if (abort !== undefined) throw abort;
  return outcome;
}
