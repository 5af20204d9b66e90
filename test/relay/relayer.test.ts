/**
 * The relayer against real signer-node processes and two Hardhat chains: delivery both ways with
 * status transitions, failed receivers and retries, gas top-ups, reorgs, batches, delivery from the
 * relay address itself, and a crash (SIGKILL of the `mpc-relay relay start` process) mid-flight.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { getAddress, parseEventLogs, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { compiledCli } from "../../relayer/devnet/runtime.ts";
import { parseRelayerConfig, startRelayer, type Relayer } from "../../relayer/relay/index.ts";
import { targetGatewayAbi, MpcRelayClient, type SentMessageInfo } from "@mpc-relay/sdk";
import { probeReceived, setProbeMode, type TestChain } from "./fixture.ts";
import { CHAIN_A, CHAIN_B, CONFIRMATIONS_A, createEnv, KEY_ID, type Env } from "./setup.ts";

const CLI = await compiledCli();
const SUBMITTER_ENV = "MPC_RELAY_TEST_SUBMITTER_KEY";

function client(env: Env, from: TestChain, relayerApi?: string): MpcRelayClient {
  return new MpcRelayClient({
    source: { publicClient: from.publicClient, walletClient: from.wallet as never, gateway: from.source, fromBlock: BigInt(from.deployBlock) },
    destinations: { [CHAIN_A]: { publicClient: env.a.publicClient, gateway: env.a.target }, [CHAIN_B]: { publicClient: env.b.publicClient, gateway: env.b.target } },
    ...(relayerApi === undefined ? {} : { relayerApi }),
  });
}

async function sendProbe(env: Env, from: TestChain, to: TestChain, payload: Hex, gasLimit = 300_000n): Promise<SentMessageInfo> {
  return client(env, from).send({ dstChainId: to.chainId, receiver: to.probe, payload, gasLimit });
}

/** How many times the target emitted MessageDelivered for this id (exactly-once means 1). */
async function deliveries(chain: TestChain, messageId: Hex): Promise<number> {
  const logs = await chain.publicClient.getLogs({ address: chain.target, fromBlock: BigInt(chain.deployBlock), toBlock: "latest" });
  return parseEventLogs({ abi: targetGatewayAbi, logs, eventName: "MessageDelivered" }).filter((l) => l.args.messageId === messageId).length;
}

