/**
 * Full signing with the signers named in `prepare` (issue 12, session/direct.ts):
 * the signers exchange their readies and start without a `start` frame. The
 * attacker (party 5) is a member: it may be named, send different nonces to
 * different signers, withhold its ready from one of them, flood readies for
 * made-up sessions or name bad signer sets. Each test checks what an honest
 * member cares about: the key signs, stays secret, and no honest member is
 * blamed (no fault proof, no absence record, no ban).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import type { PartyIndex } from "@mpc-relay/mpc";
import type { Frame } from "../../relayer/node/frames.ts";
import { EARLY_READIES_PER_PEER } from "../../relayer/node/session/direct.ts";
import { assertKeySecret, assertKeyUsable, assertNoHonestFault, assertRecovers } from "./honest.ts";
import { ATTACKER, HONEST, keyedNetworks, eventually, InProcessNetwork, sendMessage } from "./inprocess.ts";

const networks = keyedNetworks();
const withKey = networks.withKey;
afterEach(() => networks.destroy());

/** Every party named in an absence record any honest member keeps. */
async function absentees(n: InProcessNetwork): Promise<PartyIndex[]> {
  const named = await Promise.all(HONEST.map(async (p) => (await n.node(p).store.listAbsences()).flatMap((a) => a.absentees)));
  return [...new Set(named.flat())].sort((a, b) => a - b);
}

async function assertNoBans(n: InProcessNetwork): Promise<void> {
  for (const party of HONEST) for (const g of (await n.node(party).store.getKey("relay"))!.generations) assert.deepEqual(g.banned, [], `party ${party} banned someone`);
}

