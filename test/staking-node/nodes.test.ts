/**
 * Signer-node processes with a `staking` config against a `hardhat node`
 * chain: the committee comes from RelayStaking, every member submits the
 * epoch key after keyGen (the epoch gets confirmed), a member that stays
 * offline is slashed through the nodes' own proposal flow, and a member whose
 * signed protocol messages prove a fault is proposed for removal through it;
 * the accused disputes, and governance decides.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPublicClient, createWalletClient, getAddress, http, keccak256, parseEther, toHex, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { rpc, setMining } from "../../relayer/devnet/chains.ts";
import { relayStakingAbi, slashingCourtAbi } from "@mpc-relay/sdk";
import type { StakingStatus } from "../../relayer/staking/agent.ts";
import { setupStaking, type StakingSetup } from "../../relayer/staking/setup.ts";
import { Cluster, eventually, freePort, relayTx } from "../node/cluster.ts";
import { honest, startRpcProxy } from "../node/rpc-proxy.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SIZE = 4;
const MIN_ABSENCES = 2;
const DISHONEST_NODE = resolve(import.meta.dirname, "dishonest-node.ts");

async function startChain(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, "node_modules/hardhat/dist/src/cli.js"), "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    await rpc(url, "eth_chainId");
  }, 60_000);
  return child;
}

async function stakingStatus(cluster: Cluster, index: number): Promise<StakingStatus> {
  const response = await fetch(`http://127.0.0.1:${cluster.node(index).httpPort}/v1/staking`, { headers: { authorization: `Bearer ${cluster.token}` } });
  assert.equal(response.status, 200);
  return (await response.json()) as StakingStatus;
}

describe("staking node processes", { timeout: 180_000 }, () => {
  let chain: ChildProcess;
  let cluster: Cluster;
  let setup: StakingSetup;
  let client: PublicClient;
  // Operator SIZE + 1 (node 5) is registered but only elected in epoch 2, to take over from the removed node 4.
  const operators = Array.from({ length: SIZE + 1 }, (_, i) => privateKeyToAccount(keccak256(toHex(`staking node test operator ${i}`))));

  before(async () => {
    const port = await freePort();
    const rpcUrl = `http://127.0.0.1:${port}`;
    chain = await startChain(port);
    client = createPublicClient({ transport: http(rpcUrl), cacheTime: 0 }) as PublicClient;
    cluster = await Cluster.create({ size: SIZE, dormant: [SIZE + 1], presignPoolSize: 0, prepareMs: 1_500 });
    setup = await setupStaking({
      rpcUrl,
      projectRoot: ROOT,
      deployerKey: DEPLOYER_KEY,
      operators: operators.map((account, i) => ({ account, identity: cluster.node(i + 1).identity, stake: parseEther("100") })),
      threshold: 3,
      elected: SIZE,
    });
    // Real block times, so absence records fall inside the blocks' time span.
    await setMining(rpcUrl, { automine: true, intervalMs: 500 });
    const peerAddresses = Object.fromEntries([...cluster.nodes.values()].map((n) => [n.identity.peerId, `/ip4/127.0.0.1/tcp/${n.listenPort}`]));
    for (const node of cluster.nodes.values()) {
      // Staking replaces the static peer list: the contract's committee is the directory.
      await cluster.writeConfig(node, []);
      const keyFile = join(cluster.dir, `operator${node.index}.key`);
      await writeFile(keyFile, `${keccak256(toHex(`staking node test operator ${node.index - 1}`))}\n`, { mode: 0o600 });
      const config = JSON.parse(await readFile(node.configPath, "utf8")) as Record<string, unknown>;
      config.staking = { rpcUrl, contract: setup.staking, operatorKeyFile: keyFile, peerAddresses, pollMs: 500, minAbsences: MIN_ABSENCES, proposalTimeoutMs: 5_000 };
      await writeFile(node.configPath, JSON.stringify(config, null, 2));
    }
    await cluster.startAll();
  });

  after(async () => {
    await cluster?.destroy();
    chain?.kill("SIGTERM");
  });

  it("reads the committee from the contract and confirms the epoch key after keyGen", async () => {
    const status = await stakingStatus(cluster, 2);
    assert.equal(status.epoch, "1");
    assert.deepEqual(
      status.members.map((m) => m.peerId),
      [1, 2, 3, 4].map((i) => cluster.node(i).identity.peerId),
    );
    assert.equal(status.operator, getAddress(operators[1]!.address));
    assert.equal(status.confirmedRelay, null);

    const { key } = await cluster.client(1).keygen(status.keyId, 3);
    assert.equal(key.status, "READY");
    await eventually(async () => {
      for (let i = 1; i <= SIZE; i++) assert.equal((await stakingStatus(cluster, i)).confirmedRelay, getAddress(key.address!));
    }, 30_000);
    assert.equal(await client.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "currentRelay" }), getAddress(key.address!));
  });

  it("starts a member during its staking RPC's outage: it waits for the RPC, then serves", async () => {
    const node = cluster.node(2);
    const config = JSON.parse(await readFile(node.configPath, "utf8")) as { staking: { rpcUrl: string } };
    const rpcUrl = config.staking.rpcUrl;
    const outage = await startRpcProxy(rpcUrl, () => Promise.reject(new Error("upstream down")));
    try {
      await cluster.stop(2);
      config.staking.rpcUrl = outage.url;
      await writeFile(node.configPath, JSON.stringify(config, null, 2));
      let started = false;
      const starting = cluster.start(2).then(() => (started = true));
      await eventually(async () => assert.ok(outage.calls.length >= 3, "retried the RPC"), 20_000);
      assert.equal(started, false, "not serving before it read its committee");
      outage.behaviour = honest;
      await starting;
      assert.equal((await stakingStatus(cluster, 2)).epoch, "1");
      await cluster.client(2).sign("epoch-1", relayTx(1));
      assert.match(await readFile(node.logPath, "utf8"), /staking RPC unreachable; waiting for it before starting/);
    } finally {
      await cluster.stop(2);
      config.staking.rpcUrl = rpcUrl;
      await writeFile(node.configPath, JSON.stringify(config, null, 2));
      await cluster.start(2);
      await outage.close();
    }
  });

  it("slashes a member that stays offline through the members' own proposals", async () => {
    const offline = getAddress(operators[3]!.address) as Address;
    const stakeBefore = (await client.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "getNode", args: [offline] })).stake;
    await cluster.kill(4);
    // Every remaining member coordinates a refresh, which needs the whole committee, so each records
    // party 4's silence itself (a signature does not need it: 3 of 4 sign without it, and nobody is absent).
    // An absence must last: each member's records must lie the minimum window (5 blocks, 2.5 s here) apart.
    for (let round = 0; round <= MIN_ABSENCES; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, 2_000));
      for (const index of [1, 2, 3]) await assert.rejects(cluster.client(index).refresh("epoch-1"), /no answer from: 4/);
    }
    await cluster.client(1).sign("epoch-1", relayTx(0));
    assert.ok(
      (await cluster.client(1).absences()).absences.every((a) => a.operation === "refresh"),
      "the signature recorded no absence",
    );
    await eventually(async () => {
      const node = await client.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "getNode", args: [offline] });
      assert.equal(node.stake, (stakeBefore * 9n) / 10n, "10 % slashed");
    }, 60_000);
    const logs = await client.getContractEvents({ address: setup.staking, abi: relayStakingAbi, eventName: "AbsenceSlashed", fromBlock: setup.deployBlock });
    assert.equal(logs.length, 1);
    // The slash went to the treasury (the deployer here): no member earns from voting for it.
    const rewards = await Promise.all(operators.slice(0, 4).map((o) => client.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "rewards", args: [o.address] })));
    assert.deepEqual(rewards, [0n, 0n, 0n, 0n]);
    assert.equal(await client.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "rewards", args: [privateKeyToAccount(DEPLOYER_KEY).address] }), stakeBefore / 10n);
  });

  it("removes a member whose signed keyGen share is provably wrong, and signs on without it", async () => {
    const dishonest = getAddress(operators[3]!.address) as Address;
    // Party 4 comes back as a node whose keyGen deals party 1 a share that fails its Feldman commitments.
    await cluster.start(4, undefined, DISHONEST_NODE);
    // Not the relay key: each operator approves it (the dishonest one too, so that it takes part).
    await cluster.approve({ operation: "keygen", keyId: "removal-test", parties: [1, 2, 3, 4], threshold: 3 });
    await assert.rejects(cluster.client(1).keygen("removal-test", 3), /Feldman/);
    // The members propose its removal; the accused (running the same agent) disputes it at once.
    await eventually(async () => {
      const [, deadline, disputed] = await client.readContract({ address: setup.court, abi: slashingCourtAbi, functionName: "pendingRemoval", args: [dishonest] });
      assert.ok(deadline > 0n && disputed, "proposed and disputed");
    }, 30_000);
    assert.equal((await client.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "getNode", args: [dishonest] })).removed, false);
    // Governance checks the evidence (packages/mpc/src/evidence.ts) and upholds the removal.
    const governance = createWalletClient({ transport: http(client.transport.url), account: privateKeyToAccount(DEPLOYER_KEY) });
    await client.waitForTransactionReceipt({
      hash: await governance.writeContract({ address: setup.court, abi: slashingCourtAbi, functionName: "resolveRemoval", args: [dishonest, true], chain: null }),
    });
    const removals = await client.getContractEvents({ address: setup.staking, abi: relayStakingAbi, eventName: "NodeRemoved", fromBlock: setup.deployBlock });
    assert.equal(removals.length, 1);
    assert.equal(removals[0]!.args.operator, dishonest);
    // Every honest node stops treating it as a peer, and the key's other three members go on signing.
    await eventually(async () => {
      for (const index of [1, 2, 3]) assert.equal((await stakingStatus(cluster, index)).members[3]!.removed, true);
    }, 15_000);
    const signed = await cluster.client(2).sign("epoch-1", relayTx(1_000));
    assert.ok(!signed.signers.includes(4));
  });

  it("hands the relay key over to a newly elected committee: same relay address, the new member signs", async () => {
    await cluster.kill(4);
    const relay = await client.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "currentRelay" });
    const owner = createWalletClient({ transport: http(client.transport.url), account: privateKeyToAccount(DEPLOYER_KEY) });
    // Governance replaces the removed node 4 by node 5 (registered as node id 5) and keeps t = 3.
    const members = [0, 1, 2, 4].map((i) => getAddress(operators[i]!.address));
    await client.waitForTransactionReceipt({
      hash: await owner.writeContract({ address: setup.staking, abi: relayStakingAbi, functionName: "electCommittee", args: [members, 3], chain: null }),
    });
    await cluster.start(SIZE + 1);
    // Node 1 (the lowest index of epoch 1) reshares the key to parties 1, 2, 3, 5; every new member submits it.
    await eventually(async () => {
      assert.equal(await client.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "relayAddress", args: [2n] }), relay);
    }, 60_000);
    assert.equal(await client.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "currentRelay" }), relay);
    const status = await stakingStatus(cluster, SIZE + 1);
    assert.equal(status.epoch, "2");
    assert.deepEqual(
      status.members.map((m) => m.index),
      [1, 2, 3, 5],
    );
    assert.equal(status.confirmedRelay, relay);
    const signed = await cluster.client(SIZE + 1).sign(status.keyId, relayTx(2_000));
    assert.ok(signed.signers.includes(SIZE + 1));
    assert.equal(getAddress(signed.address), relay);
  });
});
