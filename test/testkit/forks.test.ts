/**
 * Fork mode: two "live" networks (hardhat node processes on loopback, gateways and PingPong deployed
 * by scripts/deploy.ts as on a testnet), forked in-process by the kit, which installs its own relay on
 * the forks and carries a ping and its pong across them.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { network } from "hardhat";
import { createPublicClient, createWalletClient, http, parseEther, type PublicClient } from "viem";
import { startLiveNetworks, type LiveNetwork } from "../../scripts/lib/live-networks.ts";
import { pingPongAbi, targetGatewayAbi } from "@mpc-relay/sdk";
import { MpcRelayTestKit, testKeyAttester, TestKitError } from "@mpc-relay/testkit";

const LIVE_RELAY = testKeyAttester("the live network's relay");

describe("test kit on forks of live networks", { timeout: 180_000 }, () => {
  let live: LiveNetwork[] = [];
  let stop = async () => {};

  before(async () => {
    ({ networks: live, stop } = await startLiveNetworks(
      [
        { name: "forkLiveA", chainId: 31401 },
        { name: "forkLiveB", chainId: 31402 },
      ],
      LIVE_RELAY.address,
    ));
  });

  after(() => stop());

  it("installs its relay on both forks and carries a ping and its pong across them, leaving the live networks untouched", async () => {
    const [liveA, liveB] = live as [(typeof live)[0], (typeof live)[0]];
    const pingPong = liveA.deployment.contracts.PingPong;
    // A ping sent on the live network before the fork belongs to the live relayers, not to the kit.
    const liveClient = createPublicClient({ transport: http(liveA.url) }) as PublicClient;
    const [deployer] = await createWalletClient({ transport: http(liveA.url) }).getAddresses();
    const liveWallet = createWalletClient({ account: deployer!, transport: http(liveA.url) });
    const fee = await liveClient.readContract({ address: pingPong, abi: pingPongAbi, functionName: "quotePing", args: [31402n] });
    const before = await liveWallet.writeContract({ address: pingPong, abi: pingPongAbi, functionName: "ping", args: [31402n], value: fee, chain: null });
    assert.equal((await liveClient.waitForTransactionReceipt({ hash: before })).status, "success");

    const kit = await MpcRelayTestKit.fromForks(network, [
      { url: liveA.url, deployment: liveA.deployment },
      { url: liveB.url, deployment: liveB.deployment },
    ]);
    const a = kit.chain(31401);
    const b = kit.chain(31402);
    assert.deepEqual(await kit.pending(), [], "history before the fork is not the kit's to deliver");
    for (const chain of [a, b]) assert.equal(await chain.publicClient.readContract({ address: chain.target, abi: targetGatewayAbi, functionName: "relay" }), kit.relay);
    assert.notEqual(kit.relay, LIVE_RELAY.address);

    await b.testClient.setBalance({ address: liveB.deployment.contracts.PingPong, value: parseEther("1") }); // pays for the pong
    const hash = await a.walletClient.writeContract({ address: pingPong, abi: pingPongAbi, functionName: "ping", args: [31402n], value: fee, chain: a.walletClient.chain });
    await a.publicClient.waitForTransactionReceipt({ hash });
    const deliveries = await kit.deliverAll();
    assert.deepEqual(
      deliveries.map((d) => [d.message.srcChainId, d.outcome]),
      [
        [31401n, "delivered"],
        [31402n, "delivered"],
      ],
    );
    assert.equal(await a.publicClient.readContract({ address: pingPong, abi: pingPongAbi, functionName: "pongsReceived" }), 1n);

    const liveTarget = createPublicClient({ transport: http(liveB.url) });
    assert.equal(
      await liveTarget.readContract({ address: liveB.deployment.contracts.TargetGateway, abi: targetGatewayAbi, functionName: "relay" }),
      LIVE_RELAY.address,
      "the live network still trusts its own relay",
    );
    assert.equal(await liveTarget.readContract({ address: liveB.deployment.contracts.PingPong, abi: pingPongAbi, functionName: "pingsReceived" }), 0n);
  });

  it("names the chain, the contract and the cause when a deployment does not match the network", async () => {
    const [liveA, liveB] = live as [(typeof live)[0], (typeof live)[0]];
    const withTarget = (TargetGateway: `0x${string}`) => ({ ...liveB.deployment, contracts: { ...liveB.deployment.contracts, TargetGateway } });
    const forks = (target: `0x${string}`) => [
      { url: liveA.url, deployment: liveA.deployment },
      { url: liveB.url, deployment: withTarget(target) },
    ];
    await assert.rejects(
      MpcRelayTestKit.fromForks(network, forks("0x00000000000000000000000000000000000000aa")),
      (e: unknown) => e instanceof TestKitError && /TargetGateway 0x0{38}[aA]{2} has no code on chain 31402/.test(e.message),
    );
    await assert.rejects(
      MpcRelayTestKit.fromForks(network, forks(liveB.deployment.contracts.PingPong)),
      (e: unknown) => e instanceof TestKitError && /TargetGateway 0x[0-9a-fA-F]{40} on chain 31402: is it a TargetGateway\?/.test(e.message) && e.cause !== undefined,
    );
  });
});
