/**
 * The test kit as a dapp developer uses it: in-process chains with the gateways, delivery on demand,
 * failures with their decoded reasons, retries, a threshold relay key, and relay rotation over time.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import hre, { network } from "hardhat";
import { getAddress, parseEther, recoverTypedDataAddress, stringToHex, type Abi, type Address, type Hex } from "viem";
import { sourceGatewayAbi, targetGatewayAbi, messageTypedData } from "@mpc-relay/sdk";
import { ProbeReceiver__factory, SourceGateway__factory } from "../../types/ethers-contracts/index.js";
import { MpcRelayTestKit, mpcAttester, testKeyAttester, TestKitError, type KitChain } from "@mpc-relay/testkit";

const A = 31337;
const B = 31338;

/** Deploys one of the project's example contracts on a kit chain, as a dapp deploys its own. */
async function deployOn(chain: KitChain<unknown>, name: string, args: readonly unknown[]): Promise<{ address: Address; abi: Abi }> {
  const { abi, bytecode } = await hre.artifacts.readArtifact(name);
  const hash = await chain.walletClient.deployContract({ abi, bytecode: bytecode as Hex, args, chain: chain.walletClient.chain });
  const { contractAddress } = await chain.publicClient.waitForTransactionReceipt({ hash });
  return { address: getAddress(contractAddress!), abi };
}

async function write(chain: KitChain<unknown>, address: Address, abi: Abi, functionName: string, args: readonly unknown[], value?: bigint): Promise<void> {
  const hash = await chain.walletClient.writeContract({ address, abi, functionName, args, value, chain: chain.walletClient.chain });
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success");
}

async function sendToProbe(from: KitChain<unknown>, probe: Address, to: bigint, payload: Hex): Promise<void> {
  const fee = await from.publicClient.readContract({ address: from.source, abi: sourceGatewayAbi, functionName: "quoteFee", args: [to, BigInt((payload.length - 2) / 2), 200_000n] });
  await write(from, from.source, sourceGatewayAbi, "sendMessage", [to, probe, payload, 200_000n], fee);
}

