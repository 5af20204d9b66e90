/**
 * The Ignition deployment path (relayer/deploy/deploy.ts over ignition/modules/, and the scripts/deploy.ts command) against a JSON-RPC server on
 * 127.0.0.1: a re-run resumes from the journal, a deployment that died halfway continues, and
 * deployments/<network>.json says what the chain holds.
 */
import "./helpers.ts";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, describe, it } from "node:test";
import { network } from "hardhat";
import { createPublicClient, getAddress, http, keccak256, stringToHex, zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { pingPongAbi, relayStakingAbi, sourceGatewayAbi, targetGatewayAbi } from "@mpc-relay/sdk";
import type { EIP1193Provider } from "@nomicfoundation/ignition-core";
import { deployAll, readDeployment, type Deployment } from "../../relayer/deploy/deploy.ts";
import { rpcProvider, runModule } from "../../relayer/deploy/ignition.ts";
import TestStakingModule, { DEVNET_STAKING_PARAMS } from "../../ignition/modules/TestStaking.ts";
import { projectRoot } from "../../relayer/shared/project.ts";
import { testAccount } from "./helpers.ts";

const ownable = [{ type: "function", name: "owner", inputs: [], outputs: [{ type: "address" }], stateMutability: "view" }] as const;

/** Checks deployments/<network>.json against the chain. */
async function assertMatchesChain(client: PublicClient, deployment: Deployment, expected: { relay: Address; owner: Address; feeRecipient: Address }) {
  assert.equal(await client.getChainId(), deployment.chainId);
  assert.equal(deployment.relayAddress, expected.relay);
  assert.equal(deployment.owner, expected.owner);
  const { SourceGateway, TargetGateway, PingPong } = deployment.contracts;
  for (const address of [SourceGateway, TargetGateway, PingPong]) {
    assert.notEqual((await client.getCode({ address })) ?? "0x", "0x", `no code at ${address}`);
    assert.equal(await client.readContract({ address, abi: ownable, functionName: "owner" }), expected.owner);
  }
  assert.equal(await client.readContract({ address: TargetGateway, abi: targetGatewayAbi, functionName: "relay" }), expected.relay);
  assert.equal(await client.readContract({ address: SourceGateway, abi: sourceGatewayAbi, functionName: "feeRecipient" }), expected.feeRecipient);
  assert.equal(await client.readContract({ address: PingPong, abi: pingPongAbi, functionName: "SOURCE_GATEWAY" }), SourceGateway);
  assert.equal(await client.readContract({ address: PingPong, abi: pingPongAbi, functionName: "TARGET_GATEWAY" }), TargetGateway);
  // deployBlock is the block of the first deployment transaction: no contract before it, one in it.
  const codeAt = async (address: Address, block: number) => ((await client.getCode({ address, blockNumber: BigInt(block) })) ?? "0x") !== "0x";
  const contracts = [SourceGateway, TargetGateway, PingPong];
  assert.deepEqual(await Promise.all(contracts.map((address) => codeAt(address, deployment.deployBlock - 1))), [false, false, false]);
  assert.ok((await Promise.all(contracts.map((address) => codeAt(address, deployment.deployBlock)))).includes(true));
}

/** A key of its own for a test, funded on the chain. */
async function fundedKey(rpcUrl: string, label: string): Promise<Hex> {
  const key = keccak256(stringToHex(`mpc-relay ignition test deployer: ${label}`));
  await rpcProvider(rpcUrl).request({ method: "hardhat_setBalance", params: [privateKeyToAccount(key).address, "0x56BC75E2D63100000"] });
  return key;
}

type ProxyAction = "forward" | "drop request" | "drop response";

/** A JSON-RPC proxy on loopback that can lose a request, or the answer to one, as a failing connection does. */
async function startProxy(target: string, decide: (method: string) => ProxyAction): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const action = decide((JSON.parse(body) as { method: string }).method);
      if (action === "drop request") return void req.socket.destroy();
      void fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body })
        .then(async (answer) => {
          const text = await answer.text();
          if (action === "drop response") return void req.socket.destroy();
          res.writeHead(answer.status, { "content-type": "application/json" }).end(text);
        })
        .catch(() => req.socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe("Ignition deployment (scripts/deploy.ts, ignition/modules)", async () => {
  const outDir = await mkdtemp(path.join(tmpdir(), "mpc-relay-ignition-"));
  const server = await network.createServer({ override: { chainId: 31337 } }, "127.0.0.1", 0);
  const { address, port } = await server.listen();
  const rpcUrl = `http://${address}:${port}`;
  after(async () => {
    await server.close();
    await rm(outDir, { recursive: true, force: true });
  });
  const client = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
  const [deployer] = (await rpcProvider(rpcUrl).request({ method: "eth_accounts" })) as Address[];
  const relay = testAccount("relay").address;

  it("resumes from the journal: the same deployment id again deploys nothing and gives the same addresses", async () => {
    const first = await deployAll({ rpcUrl, networkName: "resumed", relayAddress: relay, outDir });
    await access(path.join(outDir, "ignition", "resumed", "journal.jsonl"));
    const nonce = await client.getTransactionCount({ address: deployer! });
    const block = await client.getBlockNumber();

    const second = await deployAll({ rpcUrl, networkName: "resumed", relayAddress: relay, outDir });
    assert.deepEqual(second, first);
    assert.deepEqual(await readDeployment("resumed", outDir), first);
    assert.equal(await client.getTransactionCount({ address: deployer! }), nonce, "a resumed deployment sent transactions");
    assert.equal(await client.getBlockNumber(), block);
    await assertMatchesChain(client, first, { relay, owner: getAddress(deployer!), feeRecipient: getAddress(deployer!) });

    // Another deployment id is another deployment.
    const other = await deployAll({ rpcUrl, networkName: "resumed", deploymentId: "resumed-again", relayAddress: relay, outDir });
    assert.notEqual(other.contracts.SourceGateway, first.contracts.SourceGateway);
  });

  it("forgets the journal of an earlier Hardhat node: a restarted chain with the same id gets a fresh deployment", async () => {
    const restarted = await network.createServer({ override: { chainId: 31337 } }, "127.0.0.1", 0);
    try {
      const listening = await restarted.listen();
      const url = `http://${listening.address}:${listening.port}`;
      const deployment = await deployAll({ rpcUrl: url, networkName: "resumed", relayAddress: relay, outDir });
      await assertMatchesChain(createPublicClient({ transport: http(url) }) as PublicClient, deployment, { relay, owner: getAddress(deployer!), feeRecipient: getAddress(deployer!) });
    } finally {
      await restarted.close();
    }
  });

  it("continues a deployment that died halfway, deploying each contract once", async () => {
    const base = rpcProvider(rpcUrl);
    let estimates = 0;
    // The connection dies once both gateways are deployed, as PingPong is about to be.
    const dying: EIP1193Provider = {
      request: async (args) => {
        if (args.method === "eth_estimateGas" && ++estimates > 2) throw new Error("connection lost");
        return base.request(args);
      },
    };
    const nonce = await client.getTransactionCount({ address: deployer! });
    await assert.rejects(deployAll({ rpcUrl, networkName: "interrupted", provider: dying, outDir }), /connection lost/);
    assert.equal(await client.getTransactionCount({ address: deployer! }), nonce + 2);
    await assert.rejects(access(path.join(outDir, "interrupted.json")));

    const deployment = await deployAll({ rpcUrl, networkName: "interrupted", outDir });
    // Two gateways and PingPong: three deployments in all, the gateways not repeated.
    assert.equal(await client.getTransactionCount({ address: deployer! }), nonce + 3);
    await assertMatchesChain(client, deployment, { relay: zeroAddress, owner: getAddress(deployer!), feeRecipient: getAddress(deployer!) });
  });

  it("knows a transaction whose answer was lost: the deployment finds it mined instead of stopping or repeating it", async () => {
    const deployerKey = await fundedKey(rpcUrl, "answer lost");
    const deployer = privateKeyToAccount(deployerKey).address;
    let sends = 0;
    const proxy = await startProxy(rpcUrl, (method) => (method === "eth_sendRawTransaction" && ++sends === 2 ? "drop response" : "forward"));
    try {
      const deployment = await deployAll({ rpcUrl: proxy.url, deployerKey, networkName: "answerLost", outDir });
      assert.equal(sends, 3);
      assert.equal(await client.getTransactionCount({ address: deployer }), 3);
      await assertMatchesChain(client, deployment, { relay: zeroAddress, owner: deployer, feeRecipient: deployer });
    } finally {
      await proxy.close();
    }
  });

  it("resends a transaction that never reached the node when the connection died while sending it", async () => {
    const deployerKey = await fundedKey(rpcUrl, "request lost");
    const deployer = privateKeyToAccount(deployerKey).address;
    let sends = 0;
    let down = false;
    const proxy = await startProxy(rpcUrl, (method) => {
      if (method === "eth_sendRawTransaction" && ++sends === 2) down = true;
      return down ? "drop request" : "forward";
    });
    try {
      await assert.rejects(deployAll({ rpcUrl: proxy.url, deployerKey, networkName: "requestLost", outDir }));
    } finally {
      await proxy.close();
    }
    assert.equal(await client.getTransactionCount({ address: deployer }), 1);

    const deployment = await deployAll({ rpcUrl, deployerKey, networkName: "requestLost", outDir });
    assert.equal(await client.getTransactionCount({ address: deployer }), 3);
    await assertMatchesChain(client, deployment, { relay: zeroAddress, owner: deployer, feeRecipient: deployer });
  });

  it("records another owner (a timelock) and its fee recipient as given, signing with a deployer key", async () => {
    const deployerKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"; // hardhat node's account #1
    const owner = testAccount("timelock").address;
    const feeRecipient = testAccount("treasury").address;
    const deployment = await deployAll({ rpcUrl, networkName: "timelocked", deployerKey, owner, feeRecipient, relayAddress: relay, outDir });
    assert.deepEqual(await readDeployment("timelocked", outDir), deployment);
    await assertMatchesChain(client, deployment, { relay, owner, feeRecipient });
  });

  it("the CLI deploys from an Ignition parameters file, and resumes on a second run", async () => {
    const parameters = path.join(outDir, "parameters.json");
    const owner = testAccount("cli-owner").address;
    await writeFile(parameters, JSON.stringify({ $global: { owner }, Gateways: { relay, rotationDelay: "7200n", retentionWindow: "600n" } }));
    // The node's first unlocked account signs.
    const withoutDeployerKey = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "DEPLOYER_PRIVATE_KEY"));
    const run = () =>
      promisify(execFile)(process.execPath, ["--import", "tsx", path.join(projectRoot, "scripts/deploy.ts"), "--rpc", rpcUrl, "--network", "cli", "--parameters", parameters, "--out-dir", outDir], {
        cwd: projectRoot,
        env: withoutDeployerKey,
      });
    const printed = JSON.parse((await run()).stdout) as Deployment;
    assert.deepEqual(await readDeployment("cli", outDir), printed);
    await assertMatchesChain(client, printed, { relay, owner, feeRecipient: owner });
    assert.equal(await client.readContract({ address: printed.contracts.TargetGateway, abi: targetGatewayAbi, functionName: "MIN_ROTATION_DELAY" }), 7200n);
    assert.deepEqual(JSON.parse((await run()).stdout), printed);
  });

  it("deploys the TestStaking module: RelayStaking over a fresh TestStakeToken, with its SlashingCourt", async () => {
    const account = testAccount("staking-deployer");
    await rpcProvider(rpcUrl).request({ method: "hardhat_setBalance", params: [account.address, "0x56BC75E2D63100000"] });
    const { contracts, transactions } = await runModule(TestStakingModule, {
      provider: rpcProvider(rpcUrl, account),
      artifactsDir: path.join(projectRoot, "artifacts"),
      parameters: { TestStaking: { treasury: relay, params: DEVNET_STAKING_PARAMS } },
    });
    const staking = contracts.relayStaking!;
    assert.equal(await client.readContract({ address: staking, abi: relayStakingAbi, functionName: "court" }), contracts.court);
    assert.equal(await client.readContract({ address: staking, abi: relayStakingAbi, functionName: "stakeToken" }), contracts.token);
    assert.equal(await client.readContract({ address: staking, abi: relayStakingAbi, functionName: "treasury" }), relay);
    assert.equal(await client.readContract({ address: staking, abi: ownable, functionName: "owner" }), account.address);
    assert.deepEqual(
      transactions.map((t) => t.futureId),
      ["TestStaking#TestStakeToken", "TestStaking#RelayStaking"],
    );
  });
});
