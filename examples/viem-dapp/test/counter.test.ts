/** The counter across two in-process chains, relayed by the mpc-relay test kit. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import hre, { network } from "hardhat";
import { MpcRelayClient } from "@mpc-relay/sdk";
import { MpcRelayTestKit, mpcAttester } from "@mpc-relay/testkit";

const A = 31337;
const B = 31338;

/** A kit with a counter on each chain, each the other's peer. */
async function setUp(options: Parameters<typeof MpcRelayTestKit.fromHardhat>[2] = {}) {
  const kit = await MpcRelayTestKit.fromHardhat(network, [A, B], options);
  const [a, b] = [kit.chain(A), kit.chain(B)];
  const counterA = await a.connection.viem.deployContract("CrossChainCounter", [a.source, a.target]);
  const counterB = await b.connection.viem.deployContract("CrossChainCounter", [b.source, b.target]);
  await counterA.write.setPeer([BigInt(B), counterB.address]);
  await counterB.write.setPeer([BigInt(A), counterA.address]);
  return { kit, a, b, counterA, counterB };
}

describe("CrossChainCounter over mpc-relay", () => {
  it("counts increments sent both ways", async () => {
    const { kit, counterA, counterB } = await setUp();
    await counterA.write.increment([BigInt(B), 5n], { value: await counterA.read.quote([BigInt(B)]) });
    await counterB.write.increment([BigInt(A), 7n], { value: await counterB.read.quote([BigInt(A)]) });
    assert.equal((await kit.deliverAll()).length, 2);
    assert.equal(await counterB.read.received([BigInt(A)]), 5n);
    assert.equal(await counterA.read.received([BigInt(B)]), 7n);
  });

  it("shows a refused increment's reason, and delivers it by a retry once the cap allows it", async () => {
    const { abi } = await hre.artifacts.readArtifact("CrossChainCounter");
    const { kit, a, b, counterA, counterB } = await setUp({ errorAbis: [abi] });
    await counterB.write.setCap([10n]);
    await counterA.write.increment([BigInt(B), 50n], { value: await counterA.read.quote([BigInt(B)]) });
    const [delivery] = await kit.deliverAll();
    assert.equal(delivery!.outcome, "failed");
    const [failure] = await kit.failures();
    assert.equal(failure!.reason.summary, "OverCap(50, 10)");

    // The SDK tells the same story from the chains alone (no relayer in a test).
    const sdk = new MpcRelayClient({ source: { publicClient: a.publicClient, gateway: a.source }, destinations: { [B]: { publicClient: b.publicClient, gateway: b.target } } });
    assert.equal((await sdk.status(delivery!.messageId)).state, "failed");
    await counterB.write.setCap([100n]);
    assert.equal((await sdk.status(delivery!.messageId)).state, "retryable");

    assert.equal((await kit.retry(delivery!.messageId)).outcome, "delivered");
    assert.equal(await counterB.read.received([BigInt(A)]), 50n);
    assert.equal((await sdk.status(delivery!.messageId)).state, "delivered");
  });

  it("relays the same way with a real 2-of-3 threshold key as the relay", async () => {
    const { kit, counterA, counterB } = await setUp({ attester: mpcAttester({ parties: 3, threshold: 2 }) });
    await counterA.write.increment([BigInt(B), 3n], { value: await counterA.read.quote([BigInt(B)]) });
    await kit.deliverAll();
    assert.equal(await counterB.read.received([BigInt(A)]), 3n);
  });
});
