/**
 * A malicious committee member against sessions and share replacement
 * (issue 10 findings 2, 4, 6 and 9), with the real session layer in process:
 * reused session ids, withheld, duplicated and reordered messages, withheld
 * confirmations, a ban landing after a refresh, and refused requests against
 * the presignature pool. Each test checks the honest members' outcome.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { CURVE_ORDER } from "../../packages/mpc/src/curve.ts";
import type { ProtocolInstance, ProtocolMessage } from "@mpc-relay/mpc";
import { StaticPeerDirectory } from "../../relayer/node/directory.ts";
import { DEALING_ROUNDS } from "../../packages/mpc/src/dkg.ts";
import type { Frame, FrameBody } from "../../relayer/node/frames.ts";
import { createLogger } from "../../relayer/shared/log.ts";
import { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import { PresignPool } from "../../relayer/node/pool.ts";
import type { ProtocolSuite, ShareFacts } from "../../relayer/node/protocols.ts";
import { NodeService } from "../../relayer/node/service.ts";
import { SessionError } from "../../relayer/node/session/index.ts";
import { assertKeySecret, assertKeyUsable, assertNoHonestFault } from "./honest.ts";
import { ALL, ATTACKER, HONEST, keyedNetworks, eventually, InProcessNetwork, sendMessage } from "./inprocess.ts";

const networks = keyedNetworks();
const withKey = networks.withKey;
afterEach(() => networks.destroy());

const generationsOf = async (n: InProcessNetwork, party: number) => (await n.node(party).store.getKey("relay"))!.generations;

describe("a malicious member against sessions", { timeout: 180_000 }, () => {
  it("finding 2: runs under one proposal id get different session ids, so no honest member can be framed", async () => {
    // The attacker coordinates twice under the same proposal id.
    const route = "5e".repeat(32);
    const { net, publicKey, address } = await withKey({
      parties: ALL,
      proposalIds: (party) => (party === ATTACKER ? () => route : undefined),
    });
    await net.approve({ operation: "keygen", keyId: "first", parties: ALL, threshold: 3 });
    await net.approve({ operation: "keygen", keyId: "second", parties: ALL, threshold: 3 });
    await net.manager(ATTACKER).keygen("first", ALL, 3);
    // A member still finishing the first run drops a prepare on its route id: the attacker reuses it once all are done.
    await eventually(
      () =>
        assert.deepEqual(
          ALL.map((p) => net.manager(p).activeSessions()),
          [0, 0, 0, 0, 0],
        ),
      30_000,
    );
    await net.manager(ATTACKER).keygen("second", ALL, 3);
    const sessionsOf1 = new Set(
      net
        .node(1)
        .signed.filter((s) => s.message.protocol === "keygen" && s.message.keyId !== "relay")
        .map((s) => Buffer.from(s.message.sessionId).toString("hex")),
    );
    assert.ok(sessionsOf1.size >= 2, "party 1 spoke in both runs, under two different session ids");

    // A `start` that carries an honest member's nonce from an earlier proposal is refused: each prepare gets a fresh nonce.
    const params = { operation: "keygen" as const, parties: [1, 5], threshold: 2 };
    await net.approve({ ...params, keyId: "replay" }, [1]);
    const readyOn = async (route: string): Promise<string> => {
      net.inject(ATTACKER, 1, { kind: "prepare", keyId: "replay", params, generation: null }, route);
      await eventually(() => assert.equal(net.frames((e) => e.from === 1 && e.frame.sessionId === route && e.frame.body.kind === "ready").length, 1));
      return (net.frames((e) => e.from === 1 && e.frame.sessionId === route && e.frame.body.kind === "ready")[0]!.body as { nonce: string }).nonce;
    };
    const oldNonce = await readyOn("a1".repeat(32));
    net.inject(ATTACKER, 1, { kind: "abort", reason: "try again" }, "a1".repeat(32));
    await eventually(async () => assert.equal((await net.node(1).store.getKey("replay"))?.status, "ERROR"));
    const newNonce = await readyOn("a2".repeat(32));
    assert.notEqual(newNonce, oldNonce);
    net.inject(
      ATTACKER,
      1,
      {
        kind: "start",
        participants: [1, 5],
        dealers: null,
        nonces: [
          { party: 1, nonce: oldNonce },
          { party: 5, nonce: "ee".repeat(32) },
        ],
      },
      "a2".repeat(32),
    );
    await eventually(() => assert.equal(net.frames((e) => e.from === 1 && e.frame.sessionId === "a2".repeat(32) && e.frame.body.kind === "done").length, 1));
    // Exactly the two injected routes: other sessions' random routing ids may start with the same digits.
    const injected = new Set(["a1".repeat(32), "a2".repeat(32)]);
    assert.equal(net.frames((e) => e.from === 1 && e.frame.body.kind === "protocol" && injected.has(e.frame.sessionId)).length, 0, "party 1 never spoke under a replayed nonce");

    await assertKeySecret(net, "relay", [ATTACKER], publicKey);
    await assertKeyUsable(net, "relay", [ATTACKER], 2, address);
    assertNoHonestFault(net, HONEST);
  });

  it("finding 4: a refresh whose last message and confirmation are withheld leaves the honest members on a common sharing", async () => {
    // The withheld round ends by timeout; the rest of the refresh must fit in it on a loaded machine.
    const { net, publicKey, address } = await withKey({ parties: ALL, timeouts: { keygenRoundMs: 4_000 } });
    const before = (await net.node(1).store.getKey("relay"))!.generation!;
    // The attacker withholds its last dealing message from party 1, and its confirmation from everyone.
    net.intercept(ATTACKER, (to, frame) => {
      const body = frame.body;
      if (body.kind === "confirm" || body.kind === "certificate") return [];
      if (to === 1 && body.kind === "protocol" && body.protocol === "refresh" && body.round === DEALING_ROUNDS) return [];
      return [frame];
    });
    await assert.rejects(net.manager(2).refresh("relay"), (error: unknown) => error instanceof SessionError);
    await eventually(async () => {
      for (const party of [2, 3, 4]) assert.equal((await generationsOf(net, party)).length, 2, `party ${party} holds the new generation uncommitted`);
    });
    assert.equal((await generationsOf(net, 1)).length, 1, "party 1 never finished the refresh");
    for (const party of HONEST) assert.equal((await net.node(party).store.getKey("relay"))!.generation, before, `party ${party} still signs with the old sharing`);
    for (const coordinator of [1, 3]) await assertKeyUsable(net, "relay", [ATTACKER], coordinator, address);

    // The attacker releases its confirmation to one honest member: with party 1's missing, nothing commits.
    const attackerGeneration = (await generationsOf(net, ATTACKER)).find((g) => g.id !== before)!;
    net.intercept(ATTACKER, null);
    const statement = {
      keyId: "relay",
      generation: attackerGeneration.id,
      threshold: 3,
      parties: ALL,
      publicKey,
      digest: attackerGeneration.digest!,
      signature: attackerGeneration.confirmations["5"]!,
    };
    net.inject(ATTACKER, 2, { kind: "confirm", ...statement });
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const party of HONEST) assert.equal((await net.node(party).store.getKey("relay"))!.generation, before);
    await assertKeyUsable(net, "relay", [ATTACKER], 4, address);

    // The next refresh commits everywhere and takes both older sharings away.
    const refreshed = await net.manager(3).refresh("relay");
    assert.notEqual(refreshed.generation, before);
    await eventually(async () => {
      for (const party of ALL)
        assert.deepEqual(
          (await generationsOf(net, party)).map((g) => g.id),
          [refreshed.generation],
          `party ${party} converged`,
        );
    });
    await assertKeySecret(net, "relay", [ATTACKER], publicKey);
    await assertKeyUsable(net, "relay", [ATTACKER], 1, address);
    assertNoHonestFault(net, HONEST);
  });

  it("finding 4: a reshare whose new member withholds cannot lose the key; a late confirmation commits it everywhere", async () => {
    const { net } = await withKey({ parties: [...ALL, 6], timeouts: { keygenRoundMs: 4_000 } });
    const key = (await net.node(1).store.getKey("relay"))!;
    const newCommittee = [1, 2, 3, 4, 6];
    await net.approve({ operation: "reshare", keyId: "relay", publicKey: key.publicKey!, oldParties: ALL, newParties: newCommittee, newThreshold: 3 });
    // New member 6 is the attacker here: it withholds its confirmation.
    let withheld: Extract<FrameBody, { kind: "confirm" }> | null = null;
    net.intercept(6, (_to, frame) => {
      if (frame.body.kind === "certificate") return [];
      if (frame.body.kind !== "confirm") return [frame];
      withheld = frame.body;
      return [];
    });
    await assert.rejects(net.manager(2).reshare("relay", newCommittee, 3), (error: unknown) => error instanceof SessionError && error.kind === "unavailable");
    assert.equal((await net.node(5).store.getKey("relay"))?.status, "READY", "the leaver keeps its share: the reshare did not commit");
    for (const party of [1, 2, 3, 4]) assert.equal((await net.node(party).store.getKey("relay"))!.generation, key.generation);
    await assertKeyUsable(net, "relay", [6], 1, key.address!);

    // Released to one member only, the confirmation completes the certificate there; it spreads to all.
    net.intercept(6, null);
    net.inject(6, 1, withheld!);
    await eventually(async () => {
      for (const party of newCommittee) assert.notEqual((await net.node(party).store.getKey("relay"))?.generation ?? key.generation, key.generation, `party ${party} committed`);
      assert.equal(await net!.node(5).store.getKey("relay"), null, "the leaver deleted its share once every new holder confirmed");
    });
    await assertKeySecret(net, "relay", [6], key.publicKey!);
    await assertKeyUsable(net, "relay", [6], 3, key.address!);
    assertNoHonestFault(net, [1, 2, 3, 4, 5]);
  });

  it("finding 6: a ban raised after a refresh never writes the old share back", async () => {
    // The attacker's presign sends party 1 a bad Gamma_u, which makes party 1 ban it.
    const generator = Buffer.from("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", "hex");
    const corrupt = <R>(instance: ProtocolInstance<R>): ProtocolInstance<R> => {
      const bad = (messages: ProtocolMessage[]) =>
        messages.map((m) =>
          m.to === 1 && m.round === 2 ? { ...m, payload: Uint8Array.from(Buffer.concat([m.payload.subarray(0, m.payload.length - 98), generator, m.payload.subarray(m.payload.length - 65)])) } : m,
        );
      return new Proxy(instance, {
        get(target, prop, receiver) {
          if (prop === "start") return () => bad(target.start());
          if (prop === "receive") return (m: ProtocolMessage) => bad(target.receive(m));
          return Reflect.get(target, prop, receiver);
        },
      });
    };
    const attackerSuite = { ...mpcSuite, presign: (p: Parameters<typeof mpcSuite.presign>[0]) => corrupt(mpcSuite.presign(p)) };
    const { net, address } = await withKey({
      parties: ALL,
      suite: (party) => (party === ATTACKER ? attackerSuite : mpcSuite) as unknown as ProtocolSuite<ShareFacts, unknown>,
      timeouts: { roundMs: 20_000 },
    });
    // Hold the attacker's round-2 presign message to party 1 until a refresh has committed.
    const held: Frame[] = [];
    net.intercept(ATTACKER, (to, frame) => {
      if (to === 1 && frame.body.kind === "protocol" && frame.body.protocol === "presign" && frame.body.round === 2) {
        held.push(frame);
        return [];
      }
      return [frame];
    });
    net.isolate(2);
    net.isolate(3);
    const presign = net
      .manager(1)
      .presign("relay")
      .catch((error: unknown) => error);
    await eventually(() => assert.ok(held.length >= 1));
    net.reconnect(2);
    net.reconnect(3);
    const refreshed = await net.manager(2).refresh("relay");
    const share = await net.node(1).store.readShare("relay", refreshed.generation!);
    // Now the bad message arrives: party 1 bans the attacker in the generation that presign used, which is gone.
    net.intercept(ATTACKER, null);
    for (const frame of held) net.inject(ATTACKER, 1, frame.body, frame.sessionId);
    const outcome = await presign;
    assert.ok(outcome instanceof SessionError, "the presign fails");
    assert.match(outcome.message, /party 5/, "party 1 found the attacker's bad multiplication values");
    const after = (await net.node(1).store.getKey("relay"))!;
    assert.equal(after.generation, refreshed.generation);
    assert.deepEqual(
      after.generations.map((g) => g.banned),
      [[]],
      "the new generation has no ban",
    );
    assert.deepEqual(await net.node(1).store.readShare("relay"), share, "the refreshed share is untouched");
    await assertKeyUsable(net, "relay", [ATTACKER], 1, address);
  });

  it("finding 9: refused signing requests consume no presignature anywhere", async () => {
    const { net, address } = await withKey();
    const directory = new StaticPeerDirectory(ALL.map((index) => ({ index, peerId: net.node(index).identity.peerId, address: "" })));
    const log = createLogger({}, "error", () => {});
    const node1 = net.node(1);
    const pool = new PresignPool(1, node1.store, node1.manager, 4, log, node1.metrics);
    const service = new NodeService(1, node1.identity.peerId, node1.store, node1.manager, node1.approvals, pool, directory, () => 4, log, node1.metrics, 2);
    await service.sign("relay", sendMessage(net.chains())); // joins the pool
    pool.start();
    await eventually(() => assert.equal(pool.size("relay"), 4), 30_000);
    pool.stop();
    const presigns = async () => (await Promise.all(ALL.map((p) => net.node(p).store.listPresigns("relay")))).flat().filter((p) => !p.consumed).length;
    const unused = await presigns();
    // Eight requests for a message only the coordinator's chain knows: every other signer refuses it.
    for (let i = 0; i < 8; i++) {
      await assert.rejects(service.sign("relay", sendMessage(net.chains([1]))), (error: unknown) => error instanceof SessionError && error.kind === "rejected");
    }
    assert.equal(pool.size("relay"), 4, "the pool is as full as before");
    assert.equal(await presigns(), unused, "no signer consumed a presignature");
    const view = await service.sign("relay", sendMessage(net.chains()));
    assert.equal(view.presigned, true, "a genuine request still signs from the pool");
    assert.equal(view.address, address);
  });

  it("a member can't wear the others out with refreshes or fill their stores with presignatures", async () => {
    const { net, address } = await withKey({ parties: ALL, limits: { minRefreshIntervalMs: 60_000, maxPresignaturesPerOwner: 2 } });
    await assert.rejects(net.manager(ATTACKER).refresh("relay"), (error: unknown) => error instanceof SessionError && error.kind === "conflict" && /less than 60000 ms ago/.test(error.message));
    // Bypassing its own node's check changes nothing: every honest member refuses by itself.
    const generation = (await net.node(1).store.getKey("relay"))!.generation;
    for (const to of HONEST) net.inject(ATTACKER, to, { kind: "prepare", keyId: "relay", params: { operation: "refresh" }, generation }, "f1".repeat(32));
    await eventually(() => assert.equal(net.frames((e) => e.frame.sessionId === "f1".repeat(32) && e.frame.body.kind === "refuse").length, HONEST.length));
    const refreshFrames = () => net.frames((e) => HONEST.includes(e.from) && e.frame.body.kind === "protocol" && (e.frame.body as { protocol: string }).protocol === "refresh").length;
    assert.equal(refreshFrames(), 0, "nobody dealt");
    await net.manager(ATTACKER).presign("relay");
    await net.manager(ATTACKER).presign("relay");
    await assert.rejects(net.manager(ATTACKER).presign("relay"), (error: unknown) => error instanceof SessionError && /already has 2 unused presignatures/.test(error.message));
    for (const party of HONEST) assert.ok((await net.node(party).store.listPresigns("relay")).filter((p) => p.owner === ATTACKER).length <= 2);
    await assertKeyUsable(net, "relay", [ATTACKER], 1, address);
  });

  it("a proposal that never starts keeps no key busy", async () => {
    const { net, address } = await withKey();
    const generation = (await net.node(1).store.getKey("relay"))!.generation;
    const routes = new Set(Array.from({ length: 5 }, (_, i) => `f${i}`.repeat(32)));
    for (const route of routes) for (const to of HONEST) net.inject(ATTACKER, to, { kind: "prepare", keyId: "relay", params: { operation: "refresh" }, generation }, route);
    await eventually(() => assert.equal(net.frames((e) => e.frame.body.kind === "ready" && routes.has(e.frame.sessionId)).length, 5 * HONEST.length), 15_000);
    // The honest members answered, and the attacker walks away: an honest refresh goes ahead at once.
    const refreshed = await net.manager(1).refresh("relay");
    assert.notEqual(refreshed.generation, generation);
    await assertKeyUsable(net, "relay", [ATTACKER], 2, address);
  });

  it("duplicated, reordered and forged protocol messages end the session cleanly", async () => {
    const { net, publicKey, address } = await withKey({ parties: ALL, timeouts: { roundMs: 1_500, keygenRoundMs: 1_500 } });
    const cases: [string, (to: number, frame: Frame) => Frame[]][] = [
      ["duplicated", (_to, frame) => (frame.body.kind === "protocol" ? [frame, { ...frame, id: frame.id.replace(/^./, (c) => (c === "0" ? "1" : "0")) }] : [frame])],
      [
        "reordered",
        (() => {
          const queue: Frame[] = [];
          return (_to: number, frame: Frame) => {
            if (frame.body.kind !== "protocol") return [frame];
            queue.push(frame);
            return queue.length >= 3 ? queue.splice(0).reverse() : [];
          };
        })(),
      ],
      [
        "altered",
        (_to, frame) =>
          frame.body.kind === "protocol"
            ? [{ ...frame, body: { ...frame.body, payload: Buffer.from(Buffer.from(frame.body.payload, "base64").map((b, i) => (i === 40 ? b ^ 1 : b))).toString("base64") } }]
            : [frame],
      ],
    ];
    for (const [name, interceptor] of cases) {
      net.intercept(ATTACKER, interceptor);
      const outcome = await net
        .manager(2)
        .signFull("relay", sendMessage(net.chains()), 1, [3, 4])
        .then(
          () => "signed",
          (error: unknown) => (error instanceof SessionError ? `${error.kind}: ${error.message}` : String(error)),
        );
      assert.match(outcome, /^(signed|failed|unavailable)/, `${name}: ${outcome}`);
      net.intercept(ATTACKER, null);
      await assertKeySecret(net, "relay", [ATTACKER], publicKey);
      await assertKeyUsable(net, "relay", [ATTACKER], 2, address);
    }
    assertNoHonestFault(net, HONEST);
    assert.ok(CURVE_ORDER > 0n);
  });
});
