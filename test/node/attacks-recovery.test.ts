/**
 * Attacks on refresh with members down and on share recovery (issue 14), in process: member 5 is the
 * attacker's, member 4 is down during a scheduled refresh and recovers afterwards. Each test asserts the
 * honest members' outcome: the key keeps its address, member 4 ends up with a share of the current
 * sharing (never anyone else's), and a signing session including it succeeds.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { addScalars } from "../../packages/mpc/src/curve.ts";
import { Reader, Writer } from "../../packages/mpc/src/encoding.ts";
import type { ProtocolMessage } from "../../packages/mpc/src/types.ts";
import { withOutgoing } from "../mpc/harness.ts";
import type { Certificate } from "../../relayer/node/frames.ts";
import { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import type { ProtocolSuite, ShareFacts } from "../../relayer/node/protocols.ts";
import { SessionError } from "../../relayer/node/session/index.ts";
import { coordinatorOf, slotAt, slotStart, windowAt, type RefreshSchedule } from "../../relayer/node/session/schedule.ts";
import { ALL, ATTACKER, eventually, InProcessNetwork, sendMessage } from "./inprocess.ts";

const SCHEDULE: RefreshSchedule = { periodMs: 3_000, graceMs: 1_500 };
const DOWN = 4;

/** Helper `party`'s recovery term to the target is off by one (its mask claims stay as they were). */
function lyingHelperSuite(): ProtocolSuite<ShareFacts, unknown> {
  const suite = mpcSuite as unknown as ProtocolSuite<ShareFacts, unknown>;
  return {
    ...suite,
    recover(p) {
      const inner = suite.recover(p);
      const corrupt = (messages: ProtocolMessage[]) =>
        messages.map((m) => {
          if (m.round !== 2 || m.to !== p.target || m.payload.length === 0) return m;
          const payload = Uint8Array.from(m.payload);
          payload.set(new Writer().scalar(addScalars(new Reader(payload.subarray(0, 32), "c").scalar(true), 1n)).finish(), 0);
          return { ...m, payload };
        });
      return withOutgoing(inner, corrupt);
    },
  };
}

/**
 * 2-of-5 key; member 4 is cut off while the members refresh on schedule (the first attempt finds it silent,
 * the second goes ahead without it). Returns the certificate that names member 4 awaiting, as it reaches 4.
 */
async function refreshWithoutMember(net: InProcessNetwork): Promise<{ address: string; oldGeneration: string; certificate: Promise<Certificate> }> {
  await net.approve({ operation: "keygen", keyId: "relay", parties: ALL, threshold: 2 });
  const key = await net.manager(1).keygen("relay", ALL, 2);
  await eventually(async () => assert.equal((await net.node(DOWN).store.getKey("relay"))?.status, "READY"));
  const certificate = new Promise<Certificate>((resolve) => (net.node(DOWN).commits.onAwaiting = resolve));
  net.isolate(DOWN);
  // The next slot whose first coordinator is up: it starts the slot's refresh (each member checks the slot by its own clock).
  let slot = slotAt(SCHEDULE, Date.now()) + 1;
  while (coordinatorOf(ALL, slot, 0) === DOWN) slot++;
  await new Promise((r) => setTimeout(r, slotStart(SCHEDULE, slot) - Date.now() + 10));
  assert.equal(windowAt(SCHEDULE, slot, Date.now()), 0);
  const refreshed = await net.manager(coordinatorOf(ALL, slot, 0)).refresh("relay", slot);
  assert.deepEqual(refreshed.participants, [1, 2, 3, 5]);
  assert.deepEqual(refreshed.generations.find((g) => g.id === refreshed.generation)?.awaiting, [DOWN]);
  assert.equal(refreshed.address, key.address);
  net.reconnect(DOWN);
  return { address: key.address!, oldGeneration: key.generation!, certificate };
}

/** Member 4 signs (as coordinator, so the session includes it) and the key's address is unchanged. */
async function signsWithDown(net: InProcessNetwork, address: string): Promise<void> {
  const request = sendMessage(net.chains());
  const result = await net.manager(DOWN).signFull("relay", request);
  assert.ok(result.signers.includes(DOWN));
  assert.equal((await net.node(DOWN).store.getKey("relay"))?.address, address);
}

