/**
 * A malicious committee member against the key's secrecy and existence
 * (issue 10 findings 1, 3, 5 and 10), with the real session layer in process.
 * The attacker (party 5, or parties 4 and 5: t-1 of a 3-of-5 key) sends any
 * frame it likes as itself. Every test ends with what an honest member cares
 * about: the key secret, usable by the honest members alone, and no honest
 * member provably faulty.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MIN_THRESHOLD } from "@mpc-relay/mpc";
import { prepareParamsSchema, type FrameBody } from "../../relayer/node/frames.ts";
import { SessionError } from "../../relayer/node/session/index.ts";
import { assertKeySecret, assertKeyUsable, assertNoHonestFault } from "./honest.ts";
import { eventually, InProcessNetwork } from "./inprocess.ts";

const ALL = [1, 2, 3, 4, 5];
const HONEST = [1, 2, 3];
const ATTACKERS = [4, 5];

describe("a malicious member against the key itself", { timeout: 120_000 }, () => {
  let net: InProcessNetwork;
  let publicKey: string;
  let address: string;

  before(async () => {
    net = await InProcessNetwork.create({ parties: ALL });
    await net.approve({ operation: "keygen", keyId: "relay", parties: ALL, threshold: 3 });
    const key = await net.manager(1).keygen("relay", ALL, 3);
    publicKey = key.publicKey!;
    address = key.address!;
  });
  after(async () => {
    await net?.destroy();
  });

  const honestOutcome = async (coordinator = 1): Promise<void> => {
    await assertKeySecret(net, "relay", ATTACKERS, publicKey);
    await assertKeyUsable(net, "relay", ATTACKERS, coordinator, address);
    assertNoHonestFault(net, HONEST);
  };

  /** What the honest parties answered the attacker on one route: their frame kinds. */
  const answers = (route: string): string[] => net.frames((e) => HONEST.includes(e.from) && ATTACKERS.includes(e.to) && e.frame.sessionId === route).map((f) => f.body.kind);

  it("finding 1: a reshare to the coordinator alone (t = 1) is not even a valid frame", async () => {
    assert.equal(prepareParamsSchema.safeParse({ operation: "reshare", oldParties: ALL, newParties: [5], newThreshold: 1, publicKey }).success, false);
    const route = "aa".repeat(32);
    for (const to of HONEST)
      net.inject(5, to, { kind: "prepare", keyId: "relay", params: { operation: "reshare", oldParties: ALL, newParties: [5], newThreshold: 1, publicKey }, generation: null } as FrameBody, route);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(answers(route), [], "the frame fails the schema before any node looks at it");
    await honestOutcome();
  });

  it("finding 1: a reshare to identities the attackers control is refused by every honest old member", async () => {
    const key = (await net.node(1).store.getKey("relay"))!;
    const route = "ab".repeat(32);
    for (const to of HONEST)
      net.inject(5, to, { kind: "prepare", keyId: "relay", params: { operation: "reshare", oldParties: ALL, newParties: ATTACKERS, newThreshold: 2, publicKey }, generation: key.generation }, route);
    await eventually(() => assert.equal(answers(route).length, HONEST.length));
    assert.deepEqual(answers(route), ["refuse", "refuse", "refuse"]);
    const refusals = net.frames((e) => e.frame.sessionId === route && e.frame.body.kind === "refuse").map((f) => f.body as Extract<FrameBody, { kind: "refuse" }>);
    for (const refusal of refusals) assert.equal(refusal.code, "unauthorized");
    // Through its own session layer the attacker gets no further.
    await assert.rejects(net.manager(5).reshare("relay", ATTACKERS, 2), (error: unknown) => error instanceof SessionError && error.kind === "unauthorized");
    assert.equal(net.frames((e) => HONEST.includes(e.from) && e.frame.body.kind === "protocol" && (e.frame.body as { protocol: string }).protocol === "reshare").length, 0, "no honest member dealt");
    await honestOutcome();
  });

  it("finding 1: even with honest operators approving some other reshare, the attackers' committee is refused", async () => {
    await net.approve({ operation: "reshare", keyId: "relay", publicKey, oldParties: ALL, newParties: [1, 2, 3, 4], newThreshold: 3 }, HONEST);
    await assert.rejects(net.manager(4).reshare("relay", [3, 4, 5], 2), (error: unknown) => error instanceof SessionError && error.kind === "unauthorized");
    await honestOutcome();
  });

  it("finding 3: no member's word deletes another member's share", async () => {
    const route = "ac".repeat(32);
    const before = await Promise.all(HONEST.map((p) => net.node(p).store.getKey("relay")));
    // The old broadcast `keyDelete` no longer exists: it fails the schema.
    for (const to of HONEST) net.inject(5, to, { kind: "keyDelete", keyId: "relay" } as unknown as FrameBody, route);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const [i, party] of HONEST.entries()) assert.deepEqual(await net.node(party).store.getKey("relay"), before[i]);
    // Deleting its own share is all a member can do.
    assert.equal(await net.manager(5).deleteKey("relay"), true);
    for (const party of [1, 2, 3, 4]) assert.equal((await net.node(party).store.getKey("relay"))?.status, "READY");
    await assertKeyUsable(net, "relay", [5], 2, address);
    assertNoHonestFault(net, HONEST);
  });

  it("finding 5: a keyGen whose threshold or parties the operators did not approve is refused", async () => {
    await net.approve({ operation: "keygen", keyId: "second", parties: ALL, threshold: 3 }, HONEST);
    for (const [parties, threshold] of [
      [ALL, 2],
      [[3, 4, 5], 2],
      [[1, 4, 5], 3],
    ] as const) {
      await assert.rejects(
        net.manager(4).keygen("second", parties, threshold),
        (error: unknown) => error instanceof SessionError && error.kind === "unauthorized",
        `${threshold}-of-${parties.join(",")}`,
      );
    }
    for (const party of HONEST) assert.equal(await net.node(party).store.getKey("second"), null, `party ${party} reserved nothing`);
    // What the operators approved still works, coordinated by anyone.
    await net.approve({ operation: "keygen", keyId: "second", parties: ALL, threshold: 3 }, ATTACKERS);
    const key = await net.manager(5).keygen("second", ALL, 3);
    assert.equal(key.threshold, 3);
  });

  it("finding 10: one threshold rule everywhere, t >= 2", async () => {
    assert.equal(MIN_THRESHOLD, 2);
    for (const params of [
      { operation: "keygen", parties: ALL, threshold: 1 },
      { operation: "reshare", oldParties: ALL, newParties: [1, 2], newThreshold: 1, publicKey },
    ]) {
      assert.equal(prepareParamsSchema.safeParse(params).success, false, JSON.stringify(params));
    }
    await assert.rejects(net.manager(1).keygen("t1", ALL, 1), (error: unknown) => error instanceof SessionError && error.kind === "invalid");
    await assert.rejects(net.manager(1).reshare("relay", [1, 2], 1), (error: unknown) => error instanceof SessionError && error.kind === "invalid");
  });

  it("any operation with any parameters from a member: refused or harmless", async () => {
    const key = (await net.node(1).store.getKey("relay"))!;
    const bogusGeneration = "cd".repeat(32);
    const bodies: FrameBody[] = [
      { kind: "prepare", keyId: "relay", params: { operation: "refresh" }, generation: bogusGeneration },
      { kind: "prepare", keyId: "relay", params: { operation: "presign" }, generation: bogusGeneration },
      { kind: "prepare", keyId: "relay", params: { operation: "reshare", oldParties: [1, 2, 3], newParties: [1, 2, 3], newThreshold: 2, publicKey }, generation: key.generation },
      { kind: "prepare", keyId: "relay", params: { operation: "reshare", oldParties: ALL, newParties: ALL, newThreshold: 3, publicKey: "02" + "11".repeat(32) }, generation: key.generation },
      { kind: "prepare", keyId: "relay", params: { operation: "keygen", parties: ALL, threshold: 3 }, generation: null },
      {
        kind: "prepare",
        keyId: "relay",
        params: {
          operation: "sign",
          request: { type: "messageAttestation", srcChainId: 31337, messageId: "0x" + "77".repeat(32), dstChainId: 31338, targetGateway: "0x00000000000000000000000000000000000000a1" },
          presignId: null,
          signers: null,
        },
        generation: key.generation,
      },
      { kind: "start", participants: ALL, dealers: null, nonces: ALL.map((party) => ({ party, nonce: "00".repeat(32) })) },
      { kind: "confirm", keyId: "relay", generation: bogusGeneration, threshold: 2, parties: [4, 5], publicKey, digest: "00".repeat(32), signature: "00".repeat(64) },
      {
        kind: "certificate",
        certificate: {
          keyId: "relay",
          generation: bogusGeneration,
          threshold: 2,
          parties: [4, 5],
          publicKey,
          digest: "00".repeat(32),
          confirmations: [4, 5].map((party) => ({ party, signature: "00".repeat(64) })),
        },
      },
      { kind: "nack", keyId: "relay", generation: key.generation!, signature: "00".repeat(64) },
    ];
    for (const [i, body] of bodies.entries()) for (const to of HONEST) net.inject(5, to, body, i.toString(16).padStart(64, "0"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(net.frames((e) => HONEST.includes(e.from) && e.frame.body.kind === "protocol" && /^0{60}/.test(e.frame.sessionId)).length, 0, "no honest member ran a protocol for them");
    for (const party of HONEST) {
      const now = (await net.node(party).store.getKey("relay"))!;
      assert.equal(now.generation, key.generation);
      assert.deepEqual(
        now.generations.map((g) => g.id),
        [key.generation],
        `party ${party} holds no invented generation`,
      );
    }
    await honestOutcome(3);
  });
});
