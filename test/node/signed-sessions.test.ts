/**
 * Session managers with operator signatures on protocol messages, in process
 * (frames still go through encodeFrame / decodeFrame): every message is
 * signed and checked, a peer signing with another key is named and the
 * session stops, a fault proven by the culprit's messages reaches onFault with
 * the culprit's valid signatures, and an equivocating broadcaster is found.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { keccak256, toHex, type Hex } from "viem";
import { checkProof } from "@mpc-relay/mpc";
import { fromBase64, toBase64 } from "../../relayer/node/frames.ts";
import { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import type { ProtocolSuite, ShareFacts } from "../../relayer/node/protocols.ts";
import { SessionError } from "../../relayer/node/session/index.ts";
import { MessageSigner, stakingDomainSeparator } from "../../relayer/staking/message-signer.ts";
import { flipByte, withBadShareTo } from "../mpc/harness.ts";
import { InProcessNetwork, operatorOf } from "./inprocess.ts";

const PARTIES = [1, 2, 3];
const KEYGEN = (keyId: string) => ({ operation: "keygen" as const, keyId, parties: PARTIES, threshold: 2 });
let net: InProcessNetwork | null = null;

afterEach(async () => {
  await net?.destroy();
  net = null;
});

describe("sessions with operator signatures", { timeout: 60_000 }, () => {
  it("signs and checks every protocol message of a keyGen", async () => {
    net = await InProcessNetwork.create({ parties: PARTIES });
    await net.approve(KEYGEN("signed"));
    const key = await net.manager(1).keygen("signed", PARTIES, 2);
    assert.equal(key.status, "READY");
    assert.equal(net.faults.length, 0);
    assert.ok(net.node(2).signed.length > 0, "party 2 signed its messages");
  });

  it("stops a session at a message signed with another key, naming its sender", async () => {
    net = await InProcessNetwork.create({ parties: PARTIES });
    await net.approve(KEYGEN("wrong-key"));
    const wrong = new MessageSigner(keccak256(toHex("not the operator key")), stakingDomainSeparator(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"));
    const signedBy3 = net.node(3).signed;
    net.intercept(3, (_to, frame) => {
      const body = frame.body;
      if (body.kind !== "protocol" || body.sig === null) return [frame];
      const original = signedBy3.find((s) => s.signature === body.sig)!;
      return [{ ...frame, body: { ...body, sig: wrong.sign(original.message) } }];
    });
    await assert.rejects(
      net.manager(1).keygen("wrong-key", PARTIES, 2),
      (error: unknown) => error instanceof SessionError && /party 3 sent a protocol message without a valid operator signature/.test(error.message),
    );
  });

  it("hands a fault proven by the culprit's signed messages to onFault, with its signatures", async () => {
    const bad = { ...mpcSuite, keygen: (p: Parameters<typeof mpcSuite.keygen>[0]) => withBadShareTo(1, mpcSuite.keygen(p)) };
    net = await InProcessNetwork.create({ parties: PARTIES, suite: (party) => (party === 2 ? bad : mpcSuite) as unknown as ProtocolSuite<ShareFacts, unknown> });
    await net.approve(KEYGEN("bad-share"));
    await assert.rejects(net.manager(1).keygen("bad-share", PARTIES, 2), /Feldman/);
    assert.equal(net.faults.length, 1);
    const fault = net.faults[0]!;
    assert.equal(fault.proof.kind, "feldman-share");
    assert.equal(checkProof(fault.proof).culprit, 2);
    const checker = new MessageSigner(keccak256(toHex("any key checks")), stakingDomainSeparator(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"));
    fault.proof.messages.forEach((message, i) => assert.ok(checker.verify(message, fault.signatures[i] as Hex, operatorOf(2)), `signature ${i} is party 2's`));
  });

  it("finds the sender of two signed versions of a broadcast once an echo shows the parties saw different ones", async () => {
    net = await InProcessNetwork.create({ parties: PARTIES });
    await net.approve(KEYGEN("equivocation"));
    const signedBy3 = net.node(3).signed;
    const signer3 = new MessageSigner(keccak256(toHex("in-process operator 3")), stakingDomainSeparator(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"));
    // Party 3 (dishonest) sends party 1 another round-1 broadcast than the others get, signed all the same.
    net.intercept(3, (to, frame) => {
      const body = frame.body;
      if (to !== 1 || body.kind !== "protocol" || body.to !== null || body.round !== 1 || body.sig === null) return [frame];
      const original = signedBy3.find((s) => s.signature === body.sig)!.message;
      const message = { ...original, payload: flipByte(fromBase64(body.payload), 0) };
      return [{ ...frame, body: { ...body, payload: toBase64(message.payload), sig: signer3.sign(message) } }];
    });
    await assert.rejects(net.manager(1).keygen("equivocation", PARTIES, 2), /equivocating broadcast/);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the parties' broadcasts frames cross
    assert.ok(net.faults.length >= 1, "an honest party proved the equivocation");
    for (const fault of net.faults) {
      assert.equal(fault.proof.kind, "equivocation");
      assert.equal(checkProof(fault.proof).culprit, 3);
    }
  });
});
