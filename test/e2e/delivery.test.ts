/**
 * The whole system as separate processes (two hardhat chains, five signer
 * nodes holding a 3-of-5 key, the relayer), one devnet shared by every case:
 * both directions single and batched, a relayer crash mid-flight, a node
 * down, a reverting receiver, forged attestation requests and finality.
 * Deliveries are read from the target chains, not taken from the relayer.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Address, Hex } from "viem";
import { NodeApiError } from "../../relayer/node/api/client.ts";
import { mineBlocks, setMining } from "../../relayer/devnet/chains.ts";
import type { Devnet, DevnetChain } from "../../relayer/devnet/devnet.ts";
import { deliveredMessages, deployProbeReceiver, failedMessages, ProbeMode, probeReceiverAbi, sendMessages, setProbeMode, waitForAll, type SentMessage } from "../../relayer/devnet/traffic.ts";
import { destroyTestDevnet, eventually, startTestDevnet } from "./helpers.ts";

const BLOCK_MS = 300;
const CONFIRMATIONS = 2;

let devnet: Devnet;
let a: DevnetChain;
let b: DevnetChain;
const probes = new Map<DevnetChain, Address>();

async function received(chain: DevnetChain): Promise<bigint> {
  return chain.publicClient.readContract({ address: probes.get(chain)!, abi: probeReceiverAbi, functionName: "received" });
}

/** Asserts each message was delivered exactly once on `dst` and never recorded as failed. */
async function assertDeliveredOnce(dst: DevnetChain, sent: readonly SentMessage[]): Promise<void> {
  const deliveries = await deliveredMessages(dst);
  for (const { messageId } of sent) assert.equal(deliveries.filter((d) => d.messageId === messageId).length, 1, `${messageId} delivered exactly once on ${dst.name}`);
}

/** Sends `count` messages each way, waits for all of them and checks exactly-once delivery and the receivers' counters. */
async function roundTrip(count: number, timeoutMs = 60_000): Promise<{ ab: SentMessage[]; ba: SentMessage[] }> {
  const before = { a: await received(a), b: await received(b) };
  const [ab, ba] = await Promise.all([sendMessages(a, b, probes.get(b)!, count), sendMessages(b, a, probes.get(a)!, count)]);
  await Promise.all([
    waitForAll(
      b,
      ab.map((m) => m.messageId),
      timeoutMs,
    ),
    waitForAll(
      a,
      ba.map((m) => m.messageId),
      timeoutMs,
    ),
  ]);
  await assertDeliveredOnce(b, ab);
  await assertDeliveredOnce(a, ba);
  assert.equal(await received(b), before.b + BigInt(count), "the receiver on b ran once per message");
  assert.equal(await received(a), before.a + BigInt(count), "the receiver on a ran once per message");
  return { ab, ba };
}

function attestationRequest(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    type: "messageAttestation",
    srcChainId: a.chainId,
    dstChainId: b.chainId,
    targetGateway: b.deployment.contracts.TargetGateway,
    ...overrides,
  };
}

/** Asks every node, as coordinator, to sign `request`; each must refuse. Returns the reasons. */
async function refusedByEveryNode(request: Record<string, unknown>): Promise<string[]> {
  const reasons: string[] = [];
  for (const node of devnet.nodes) {
    await assert.rejects(node.client.sign(devnet.options.keyId, request), (error: unknown) => {
      assert.ok(error instanceof NodeApiError, `node ${node.index} answers with an API error`);
      assert.ok(error.status >= 400 && error.status < 500, `node ${node.index} refuses (HTTP ${error.status}: ${error.message})`);
      assert.doesNotMatch(error.message, /no validator|invalid signing request/, `node ${node.index} checked the chain, not just the request's shape`);
      reasons.push(error.message);
      return true;
    });
  }
  return reasons;
}

const randomId = (): Hex => `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`;

