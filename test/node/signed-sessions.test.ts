/**
 * Session managers with operator signatures on protocol messages, wired in
 * process (frames still go through encodeFrame / decodeFrame): every message
 * is signed and checked, a peer signing with another key is named and the
 * session stops, and a fault proven by the culprit's messages reaches the
 * onFault hook with the culprit's valid signatures.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { checkProof } from "../../relayer/mpc/index.ts";
import { decodeFrame, encodeFrame, fromBase64, fromHex, toBase64, type Frame } from "../../relayer/node/frames.ts";
import { KeyStore } from "../../relayer/node/keystore.ts";
import { createLogger } from "../../relayer/node/log.ts";
import { NodeMetrics } from "../../relayer/node/metrics.ts";
import { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import { SessionFailed, SessionManager, type MessageAuthenticator, type ProvenFault } from "../../relayer/node/sessions.ts";
import { ValidatorRegistry } from "../../relayer/node/validators.ts";
import { MessageSigner, stakingDomainSeparator } from "../../relayer/staking/message-signer.ts";
import { flipByte, withBadShareTo } from "../mpc/harness.ts";

const PARTIES = [1, 2, 3];
const separator = stakingDomainSeparator(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const keyOf = (party: number): Hex => keccak256(toHex(`signed sessions operator ${party}`));
const operatorOf = (party: number): Address => privateKeyToAccount(keyOf(party)).address;
const dirs: string[] = [];

after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Options {
  /** Party whose messages are signed with a key that is not its operator key. */
  wrongKey?: number;
  /** Party whose keyGen deals party 1 a share that fails its Feldman commitments. */
  badDealer?: number;
  /** Party that sends party 1 another round-1 broadcast than the others get (signed all the same). */
  equivocator?: { party: number; keyId: string };
}

async function network(options: Options = {}) {
  const managers = new Map<number, SessionManager<never, never>>();
  const faults: ProvenFault[] = [];
  for (const party of PARTIES) {
    const dir = await mkdtemp(join(tmpdir(), "signed-sessions-"));
    dirs.push(dir);
    const store = await KeyStore.open(join(dir, "keystore"), "a passphrase for the test", { N: 2 ** 10, r: 8, p: 1 });
    const signer = new MessageSigner(party === options.wrongKey ? keccak256(toHex("not the operator key")) : keyOf(party), separator);
    const auth: MessageAuthenticator = {
      sign: (message) => signer.sign(message),
      verify: (message, signature) => signer.verify(message, signature as Hex, operatorOf(message.from)),
    };
    const equivocate = (to: number, frame: Frame): Frame => {
      const body = frame.body;
      if (party !== options.equivocator?.party || to !== 1 || body.kind !== "protocol" || body.to !== null || body.round !== 1) return frame;
      const payload = flipByte(fromBase64(body.payload), 0);
      const message = { sessionId: fromHex(frame.sessionId), keyId: options.equivocator.keyId, protocol: body.protocol, round: 1, from: party, to: null, payload };
      return { ...frame, body: { ...body, payload: toBase64(payload), sig: signer.sign(message) } };
    };
    const sender = {
      send: (to: number, frame: Frame) => {
        const bytes = encodeFrame(equivocate(to, frame));
        setImmediate(() => managers.get(to)?.handleFrame(party, decodeFrame(bytes)));
      },
    };
    const suite =
      party === options.badDealer
        ? { ...mpcSuite, keygen: (p: Parameters<typeof mpcSuite.keygen>[0]) => withBadShareTo(1, mpcSuite.keygen(p)) }
        : mpcSuite;
    const manager = new SessionManager(
      party,
      store,
      suite,
      new ValidatorRegistry(),
      sender,
      { prepareMs: 2_000, roundMs: 5_000, keygenRoundMs: 5_000 },
      1,
      createLogger({ node: party }, "error", () => {}),
      new NodeMetrics(),
      auth,
    );
    manager.onFault = (fault) => faults.push(fault);
    managers.set(party, manager as unknown as SessionManager<never, never>);
  }
  return { managers, faults };
}

describe("sessions with operator signatures", { timeout: 60_000 }, () => {
  it("signs and checks every protocol message of a keyGen", async () => {
    const { managers, faults } = await network();
    const key = await managers.get(1)!.keygen("signed", PARTIES, 2);
    assert.equal(key.status, "READY");
    assert.equal(faults.length, 0);
  });

  it("stops a session at a message signed with another key, naming its sender", async () => {
    const { managers } = await network({ wrongKey: 3 });
    await assert.rejects(
      managers.get(1)!.keygen("wrong-key", PARTIES, 2),
      (error: unknown) => error instanceof SessionFailed && /party 3 sent a protocol message without a valid operator signature/.test(error.message),
    );
  });

  it("hands a fault proven by the culprit's signed messages to onFault, with its signatures", async () => {
    const { managers, faults } = await network({ badDealer: 2 });
    await assert.rejects(managers.get(1)!.keygen("bad-share", PARTIES, 2), /Feldman/);
    assert.equal(faults.length, 1);
    const [fault] = faults as [ProvenFault];
    assert.equal(fault.proof.kind, "feldman-share");
    assert.equal(checkProof(fault.proof).culprit, 2);
    const signer = new MessageSigner(keyOf(1), separator);
    fault.proof.messages.forEach((message, i) => assert.ok(signer.verify(message, fault.signatures[i] as Hex, operatorOf(2)), `signature ${i} is party 2's`));
  });

  it("finds the sender of two signed versions of a broadcast once an echo shows the parties saw different ones", async () => {
    const { managers, faults } = await network({ equivocator: { party: 3, keyId: "equivocation" } });
    await assert.rejects(managers.get(1)!.keygen("equivocation", PARTIES, 2), /equivocating broadcast/);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the parties' broadcasts frames cross
    assert.ok(faults.length >= 1, "an honest party proved the equivocation");
    for (const fault of faults) {
      assert.equal(fault.proof.kind, "equivocation");
      assert.equal(checkProof(fault.proof).culprit, 3);
      fault.proof.messages.forEach((message, i) => assert.ok(new MessageSigner(keyOf(1), separator).verify(message, fault.signatures[i] as Hex, operatorOf(3))));
    }
  });
});