describe("test kit", () => {
  it("delivers a ping and the pong its receiver sends back, both ways, until nothing is pending", async () => {
    const kit = await MpcRelayTestKit.fromHardhat(network, [A, B]);
    const a = kit.chain(A);
    const b = kit.chain(B);
    assert.equal(BigInt(await b.publicClient.getChainId()), BigInt(B));
    const pingA = await deployOn(a, "PingPong", [a.source, a.target, a.walletClient.account.address]);
    const pingB = await deployOn(b, "PingPong", [b.source, b.target, b.walletClient.account.address]);
    await write(a, pingA.address, pingA.abi, "setPeer", [BigInt(B), pingB.address]);
    await write(b, pingB.address, pingB.abi, "setPeer", [BigInt(A), pingA.address]);
    await b.testClient.setBalance({ address: pingB.address, value: parseEther("1") }); // pays for the pong
    const fee = (await a.publicClient.readContract({ address: pingA.address, abi: pingA.abi, functionName: "quotePing", args: [BigInt(B)] })) as bigint;
    await write(a, pingA.address, pingA.abi, "ping", [BigInt(B)], fee);

    const [ping] = await kit.pending();
    assert.equal(ping!.message.dstChainId, BigInt(B));
    const deliveries = await kit.deliverAll();
    assert.deepEqual(
      deliveries.map((d) => [d.message.srcChainId, d.outcome]),
      [
        [BigInt(A), "delivered"],
        [BigInt(B), "delivered"],
      ],
      "the ping, then the pong it caused",
    );
    assert.equal(await b.publicClient.readContract({ address: pingB.address, abi: pingB.abi, functionName: "pingsReceived" }), 1n);
    assert.equal(await a.publicClient.readContract({ address: pingA.address, abi: pingA.abi, functionName: "pongsReceived" }), 1n);
    assert.deepEqual(await kit.pending(), []);
    await assert.rejects(kit.deliver(ping!.messageId), (e: unknown) => e instanceof TestKitError && /delivered already/.test(e.message));
    await assert.rejects(kit.deliver(`0x${"ab".repeat(32)}`), (e: unknown) => e instanceof TestKitError && /not sent/.test(e.message));
  });

  it("shows a reverting receiver's failure with its decoded reason, and a retry delivers once it accepts", async () => {
    const probeArtifact = await hre.artifacts.readArtifact("ProbeReceiver");
    const kit = await MpcRelayTestKit.fromHardhat(network, [A, B], { errorAbis: [probeArtifact.abi] });
    const a = kit.chain(A);
    const b = kit.chain(B);
    const probe = await deployOn(b, "ProbeReceiver", [b.target]);
    await write(b, probe.address, probe.abi, "setMode", [1]); // Revert
    await sendToProbe(a, probe.address, BigInt(B), stringToHex("hello"));

    const [delivery] = await kit.deliverAll();
    assert.equal(delivery!.outcome, "failed");
    assert.equal(delivery!.reason!.summary, `ProbeRejected(${stringToHex("hello")})`);
    const [failure] = await kit.failures();
    assert.equal(failure!.messageId, delivery!.messageId);
    assert.equal(failure!.receiver, probe.address);
    assert.deepEqual(await kit.pending(), [], "a failed message is received: only a retry runs it again");

    const refused = await kit.retry(delivery!.messageId);
    assert.deepEqual([refused.outcome, refused.txHash, refused.reason!.summary], ["failed", null, `ProbeRejected(${stringToHex("hello")})`]);
    await write(b, probe.address, probe.abi, "setMode", [0]); // Accept
    const retried = await kit.retry(delivery!.messageId);
    assert.equal(retried.outcome, "delivered");
    assert.equal(await b.publicClient.readContract({ address: probe.address, abi: probe.abi, functionName: "received" }), 1n);
    assert.deepEqual(await kit.failures(), []);
    await assert.rejects(kit.retry(delivery!.messageId), TestKitError);
  });

  it("without the receiver's ABI, shows the raw revert data", async () => {
    const kit = await MpcRelayTestKit.fromHardhat(network, [A, B]);
    const probe = await deployOn(kit.chain(B), "ProbeReceiver", [kit.chain(B).target]);
    await write(kit.chain(B), probe.address, probe.abi, "setMode", [1]);
    await sendToProbe(kit.chain(A), probe.address, BigInt(B), "0x01");
    const [delivery] = await kit.deliverAll();
    assert.match(delivery!.reason!.summary, /^undecoded revert data 0x[0-9a-f]{8}/);
  });

  it("attests with a real 2-of-3 threshold key, and rotates the relay to another key over time", async () => {
    const threshold = mpcAttester({ parties: 3, threshold: 2 });
    const kit = await MpcRelayTestKit.fromHardhat(network, [A, B], { attester: threshold, rotationDelay: 3600n, retentionWindow: 600n });
    const a = kit.chain(A);
    const b = kit.chain(B);
    assert.equal(await b.publicClient.readContract({ address: b.target, abi: targetGatewayAbi, functionName: "relay" }), threshold.address);
    const probe = await deployOn(b, "ProbeReceiver", [b.target]);
    await sendToProbe(a, probe.address, BigInt(B), "0x02");
    const [sent] = await kit.pending();
    const signature = await threshold.signTypedData(messageTypedData(sent!.message, b.target));
    assert.equal(await recoverTypedDataAddress({ ...messageTypedData(sent!.message, b.target), signature } as never), threshold.address, "the threshold signature recovers to the relay address");
    assert.equal((await kit.deliver(sent!.messageId)).outcome, "delivered");

    const next = testKeyAttester("next relay");
    await kit.rotateRelay(next);
    assert.equal(kit.relay, next.address);
    assert.equal(await a.publicClient.readContract({ address: a.target, abi: targetGatewayAbi, functionName: "relay" }), next.address);
    assert.equal(
      await b.publicClient.readContract({ address: b.target, abi: targetGatewayAbi, functionName: "isRelay", args: [threshold.address] }),
      true,
      "the old relay stays valid for the retention window",
    );
    await kit.increaseTime(601);
    assert.equal(await b.publicClient.readContract({ address: b.target, abi: targetGatewayAbi, functionName: "isRelay", args: [threshold.address] }), false, "then it expires");
    await sendToProbe(a, probe.address, BigInt(B), "0x03");
    assert.equal((await kit.deliverAll())[0]!.outcome, "delivered", "the new relay delivers");

    await assert.rejects(kit.rotateRelay(testKeyAttester("too soon")), "a second rotation must wait for the rotation delay");
    await kit.increaseTime(3600);
    await kit.rotateRelay(testKeyAttester("later"));
    assert.equal(await b.publicClient.readContract({ address: b.target, abi: targetGatewayAbi, functionName: "relay" }), testKeyAttester("later").address);
  });

  it("serves ethers users: each kit chain's Hardhat connection carries ethers, and TypeChain factories deploy on it", async () => {
    const kit = await MpcRelayTestKit.fromHardhat(network, [A, B]);
    const { ethers: ethersA } = kit.chain(A).connection!;
    const { ethers: ethersB } = kit.chain(B).connection!;
    const [senderA] = await ethersA.getSigners();
    const [deployerB] = await ethersB.getSigners();
    const probe = await new ProbeReceiver__factory(deployerB).deploy(kit.chain(B).target);
    const source = SourceGateway__factory.connect(kit.chain(A).source, senderA);
    const fee = await source.quoteFee(BigInt(B), 2n, 200_000n);
    await (await source["sendMessage(uint64,address,bytes,uint64)"](BigInt(B), await probe.getAddress(), "0xbeef", 200_000n, { value: fee })).wait();
    assert.equal((await kit.deliverAll())[0]!.outcome, "delivered");
    assert.equal(await probe.lastPayload(), "0xbeef");
  });

  it("refuses fewer than two chains and two chains with one chain id", async () => {
    const { viem } = await network.create({ override: { chainId: A } });
    const [walletClient] = await viem.getWalletClients();
    const clients = { publicClient: await viem.getPublicClient(), walletClient: walletClient!, testClient: await viem.getTestClient() };
    await assert.rejects(MpcRelayTestKit.deploy([clients]), /at least two chains/);
    await assert.rejects(MpcRelayTestKit.deploy([clients, clients]), /share chain id 31337/);
  });
});