describe("direct start: full signing without a start frame", { timeout: 180_000 }, () => {
  it("names t signers, who start on their own; the signature recovers to the key address", async () => {
    const { net, address } = await withKey();
    const result = await net.manager(1).signFull("relay", sendMessage(net.chains()));
    await assertRecovers(result, address);
    assert.deepEqual(result.signers, [1, 2, 3], "the coordinator named itself and the next two");
    assert.equal(result.attempts, 1);
    const route = net.frames((e) => e.from === 1 && e.frame.body.kind === "prepare" && e.frame.body.params.operation === "sign").map((f) => f.sessionId);
    assert.equal(route.length, 2, "prepare went to the two named signers only");
    assert.equal(net.frames((e) => e.frame.sessionId === route[0] && e.frame.body.kind === "start").length, 0, "no start frame");
    // Every named signer told every other its nonce, and each spoke in the protocol under one joint id.
    assert.equal(net.frames((e) => e.frame.sessionId === route[0] && e.frame.body.kind === "ready").length, 6);
    const ids = new Set(net.frames((e) => e.frame.sessionId === route[0] && e.frame.body.kind === "protocol").map((f) => (f.body as { sid: string }).sid));
    assert.deepEqual([...ids], [result.sessionId]);
    assert.deepEqual(await absentees(net), []);
  });

  it("signs when a named signer is down, recording the down node absent and nobody else", async () => {
    const { net, address } = await withKey();
    net.isolate(3);
    const result = await net.manager(1).signFull("relay", sendMessage(net.chains()));
    await assertRecovers(result, address);
    assert.ok(!result.signers.includes(3), `signed without the down node (${result.signers.join(",")})`);
    assert.deepEqual(await absentees(net), [3], "only the down node is recorded absent");
    // The coordinator does not name it again for a while: the next request starts directly, first time.
    const next = await net.manager(1).signFull("relay", sendMessage(net.chains()));
    assert.equal(next.attempts, 1);
    assert.ok(!next.signers.includes(3));
    assert.deepEqual(await absentees(net), [3]);
    net.reconnect(3);
  });

  it("a signer that sends different nonces to different signers only fails the session: nobody honest is blamed, and the next request signs", async () => {
    const { net, publicKey, address } = await withKey();
    // Coordinator 4 names {4, 5, 1}; the attacker gives party 1 another nonce than party 4.
    let split = 0;
    net.intercept(ATTACKER, (to, frame) => {
      if (to !== 1 || frame.body.kind !== "ready") return [frame];
      split += 1;
      return [{ ...frame, body: { kind: "ready", nonce: randomBytes(32).toString("hex") } }];
    });
    const result = await net.manager(4).signFull("relay", sendMessage(net.chains()));
    net.intercept(ATTACKER, null);
    assert.ok(split >= 1, "the attacker was named and split the nonces");
    assert.ok(result.attempts >= 2, "the split session failed and was retried");
    assert.ok(!result.signers.includes(ATTACKER), `the retry went without the attacker (${result.signers.join(",")})`);
    await assertRecovers(result, address);
    assert.deepEqual(await absentees(net), [], "nobody is recorded absent: the coordinator cannot tell who lied");
    assert.deepEqual(net.faults, [], "no fault proof");
    await assertNoBans(net);
    assertNoHonestFault(net, HONEST);
    await assertKeySecret(net, "relay", [ATTACKER], publicKey);
    await assertKeyUsable(net, "relay", [ATTACKER], 4, address);
    const again = await net.manager(1).signFull("relay", sendMessage(net.chains()));
    await assertRecovers(again, address);
  });

  it("a signer that withholds its ready from one honest signer gets no honest member recorded absent", async () => {
    const { net, address } = await withKey();
    // Coordinator 4 names {4, 5, 1}: party 1 never gets the attacker's ready, so it never starts. Then coordinator 3
    // names {3, 4, 5}: party 4 never gets it, and the attacker also ends the session at once with a forged message
    // to the coordinator, while party 4 still waits for its ready.
    const forge = (frame: Frame): Frame => (frame.body.kind === "protocol" ? { ...frame, body: { ...frame.body, payload: Buffer.from("forged").toString("base64") } } : frame);
    for (const { coordinator, victim, forged } of [
      { coordinator: 4, victim: 1, forged: false },
      { coordinator: 3, victim: 4, forged: true },
    ]) {
      net.intercept(ATTACKER, (to, frame) => (to === victim && frame.body.kind === "ready" ? [] : [to === coordinator && forged ? forge(frame) : frame]));
      const result = await net.manager(coordinator).signFull("relay", sendMessage(net.chains()));
      net.intercept(ATTACKER, null);
      await assertRecovers(result, address);
      assert.ok(result.attempts >= 2, `the session without party ${victim}'s start failed and was retried`);
      assert.ok(!result.signers.includes(ATTACKER));
      assert.ok(!(await absentees(net)).some((p) => HONEST.includes(p)), `honest members recorded absent: ${(await absentees(net)).join(",")}`);
    }
    assert.deepEqual(net.faults, []);
    await assertNoBans(net);
    assertNoHonestFault(net, HONEST);
  });

  it("a member flooding early readies for made-up session ids cannot stop honest direct-start sessions", async () => {
    const { net, address } = await withKey();
    for (let i = 0; i < 20 * EARLY_READIES_PER_PEER; i++) for (const to of [2, 3]) net.inject(ATTACKER, to, { kind: "ready", nonce: randomBytes(32).toString("hex") });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The coordinator's prepare reaches party 2 late, after party 3's ready: party 2 must keep that ready.
    net.intercept(1, (to, frame) => {
      if (to !== 2 || frame.body.kind !== "prepare") return [frame];
      setTimeout(() => net.inject(1, 2, frame.body, frame.sessionId), 150);
      return [];
    });
    const result = await net.manager(1).signFull("relay", sendMessage(net.chains()));
    net.intercept(1, null);
    await assertRecovers(result, address);
    assert.equal(result.attempts, 1, "the direct start went through, first time");
    assert.deepEqual(result.signers, [1, 2, 3]);
    const order = net.frames((e) => e.to === 2 && e.frame.body.kind !== "protocol" && (e.from === 1 || e.from === 3));
    const route = order.find((f) => f.body.kind === "prepare")!.sessionId;
    assert.ok(
      order.findIndex((f) => f.sessionId === route && f.body.kind === "ready") < order.findIndex((f) => f.sessionId === route && f.body.kind === "prepare"),
      "party 3's ready came before the prepare",
    );
    const dropped = (await net.node(2).metrics.framesDropped.get()).values.find((v) => v.labels.reason === "early-ready-overflow")?.value ?? 0;
    assert.ok(dropped >= 19 * EARLY_READIES_PER_PEER, "the flood only evicted the attacker's own readies");
    assert.deepEqual(await absentees(net), []);
  });

  it("refuses a prepare naming a bad signer set, and takes readies only from named signers", async () => {
    const { net, address } = await withKey();
    const generation = (await net.node(1).store.getKey("relay"))!.generation;
    const request = sendMessage(net.chains());
    const bad: [string, number[]][] = [
      ["a signer outside the committee", [1, 5, 9]],
      ["too few signers", [1, 5]],
      ["too many signers", [1, 2, 3, 5]],
      ["a duplicate", [1, 1, 5]],
      ["without the coordinator", [1, 2, 3]],
    ];
    // Exactly these routes: other sessions' random routing ids may start with the same digits.
    const routes = new Set(bad.map((_, i) => `b${i}`.repeat(32)));
    for (const [i, [, signers]] of bad.entries())
      net.inject(ATTACKER, 1, { kind: "prepare", keyId: "relay", params: { operation: "sign", request, presignId: null, signers }, generation }, `b${i}`.repeat(32));
    await eventually(() => assert.equal(net.frames((e) => e.from === 1 && routes.has(e.frame.sessionId) && e.frame.body.kind === "refuse").length, bad.length));
    for (const [i, [what]] of bad.entries()) {
      const answers = net.frames((e) => e.from === 1 && e.frame.sessionId === `b${i}`.repeat(32));
      assert.deepEqual(
        answers.map((f) => f.body.kind),
        ["refuse"],
        `${what}: refused, no ready`,
      );
      assert.equal((answers[0]!.body as { code: string }).code, "invalid", what);
    }
    assert.equal(net.frames((e) => e.from === 1 && routes.has(e.frame.sessionId) && e.to !== ATTACKER).length, 0, "a refusal of a bad list goes to the coordinator only");

    // A good list, and a ready from party 4 that was not named: party 1 does not start on it.
    net.inject(ATTACKER, 1, { kind: "prepare", keyId: "relay", params: { operation: "sign", request, presignId: null, signers: [1, 2, 5] }, generation }, "c1".repeat(32));
    net.inject(4, 1, { kind: "ready", nonce: "44".repeat(32) }, "c1".repeat(32));
    net.inject(ATTACKER, 1, { kind: "ready", nonce: "55".repeat(32) }, "c1".repeat(32));
    await eventually(() => assert.equal(net.frames((e) => e.from === 1 && e.frame.sessionId === "c1".repeat(32) && e.frame.body.kind === "ready").length, 2));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(net.frames((e) => e.from === 1 && e.frame.sessionId === "c1".repeat(32) && e.frame.body.kind === "protocol").length, 0, "party 1 waits for party 2's ready");
    await assertKeyUsable(net, "relay", [ATTACKER], 1, address);
    assertNoHonestFault(net, HONEST);
  });
});