describe("attacks: refresh with a member down, and share recovery", { timeout: 120_000 }, () => {
  let net: InProcessNetwork | null = null;
  afterEach(async () => {
    await net?.destroy();
    net = null;
  });

  it("a lying recovery helper is named and its term never stored; the member recovers from others, rejoins and signs", async () => {
    net = await InProcessNetwork.create({
      parties: ALL,
      schedule: SCHEDULE,
      suite: (party) => (party === ATTACKER ? lyingHelperSuite() : (mpcSuite as unknown as ProtocolSuite<ShareFacts, unknown>)),
    });
    const { address, oldGeneration, certificate } = await refreshWithoutMember(net);
    const awaited = await certificate;
    // Helpers 3 and 5 (the liar): the attempt fails naming 5, and member 4 still holds only its old share.
    await assert.rejects(net.manager(DOWN).recover(awaited, [1, 2]), (error: unknown) => error instanceof SessionError && error.avoid.includes(ATTACKER));
    const after = (await net.node(DOWN).store.getKey("relay"))!;
    assert.deepEqual(
      after.generations.map((g) => g.id),
      [oldGeneration],
    );
    // Avoiding the liar, it recovers the current sharing's share, rejoins (its old share goes) and signs.
    await net.manager(DOWN).recover(awaited, [ATTACKER]);
    const rejoined = (await net.node(DOWN).store.getKey("relay"))!;
    assert.deepEqual(rejoined.participants, ALL);
    assert.ok(!rejoined.generations.some((g) => g.id === oldGeneration || g.id === awaited.generation), "older sharings deleted here");
    await assert.rejects(net.node(DOWN).store.readShare("relay", oldGeneration));
    await signsWithDown(net, address);
  });

  it("a member can't obtain another member's share: the recovered index is the requester's own, and helpers check their own record", async () => {
    net = await InProcessNetwork.create({ parties: ALL, schedule: SCHEDULE });
    const { address, certificate } = await refreshWithoutMember(net);
    const awaited = await certificate;
    // Through its own node software, member 5 (a holder) gets nowhere: the recovered index is always the requester's.
    await assert.rejects(net.manager(ATTACKER).recover(awaited), (error: unknown) => error instanceof SessionError);
    // A dishonest member skips its own checks and asks the holders directly, with a certificate it edited to name
    // itself awaiting: each helper goes by its own record of the generation, which names only 4, and refuses.
    const forged: Certificate = { ...awaited, awaiting: [ATTACKER] };
    const route = "ab".repeat(32);
    for (const helper of [1, 2, 3]) net.inject(ATTACKER, helper, { kind: "prepare", keyId: "relay", params: { operation: "recover", certificate: forged }, generation: awaited.generation }, route);
    await eventually(() => {
      const answers = net!.frames((e) => e.to === ATTACKER && e.frame.sessionId === route).map((f) => f.body);
      assert.equal(answers.length, 3);
      for (const answer of answers) assert.ok(answer.kind === "refuse" && answer.code === "unauthorized", JSON.stringify(answer));
    });
    // The honest outcome: member 4 recovers its own share, rejoins and signs; the key is unchanged.
    await net.manager(DOWN).recover(awaited);
    await signsWithDown(net, address);
  });

  it("a refresh goes ahead without members only with 2t-1 present, whoever proposes it: otherwise every member keeps the old sharing", async () => {
    net = await InProcessNetwork.create({ parties: ALL, schedule: SCHEDULE });
    await net.approve({ operation: "keygen", keyId: "relay", parties: ALL, threshold: 3 });
    const key = await net.manager(1).keygen("relay", ALL, 3);
    for (const p of ALL) await eventually(async () => assert.equal((await net!.node(p).store.getKey("relay"))?.generation, key.generation));
    let slot = slotAt(SCHEDULE, Date.now()) + 1;
    while (coordinatorOf(ALL, slot, 0) === DOWN) slot++;
    await new Promise((r) => setTimeout(r, slotStart(SCHEDULE, slot) - Date.now() + 10));
    // 3-of-5 with member 4 down: 4 present < 2t-1 = 5, so the scheduled refresh does not go ahead.
    net.isolate(DOWN);
    await assert.rejects(net.manager(coordinatorOf(ALL, slot, 0)).refresh("relay", slot), (error: unknown) => error instanceof SessionError && error.kind === "unavailable");
    // The attacker proposes that slot's refresh naming two honest members absent: the others refuse it.
    const route = "cd".repeat(32);
    const proposer = coordinatorOf(ALL, slot, 0);
    net.reconnect(DOWN);
    for (const p of [1, 2, 3].filter((q) => q !== proposer)) {
      net.inject(proposer, p, { kind: "prepare", keyId: "relay", params: { operation: "refresh", slot, absent: [4, ATTACKER === proposer ? 1 : ATTACKER] }, generation: key.generation }, route);
    }
    await eventually(() => {
      const answers = net!.frames((e) => e.frame.sessionId === route && e.to === proposer).map((f) => f.body);
      assert.ok(answers.length >= 2 && answers.every((a) => a.kind === "refuse" && ["conflict", "invalid"].includes(a.code)), JSON.stringify(answers));
    });
    // Nothing changed: every member still holds, and signs with, the original sharing.
    for (const p of ALL) assert.equal((await net.node(p).store.getKey("relay"))?.generation, key.generation);
    const result = await net.manager(1).signFull("relay", sendMessage(net.chains()));
    assert.equal(result.signers.length, 3);
  });

  it("a signer falsely saying its sharing was replaced only costs a retry without it: the request is signed", async () => {
    net = await InProcessNetwork.create({ parties: ALL });
    await net.approve({ operation: "keygen", keyId: "relay", parties: ALL, threshold: 3 });
    const key = await net.manager(1).keygen("relay", ALL, 3);
    for (const p of ALL) await eventually(async () => assert.equal((await net!.node(p).store.getKey("relay"))?.generation, key.generation));
    let lies = 0;
    net.intercept(ATTACKER, (to, frame) => {
      if (frame.body.kind !== "protocol" || frame.body.protocol === "presign") return [frame];
      lies++;
      return [{ ...frame, body: { kind: "done", ok: false, detail: `superseded: generation ${key.generation!} was replaced by a commit` } }];
    });
    for (let i = 0; i < 6 && lies === 0; i++) {
      const before = lies;
      // Member 4 names the next members after it: 5 (the attacker) and 1.
      const result = await net.manager(4).signFull("relay", sendMessage(net.chains()));
      if (lies > before) assert.ok(!result.signers.includes(ATTACKER), "the retry goes without the claimant");
      assert.equal((await net.node(1).store.getKey("relay"))?.generation, key.generation, "nothing was replaced");
    }
    assert.ok(lies > 0, "the attacker was among the signers at least once");
  });
});
