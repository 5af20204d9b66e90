/**
 * Fork mode: two "live" networks (hardhat node processes on loopback, gateways and PingPong deployed
 * by scripts/deploy.ts as on a testnet), forked in-process by the kit, which installs its own relay on
 * the forks and carries a ping and its pong across them.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { network } from "hardhat";
import { createPublicClient, createWalletClient, http, parseEther, type PublicClient } from "viem";
import { configureRoute, deployAll, type Deployment } from "../../scripts/deploy.ts";
import { pingPongAbi, targetGatewayAbi } from "../../relayer/sdk/abi.ts";
import { freePort } from "../../relayer/shared/ports.ts";
import { MpcRelayTestKit, testKeyAttester, TestKitError } from "../../relayer/testkit/index.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const LIVE_RELAY = testKeyAttester("the live network's relay");

async function startLiveChain(chainId: number): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(ROOT, "node_modules/hardhat/dist/src/cli.js"), "node", "--hostname", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId)], {
    cwd: ROOT,
    stdio: "ignore",
  });
  const client = createPublicClient({ transport: http(url, { retryCount: 0 }) });
  for (let waited = 0; ; waited += 250) {
    try {
      if ((await client.getChainId()) === chainId) return { child, url };
    } catch (error) {
      if (waited > 60_000) throw new Error(`hardhat node for chain ${chainId} did not answer at ${url}`, { cause: error });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("test kit on forks of live networks", { timeout: 180_000 }, () => {
  const live: { child: ChildProcess; url: string; deployment: Deployment }[] = [];

  before(async () => {
    for (const [name, chainId] of [
      ["forkLiveA", 31401],
      ["forkLiveB", 31402],
    ] as const) {
      const chain = await startLiveChain(chainId);
      live.push({ ...chain, deployment: await deployAll({ rpcUrl: chain.url, networkName: name, relayAddress: LIVE_RELAY.address, outDir: null }) });
    }
    await configureRoute({ rpcUrl: live[0]!.url, deployment: live[0]!.deployment, remote: live[1]!.deployment });
    await configureRoute({ rpcUrl: live[1]!.url, deployment: live[1]!.deployment, remote: live[0]!.deployment });
  });

  after(async () => {
    await Promise.all(live.map(({ child }) => new Promise((r) => (child.exitCode !== null ? r(null) : (child.once("exit", r), child.kill())))));
  });

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
