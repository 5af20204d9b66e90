/** scripts/deploy.ts against two JSON-RPC servers on 127.0.0.1, as the devnet runs it against `hardhat node`. */
import "./helpers.ts";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { network } from "hardhat";
import { createPublicClient, http, zeroAddress } from "viem";
import { pingPongAbi, sourceGatewayAbi, targetGatewayAbi } from "@mpc-relay/sdk";
import { configureRoute, defaultRouteFee, deployAll, readDeployment } from "../../relayer/deploy/deploy.ts";
import { testAccount } from "./helpers.ts";

async function startChain(chainId: number) {
  const server = await network.createServer({ override: { chainId } }, "127.0.0.1", 0);
  const { address, port } = await server.listen();
  return { server, rpcUrl: `http://${address}:${port}` };
}

describe("scripts/deploy.ts", async () => {
  const outDir = await mkdtemp(path.join(tmpdir(), "mpc-relay-deploy-"));
  const a = await startChain(31337);
  const b = await startChain(31338);
  after(async () => {
    await Promise.all([a.server.close(), b.server.close()]);
    await rm(outDir, { recursive: true, force: true });
  });
  const relay = testAccount("relay");

  it("deploys both chains, records them and opens the routes both ways", async () => {
    const deploymentA = await deployAll({ rpcUrl: a.rpcUrl, networkName: "testA", relayAddress: relay.address, outDir });
    const deploymentB = await deployAll({ rpcUrl: b.rpcUrl, networkName: "testB", outDir });
    assert.equal(deploymentA.chainId, 31337);
    assert.equal(deploymentB.chainId, 31338);
    assert.equal(deploymentB.relayAddress, zeroAddress);
    assert.deepEqual(await readDeployment("testA", outDir), deploymentA);
    assert.match(await readFile(path.join(outDir, "testB.json"), "utf8"), /"TargetGateway": "0x[0-9a-fA-F]{40}"/);

    await configureRoute({ rpcUrl: a.rpcUrl, deployment: deploymentA, remote: deploymentB });
    await configureRoute({ rpcUrl: b.rpcUrl, deployment: deploymentB, remote: deploymentA });

    const clientA = createPublicClient({ transport: http(a.rpcUrl) });
    const clientB = createPublicClient({ transport: http(b.rpcUrl) });
    assert.equal(await clientA.readContract({ address: deploymentA.contracts.TargetGateway, abi: targetGatewayAbi, functionName: "relay" }), relay.address);
    const destination = await clientB.readContract({
      address: deploymentB.contracts.SourceGateway,
      abi: sourceGatewayAbi,
      functionName: "destination",
      args: [31337n],
    });
    assert.deepEqual(destination, defaultRouteFee);
    assert.equal(await clientA.readContract({ address: deploymentA.contracts.PingPong, abi: pingPongAbi, functionName: "peers", args: [31338n] }), deploymentB.contracts.PingPong);
    assert.ok(deploymentA.deployBlock >= 1);
  });

  it("appoints the guardian of both gateways while the deployer owns them, and refuses to for another owner", async () => {
    const guardian = testAccount("guardian").address;
    const deployment = await deployAll({ rpcUrl: a.rpcUrl, networkName: "testGuarded", guardian, outDir: null });
    const client = createPublicClient({ transport: http(a.rpcUrl) });
    for (const [address, abi] of [
      [deployment.contracts.SourceGateway, sourceGatewayAbi],
      [deployment.contracts.TargetGateway, targetGatewayAbi],
    ] as const) {
      assert.equal(await client.readContract({ address, abi, functionName: "guardian" }), guardian);
    }
    await assert.rejects(deployAll({ rpcUrl: a.rpcUrl, networkName: "testOwned", owner: testAccount("timelock").address, guardian, outDir: null }), /must appoint the guardian/);
  });

  it("refuses a route whose deployment is for another chain", async () => {
    const deploymentA = await readDeployment("testA", outDir);
    await assert.rejects(configureRoute({ rpcUrl: b.rpcUrl, deployment: deploymentA, remote: deploymentA }), /is chain 31338, the deployment is for 31337/);
  });
});