describe("relayer (node processes, two chains)", { timeout: 300_000 }, () => {
  let env: Env;
  let dir: string;
  let miner: NodeJS.Timeout | null = null;
  const relayers: Relayer[] = [];
  const startMining = (): void => {
    miner = setInterval(() => void env.a.mine(1).catch(() => undefined), 250);
  };
  const stopMining = (): void => {
    if (miner !== null) clearInterval(miner);
    miner = null;
  };

  async function config(name: string, extra: { batch?: boolean; mode?: "permissionless" | "relayAddress"; fromBlocks?: [number, number]; receiptTimeoutMs?: number } = {}) {
    const [fromA, fromB] = extra.fromBlocks ?? [env.a.deployBlock, env.b.deployBlock];
    return parseRelayerConfig({
      chains: [
        { chainId: CHAIN_A, name: "a", rpcUrls: [env.a.rpcUrl], confirmations: CONFIRMATIONS_A, sourceGateway: env.a.source, targetGateway: env.a.target, fromBlock: fromA, pollIntervalMs: 100 },
        { chainId: CHAIN_B, name: "b", rpcUrls: [env.b.rpcUrl], confirmations: 1, sourceGateway: env.b.source, targetGateway: env.b.target, fromBlock: fromB, pollIntervalMs: 100 },
      ],
      mpc: { keyId: KEY_ID, nodes: [...env.cluster.nodes.values()].map((n) => ({ apiUrl: `http://127.0.0.1:${n.httpPort}`, token: env.cluster.token })), requestTimeoutMs: 20_000 },
      delivery:
        extra.mode === "relayAddress"
          ? { mode: "relayAddress", receiptTimeoutMs: extra.receiptTimeoutMs ?? 5_000 }
          : { mode: "permissionless", submitterKeyEnv: SUBMITTER_ENV, receiptTimeoutMs: extra.receiptTimeoutMs ?? 5_000 },
      batch: { enabled: extra.batch ?? false, maxMessages: 50, maxWaitMs: 600 },
      retry: { initialBackoffMs: 200, maxBackoffMs: 800, maxAttempts: 3 },
      storePath: join(dir, name),
      api: { port: 0 },
      logLevel: "error",
    });
  }

  async function heads(): Promise<[number, number]> {
    return [Number(await env.a.publicClient.getBlockNumber()) + 1, Number(await env.b.publicClient.getBlockNumber()) + 1];
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mpc-relayer-"));
    env = await createEnv();
    const submitter = generatePrivateKey();
    process.env[SUBMITTER_ENV] = submitter;
    for (const chain of [env.a, env.b]) {
      await chain.fund(privateKeyToAccount(submitter).address);
      await chain.fund(env.relayAddress);
    }
  });
  after(async () => {
    stopMining();
    for (const relayer of relayers) await relayer.stop();
    await env?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  describe("single messages, permissionless submitter", () => {
    let relayer: Relayer;
    before(async () => {
      relayer = await startRelayer(await config("single"));
      relayers.push(relayer);
      startMining();
    });

    it("delivers both ways and reports seen -> final -> attested -> delivered", async () => {
      const before = await probeReceived(env.b);
      const aToB = await sendProbe(env, env.a, env.b, toHex("a to b"));
      const bToA = await sendProbe(env, env.b, env.a, toHex("b to a"));
      const api = `http://127.0.0.1:${relayer.apiPort}`;
      assert.equal(await client(env, env.a, api).waitForDelivery(aToB, { timeoutMs: 30_000 }), "delivered");
      assert.equal(await client(env, env.b, api).waitForDelivery(bToA, { timeoutMs: 30_000 }), "delivered");
      const status = await relayer.waitFor(aToB.messageId, ["delivered"], 10_000);
      assert.deepEqual(
        status.history.map((h) => h.state),
        ["seen", "final", "attested", "delivered"],
      );
      assert.ok(status.deliveryTxHash);
      assert.equal(await probeReceived(env.b), before + 1n);
      assert.equal(await deliveries(env.b, aToB.messageId), 1);

      // The same record through the HTTP API, the SDK and the CLI.
      const viaApi = (await (await fetch(`${api}/v1/messages/${aToB.messageId}`)).json()) as { state: string };
      assert.equal(viaApi.state, "delivered");
      const viaSdk = await client(env, env.a, api).status(aToB.messageId);
      assert.equal(viaSdk.state, "delivered");
      assert.equal(viaSdk.relayer.kind === "known" && viaSdk.relayer.state, "delivered");
      assert.equal(viaSdk.behind, null);
      const cli = spawn(process.execPath, [CLI, "status", aToB.messageId, "--api", api, "--json"], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      cli.stdout.on("data", (c: Buffer) => (out += c.toString()));
      assert.equal(await new Promise((r) => cli.once("exit", r)), 0);
      assert.equal((JSON.parse(out) as { state: string }).state, "delivered");
      assert.equal((await fetch(`${api}/v1/messages/0x${"ab".repeat(32)}`)).status, 404);
    });

    it("stores a reverting receiver's message as failed, retries it later and delivers it once", async () => {
      await setProbeMode(env.b, 1);
      const before = await probeReceived(env.b);
      const sent = await sendProbe(env, env.a, env.b, toHex("fails first"));
      await relayer.waitFor(sent.messageId, ["failed"], 30_000);
      assert.equal(await client(env, env.a).targetState(sent.message), "failed");
      await new Promise((r) => setTimeout(r, 400)); // at least one retry fails while the receiver still reverts
      await setProbeMode(env.b, 0);
      const status = await relayer.waitFor(sent.messageId, ["delivered"], 30_000);
      const states = status.history.map((h) => h.state);
      assert.deepEqual(states.slice(0, 4), ["seen", "final", "attested", "failed"]);
      assert.ok(states.includes("retried"), states.join(","));
      assert.equal(states.at(-1), "delivered");
      assert.equal(await probeReceived(env.b), before + 1n);
      assert.equal(await deliveries(env.b, sent.messageId), 1);
    });

    it("waits for a gas top-up (addGas) before retrying a message that ran out of gas", async () => {
      const payload = toHex(new Uint8Array(1024).map((_, i) => (i * 7 + 1) % 256));
      const sent = await sendProbe(env, env.a, env.b, payload, 50_000n);
      await relayer.waitFor(sent.messageId, ["failed"], 30_000);
      // Retries within the paid budget keep failing until the relayer parks the message.
      const deadline = Date.now() + 20_000;
      let status = await relayer.status(sent.messageId);
      while (status!.attempts < 3 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        status = await relayer.status(sent.messageId);
      }
      assert.equal(status!.state, "failed");
      assert.match(status!.lastError ?? "", /addGas/);
      await client(env, env.a).addGas(sent.messageId, 1_500_000n);
      const delivered = await relayer.waitFor(sent.messageId, ["delivered"], 30_000);
      assert.equal(delivered.extraGas, "1500000");
      assert.ok(delivered.history.some((h) => /gas topped up/.test(h.detail ?? "")));
      assert.equal(await deliveries(env.b, sent.messageId), 1);
    });

    it("drops a seen message whose block is reorged away", async () => {
      stopMining();
      const snapshot = (await env.a.rpc("evm_snapshot")) as Hex;
      const sent = await sendProbe(env, env.a, env.b, toHex("reorged away"));
      const seen = await relayer.waitFor(sent.messageId, ["seen"], 10_000);
      assert.equal(seen.state, "seen");
      assert.equal(await env.a.rpc("evm_revert", [snapshot]), true);
      await env.a.mine(CONFIRMATIONS_A + 1);
      const dropped = await relayer.waitFor(sent.messageId, ["dropped"], 10_000);
      assert.match(dropped.history.at(-1)?.detail ?? "", /reorg/);
      startMining();
    });

    after(async () => {
      await relayer.stop();
    });
  });

  it("batch mode: one signed root delivers many messages", async () => {
    const relayer = await startRelayer(await config("batch", { batch: true, fromBlocks: await heads() }));
    relayers.push(relayer);
    const sent: SentMessageInfo[] = [];
    for (let i = 0; i < 6; i++) sent.push(await sendProbe(env, env.b, env.a, toHex(`batch ${i}`)));
    const statuses = [];
    for (const s of sent) statuses.push(await relayer.waitFor(s.messageId, ["delivered"], 30_000));
    assert.ok(statuses.every((s) => s.batched));
    const txs = new Set(statuses.map((s) => s.deliveryTxHash));
    assert.ok(txs.size < sent.length, `6 messages in ${txs.size} transactions`);
    for (const s of sent) assert.equal(await deliveries(env.a, s.messageId), 1);
    await relayer.stop();
  });

  it("batch mode: a batch whose delivery reverts (target paused) is delivered once on a later attempt", async () => {
    const relayer = await startRelayer(await config("batch-paused", { batch: true, fromBlocks: await heads() }));
    relayers.push(relayer);
    const pause = async (functionName: "pause" | "unpause"): Promise<void> => {
      const hash = await env.a.wallet.writeContract({ address: env.a.target, abi: targetGatewayAbi, functionName, account: env.a.wallet.account!, chain: env.a.chain });
      await env.a.publicClient.waitForTransactionReceipt({ hash });
    };
    await pause("pause");
    const sent: SentMessageInfo[] = [];
    try {
      for (let i = 0; i < 3; i++) sent.push(await sendProbe(env, env.b, env.a, toHex(`paused batch ${i}`)));
      const deadline = Date.now() + 20_000;
      while (((await relayer.status(sent[0]!.messageId))?.attempts ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const status = await relayer.status(sent[0]!.messageId);
      assert.equal(status?.state, "attested");
      assert.ok(status.attempts > 0 && status.lastError !== null, "the first delivery attempt failed");
    } finally {
      await pause("unpause");
    }
    for (const s of sent) {
      const status = await relayer.waitFor(s.messageId, ["delivered"], 30_000);
      assert.ok(status.batched);
      assert.equal(await deliveries(env.a, s.messageId), 1);
    }
    await relayer.stop();
  });

  it("relay-address mode: the MPC network signs the delivery transaction itself", async () => {
    const relayer = await startRelayer(await config("relay-address", { mode: "relayAddress", fromBlocks: await heads() }));
    relayers.push(relayer);
    const sent = await sendProbe(env, env.b, env.a, toHex("from the relay address"));
    const status = await relayer.waitFor(sent.messageId, ["delivered"], 30_000);
    const tx = await env.a.publicClient.getTransaction({ hash: status.deliveryTxHash! });
    assert.equal(getAddress(tx.from), env.relayAddress);
    await relayer.stop();
  });

  it("replaces a stuck delivery transaction with higher fees, and it is delivered once", async () => {
    const relayer = await startRelayer(await config("stuck", { fromBlocks: await heads(), receiptTimeoutMs: 600 }));
    relayers.push(relayer);
    const initialTip = BigInt((await env.b.rpc("eth_maxPriorityFeePerGas")) as Hex);
    await env.b.rpc("evm_setAutomine", [false]);
    let sent: SentMessageInfo;
    try {
      sent = await sendProbe(env, env.a, env.b, toHex("stuck at first"));
      await relayer.waitFor(sent.messageId, ["attested"], 30_000);
      await new Promise((r) => setTimeout(r, 2_000)); // no block on B: the relayer replaces its transaction
      await env.b.mine(1);
    } finally {
      await env.b.rpc("evm_setAutomine", [true]);
    }
    const status = await relayer.waitFor(sent.messageId, ["delivered"], 30_000);
    const tx = await env.b.publicClient.getTransaction({ hash: status.deliveryTxHash! });
    assert.ok(tx.maxPriorityFeePerGas! > initialTip, `tip ${tx.maxPriorityFeePerGas} was bumped above ${initialTip}`);
    assert.equal(await deliveries(env.b, sent.messageId), 1);
    await relayer.stop();
  });

  it("fails over to another node's API when the first coordinator is down", async () => {
    const relayer = await startRelayer(await config("failover", { fromBlocks: await heads() }));
    relayers.push(relayer);
    await env.cluster.stop(1);
    try {
      const sent = await sendProbe(env, env.b, env.a, toHex("node 1 is down"));
      const status = await relayer.waitFor(sent.messageId, ["delivered"], 40_000);
      assert.match(status.history.find((h) => h.state === "attested")?.detail ?? "", /signed by parties (2,3|3,2)/);
    } finally {
      await relayer.stop();
      await env.cluster.start(1);
    }
  });

  it("a relayer process killed mid-flight and restarted neither loses nor duplicates a delivery", async () => {
    const cfg = await config("crash", { fromBlocks: await heads() });
    const path = join(dir, "crash.json");
    await writeFile(path, JSON.stringify(cfg));
    const start = async (): Promise<{ child: ChildProcess; api: string }> => {
      const child = spawn(process.execPath, [CLI, "relay", "start", "--json", "--config", path], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
      const api = await new Promise<string>((resolveApi, reject) => {
        createInterface({ input: child.stdout! }).on("line", (line) => {
          if (line.includes('"relayer-listening"')) resolveApi(`http://127.0.0.1:${(JSON.parse(line) as { apiPort: number }).apiPort}`);
        });
        child.once("exit", (code) => reject(new Error(`relayer exited with ${code}`)));
      });
      return { child, api };
    };
    const before = await probeReceived(env.b);
    let { child, api } = await start();
    const sent: SentMessageInfo[] = [];
    for (let i = 0; i < 6; i++) sent.push(await sendProbe(env, env.a, env.b, toHex(`crash ${i}`)));
    // Kill it as soon as the first message is delivered: the others are somewhere in flight.
    const sdk = client(env, env.a, api);
    await sdk.waitForDelivery(sent[0]!, { timeoutMs: 30_000, pollMs: 20 });
    const killed = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await killed;
    ({ child, api } = await start());
    try {
      for (const s of sent) assert.equal(await client(env, env.a, api).waitForDelivery(s, { timeoutMs: 40_000 }), "delivered");
      for (const s of sent) assert.equal(await deliveries(env.b, s.messageId), 1);
      assert.equal(await probeReceived(env.b), before + BigInt(sent.length));
      const response = await fetch(`${api}/v1/messages/${sent[5]!.messageId}`);
      // The restarted relayer knows every message (from its store or by re-scanning from its cursor).
      assert.equal(response.status, 200);
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  });
});