describe("end to end: chains, MPC nodes and relayer as processes", { timeout: 600_000 }, () => {
  before(async () => {
    // Staking has its own e2e file; here the nodes take their committee from their configs.
    devnet = await startTestDevnet({ blockTimeMs: BLOCK_MS, automine: true, confirmations: CONFIRMATIONS, staking: false, logLevel: "warn" });
    [a, b] = devnet.chains as [DevnetChain, DevnetChain];
    for (const chain of devnet.chains) probes.set(chain, await deployProbeReceiver(chain));
  });
  after(() => destroyTestDevnet(devnet));

  it("delivers single messages in both directions, each exactly once", async () => {
    const { ab } = await roundTrip(3);
    const status = await devnet.relayerStatus(ab[0]!.messageId);
    assert.equal(status?.state, "delivered", "the relayer reports the delivery");
  });

  it("a forged attestation request is refused by every node", async (t) => {
    const [real] = await sendMessages(a, b, probes.get(b)!, 1);
    await waitForAll(b, [real!.messageId], 30_000);
    const receipt = await a.publicClient.getTransactionReceipt({ hash: real!.txHash });
    const sentLog = receipt.logs.find((log) => log.address.toLowerCase() === a.deployment.contracts.SourceGateway.toLowerCase())!;

    // A message no SourceGateway ever sent.
    const forgeries: [string, Record<string, unknown>][] = [
      ["never sent", { messageId: randomId() }],
      ["another destination chain", { messageId: real!.messageId, dstChainId: a.chainId, targetGateway: a.deployment.contracts.TargetGateway }],
      ["another target gateway", { messageId: real!.messageId, targetGateway: probes.get(b)! }],
      ["real tx hash and log index, other id", { messageId: randomId(), txHash: real!.txHash, logIndex: sentLog.logIndex }],
      ["unknown source chain", { messageId: real!.messageId, srcChainId: 999_999 }],
    ];
    for (const [name, fields] of forgeries) {
      const reasons = await refusedByEveryNode(attestationRequest(fields));
      t.diagnostic(`${name}: ${reasons[0]}`);
    }
    // The genuine request, for contrast, is signed.
    const genuine = await devnet.node(2).client.sign(devnet.options.keyId, attestationRequest({ messageId: real!.messageId }));
    assert.equal(genuine.address.toLowerCase(), devnet.relayAddress!.toLowerCase());
  });

  it("a message is not signed or delivered before it is final, and is once it is", async () => {
    // Stop chain a's clock: the sending transaction gets its own block and nothing follows it.
    await setMining(a.rpcUrl, { automine: true, intervalMs: 0 });
    try {
      const [sent] = await sendMessages(a, b, probes.get(b)!, 1);
      const coordinates = { messageId: sent!.messageId, txHash: sent!.txHash };
      const reasons = await refusedByEveryNode(attestationRequest(coordinates));
      assert.ok(
        reasons.every((r) => /final|confirm/i.test(r)),
        `refused as not final: ${reasons[0]}`,
      );
      await new Promise((r) => setTimeout(r, 2_000));
      assert.equal((await deliveredMessages(b)).filter((d) => d.messageId === sent!.messageId).length, 0, "not delivered while not final");
      assert.notEqual((await devnet.relayerStatus(sent!.messageId))?.state, "delivered");

      await mineBlocks(a.rpcUrl, CONFIRMATIONS - 1);
      await waitForAll(b, [sent!.messageId], 30_000);
      await assertDeliveredOnce(b, [sent!]);
    } finally {
      await setMining(a.rpcUrl, { automine: true, intervalMs: BLOCK_MS });
    }
  });

  it("delivers with one node down (the relayer's first coordinator), then takes the node back", async () => {
    await devnet.stopNode(1, true);
    try {
      await roundTrip(2);
    } finally {
      await devnet.startNode(1);
    }
    const health = await devnet.node(1).client.health();
    assert.equal(health.ok, true);
  });

  it("a reverting receiver: stored as failed, retried, delivered once", async () => {
    const probe = probes.get(b)!;
    const before = await received(b);
    await setProbeMode(b, probe, ProbeMode.Revert);
    const [sent] = await sendMessages(a, b, probe, 1);
    const id = sent!.messageId;
    await eventually(
      async () =>
        assert.ok(
          (await failedMessages(b)).some((f) => f.messageId === id),
          "MessageFailed on b",
        ),
      30_000,
    );
    await eventually(async () => assert.equal((await devnet.relayerStatus(id))?.state, "failed"), 10_000);
    assert.equal((await deliveredMessages(b)).filter((d) => d.messageId === id).length, 0);

    await setProbeMode(b, probe, ProbeMode.Accept);
    await waitForAll(b, [id], 60_000);
    await assertDeliveredOnce(b, [sent!]);
    assert.equal(await received(b), before + 1n);
    await eventually(async () => assert.equal((await devnet.relayerStatus(id))?.state, "delivered"), 10_000);
  });

  it("the relayer killed mid-flight and restarted delivers every message exactly once", async (t) => {
    const before = { a: await received(a), b: await received(b) };
    const deliveredBefore = (await deliveredMessages(b)).length;
    const [ab, ba] = await Promise.all([sendMessages(a, b, probes.get(b)!, 16), sendMessages(b, a, probes.get(a)!, 4)]);
    // Crash as soon as the first of them lands: the rest are somewhere between seen and submitted.
    await eventually(async () => assert.ok((await deliveredMessages(b)).length > deliveredBefore), 30_000, 25);
    await devnet.stopRelayer(true);
    const deliveredAtCrash = (await deliveredMessages(b)).length - deliveredBefore;
    assert.ok(deliveredAtCrash < ab.length, `the crash came mid-flight (${deliveredAtCrash} of ${ab.length} delivered)`);
    t.diagnostic(`relayer killed with ${deliveredAtCrash} of ${ab.length} a->b messages delivered`);
    await devnet.startRelayer();
    await Promise.all([
      waitForAll(
        b,
        ab.map((m) => m.messageId),
        60_000,
      ),
      waitForAll(
        a,
        ba.map((m) => m.messageId),
        60_000,
      ),
    ]);
    await assertDeliveredOnce(b, ab);
    await assertDeliveredOnce(a, ba);
    assert.equal(await received(b), before.b + 16n);
    assert.equal(await received(a), before.a + 4n);
  });

  it("batch mode: one signature over many messages, both directions, each delivered once", async () => {
    await devnet.stopRelayer();
    await devnet.setBatchMode({ enabled: true, maxMessages: 50, maxWaitMs: 400 });
    await devnet.startRelayer();
    const { ab, ba } = await roundTrip(12);
    const perTx = (records: { txHash: Hex; messageId: Hex }[], ids: Set<Hex>) => {
      const counts = new Map<Hex, number>();
      for (const r of records) if (ids.has(r.messageId)) counts.set(r.txHash, (counts.get(r.txHash) ?? 0) + 1);
      return Math.max(...counts.values());
    };
    assert.ok(perTx(await deliveredMessages(b), new Set(ab.map((m) => m.messageId))) > 1, "a delivery transaction on b carried several messages");
    assert.ok(perTx(await deliveredMessages(a), new Set(ba.map((m) => m.messageId))) > 1, "a delivery transaction on a carried several messages");
  });
});
