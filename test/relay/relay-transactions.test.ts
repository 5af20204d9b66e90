/**
 * Relay-address transactions with real signer-node processes and two Hardhat chains: what a
 * malicious relayer or coordinator asks the relay address to send is refused at every node and
 * charges nothing; what the relayer needs (deliveries, batches, retries) is signed and lands; and
 * the fee budget holds across restarts.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, getAddress, parseEventLogs, serializeTransaction, toHex, type Address, type Hex } from "viem";
import type { SignView } from "../../relayer/node/api/client.ts";
import { parseRelayerConfig, startRelayer } from "../../relayer/relay/index.ts";
import { targetGatewayAbi, MpcRelayClient, type SentMessageInfo, toCompactSignature, type Message } from "@mpc-relay/sdk";
import { setProbeMode, type TestChain } from "./fixture.ts";
import { CHAIN_A, CHAIN_B, CONFIRMATIONS_A, createEnv, KEY_ID, reconfigure, refusedByAll, RELAY_TRANSACTION_POLICY, type Env } from "./setup.ts";

const GAS = 500_000n;
const ATTACKER = getAddress("0x00000000000000000000000000000000000bad00");

describe("relay-address transactions (3 node processes, 2 chains)", { timeout: 300_000 }, () => {
  let env: Env;
  let dir: string;

  const send = (payload: string): Promise<SentMessageInfo> =>
    new MpcRelayClient({ source: { publicClient: env.b.publicClient, walletClient: env.b.wallet as never, gateway: env.b.source } }).send({
      dstChainId: CHAIN_A,
      receiver: env.a.probe,
      payload: toHex(payload),
      gasLimit: 200_000n,
    });

  /** receiveMessage calldata with the network's real attestation of `sent` (a B to A message). */
  async function delivery(sent: SentMessageInfo): Promise<Hex> {
    const attested = await env.cluster
      .client(1)
      .sign(KEY_ID, { type: "messageAttestation", srcChainId: CHAIN_B, messageId: sent.messageId, txHash: sent.txHash, dstChainId: CHAIN_A, targetGateway: env.a.target });
    return encodeFunctionData({ abi: targetGatewayAbi, functionName: "receiveMessage", args: [sent.message, ...toCompactSignature(attested.signature)] });
  }

  /** A relay-address transaction on chain A, as the relayer's submitter builds it. */
  async function transaction(data: Hex, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const fees = await env.a.publicClient.estimateFeesPerGas();
    return {
      type: "relayTransaction",
      chainId: CHAIN_A,
      nonce: await env.a.publicClient.getTransactionCount({ address: env.relayAddress, blockTag: "pending" }),
      to: env.a.target,
      data,
      value: "0",
      gas: GAS.toString(),
      maxFeePerGas: fees.maxFeePerGas.toString(),
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
      ...extra,
    };
  }

  async function sendSigned(chain: TestChain, request: Record<string, unknown>, view: SignView): Promise<Hex> {
    const unsigned = {
      type: "eip1559" as const,
      chainId: chain.chainId,
      nonce: request.nonce as number,
      to: request.to as Address,
      data: request.data as Hex,
      value: 0n,
      gas: BigInt(request.gas as string),
      maxFeePerGas: BigInt(request.maxFeePerGas as string),
      maxPriorityFeePerGas: BigInt(request.maxPriorityFeePerGas as string),
    };
    const hash = await chain.publicClient.sendRawTransaction({ serializedTransaction: serializeTransaction(unsigned, { r: view.r, s: view.s, yParity: view.v - 27 }) });
    return hash;
  }

  async function delivered(chain: TestChain, id: Hex): Promise<number> {
    const logs = await chain.publicClient.getLogs({ address: chain.target, fromBlock: BigInt(chain.deployBlock), toBlock: "latest" });
    return parseEventLogs({ abi: targetGatewayAbi, logs, eventName: "MessageDelivered" }).filter((l) => l.args.messageId === id).length;
  }

  /** Every node's fee-budget file (null: none yet). */
  const budgets = (): Promise<(string | null)[]> => Promise.all([...env.cluster.nodes.values()].map((node) => readFile(join(node.dataDir, "relay-fee-budget.json"), "utf8").catch(() => null)));

  /** Restarts every node with `policy` on chain A; `fresh` also removes what the nodes charged so far (an operator's reset). */
  const restartNodes = (policy: Record<string, unknown>, fresh: boolean): Promise<void> =>
    reconfigure(env, async (config, dataDir) => {
      if (fresh) await rm(join(dataDir, "relay-fee-budget.json"), { force: true });
      config.policy = { relayTransactions: { [String(CHAIN_A)]: policy, [String(CHAIN_B)]: RELAY_TRANSACTION_POLICY } };
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mpc-relay-tx-"));
    env = await createEnv();
    for (const chain of [env.a, env.b]) await chain.fund(env.relayAddress);
  });
  after(async () => {
    await env?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("signs the delivery a relayer needs, and that transaction delivers the message from the relay address", async () => {
    const sent = await send("delivered by the relay address");
    const request = await transaction(await delivery(sent), { sourceBlocks: { fromBlock: Number(sent.blockNumber), toBlock: Number(sent.blockNumber) } });
    const view = await env.cluster.client(2).sign(KEY_ID, request);
    const receipt = await env.a.publicClient.waitForTransactionReceipt({ hash: await sendSigned(env.a, request, view) });
    assert.equal(receipt.status, "success");
    assert.equal(getAddress(receipt.from), env.relayAddress);
    assert.equal(await delivered(env.a, sent.messageId), 1);
  });

  it("refuses at every node, and charges nothing for, what a malicious relayer or coordinator asks the relay address to send", async () => {
    const sent = await send("a genuine message");
    const genuine = await delivery(sent);
    const forged: Message = { ...sent.message, payload: toHex("mint to the attacker") };
    // The relayer holds a real attestation of the genuine message; its signature vouches for nothing else.
    const [r, vs] = [`0x${genuine.slice(2 + 8 + 64 * 1, 2 + 8 + 64 * 2)}`, `0x${genuine.slice(2 + 8 + 64 * 2, 2 + 8 + 64 * 3)}`] as [Hex, Hex];
    const gateway = (functionName: string, args: unknown[]): Hex => encodeFunctionData({ abi: targetGatewayAbi, functionName, args } as never);
    const before = await budgets();
    const attacks: [Record<string, unknown>, RegExp][] = [
      [await transaction(gateway("receiveMessage", [forged, r, vs])), /was not sent by SourceGateway/],
      [await transaction(gateway("retryMessage", [forged])), /was not sent by SourceGateway/],
      [await transaction(gateway("receiveBatch", [[sent.message, forged], [], [true], r, vs])), /was not sent by SourceGateway/],
      [await transaction(gateway("setRelay", [ATTACKER])), /TargetGateway\.setRelay is not a call the relayer sends/],
      [await transaction(gateway("rotateRelay", [ATTACKER, 1n, "0x"])), /TargetGateway\.rotateRelay is not a call/],
      [await transaction(gateway("abandonMessage", [sent.message])), /TargetGateway\.abandonMessage is not a call/],
      [await transaction(gateway("pause", [])), /TargetGateway\.pause is not a call/],
      [await transaction(`${genuine}00`), /not the canonical encoding/],
      [await transaction(genuine, { to: ATTACKER }), /is not the target gateway this network serves on chain 31337/],
      [await transaction("0x", { to: ATTACKER, value: "1000000000000000000" }), /is not the target gateway this network serves on chain 31337/],
      [await transaction(genuine, { value: "1" }), /may not transfer value/],
      [await transaction(genuine, { gas: "1000000000", maxFeePerGas: "1000000000000" }), /exceeds the 1000000000000000000 wei a relay transaction on chain 31337 may pay/],
      [await transaction(genuine, { chainId: CHAIN_B, to: env.b.target }), /would go from chain 31338 to itself/],
      [await transaction(genuine, { chainId: 5 }), /relay transactions on chain 5 are not allowed/],
    ];
    for (const [request, reason] of attacks) await refusedByAll(env, request, reason);
    assert.deepEqual(await budgets(), before, "no refused request was charged to any node's fee budget");
    // The genuine delivery is still signed.
    const request = await transaction(genuine);
    const view = await env.cluster.client(3).sign(KEY_ID, request);
    assert.equal((await env.a.publicClient.waitForTransactionReceipt({ hash: await sendSigned(env.a, request, view) })).status, "success");
    assert.equal(await delivered(env.a, sent.messageId), 1);
  });

  it("the relayer in relayAddress mode gets its batches and retries signed", async () => {
    const relayer = await startRelayer(
      parseRelayerConfig({
        chains: [
          {
            chainId: CHAIN_A,
            name: "a",
            rpcUrls: [env.a.rpcUrl],
            confirmations: CONFIRMATIONS_A,
            sourceGateway: env.a.source,
            targetGateway: env.a.target,
            fromBlock: Number(await env.a.publicClient.getBlockNumber()) + 1,
            pollIntervalMs: 100,
          },
          {
            chainId: CHAIN_B,
            name: "b",
            rpcUrls: [env.b.rpcUrl],
            sourceGateway: env.b.source,
            targetGateway: env.b.target,
            fromBlock: Number(await env.b.publicClient.getBlockNumber()) + 1,
            pollIntervalMs: 100,
          },
        ],
        mpc: { keyId: KEY_ID, nodes: [...env.cluster.nodes.values()].map((n) => ({ apiUrl: `http://127.0.0.1:${n.httpPort}`, token: env.cluster.token })), requestTimeoutMs: 20_000 },
        delivery: { mode: "relayAddress", receiptTimeoutMs: 5_000 },
        batch: { enabled: true, maxMessages: 50, maxWaitMs: 600 },
        retry: { initialBackoffMs: 200, maxBackoffMs: 800, maxAttempts: 5 },
        storePath: join(dir, "relayer"),
        logLevel: "error",
      }),
    );
    try {
      const batch: SentMessageInfo[] = [];
      for (let i = 0; i < 3; i++) batch.push(await send(`batch ${i}`));
      for (const sent of batch) {
        const status = await relayer.waitFor(sent.messageId, ["delivered"], 30_000);
        assert.ok(status.batched);
        const tx = await env.a.publicClient.getTransaction({ hash: status.deliveryTxHash! });
        assert.equal(getAddress(tx.from), env.relayAddress);
        assert.equal(await delivered(env.a, sent.messageId), 1);
      }
      await setProbeMode(env.a, 1);
      const failing = await send("fails first");
      await relayer.waitFor(failing.messageId, ["failed"], 30_000);
      await setProbeMode(env.a, 0);
      const status = await relayer.waitFor(failing.messageId, ["delivered"], 30_000);
      assert.ok(status.history.some((h) => h.state === "retried"));
      const retry = await env.a.publicClient.getTransaction({ hash: status.deliveryTxHash! });
      assert.equal(getAddress(retry.from), env.relayAddress);
      assert.equal(await delivered(env.a, failing.messageId), 1);
    } finally {
      await relayer.stop();
    }
  });

  it("stops at every node's fee budget, and a restarted node still remembers what it charged", async () => {
    const fees = await env.a.publicClient.estimateFeesPerGas();
    const fee = GAS * fees.maxFeePerGas;
    // Room for one such transaction per node: a second signature would need two nodes with room left.
    const policy = { maxFeeWei: fee.toString(), budgetWei: ((3n * fee) / 2n).toString(), maxTransactions: 100 };
    await restartNodes(policy, true);
    const data = await delivery(await send("budget"));
    const first = await transaction(data, { maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() });
    const signed = await env.cluster.client(1).sign(KEY_ID, first);
    const next = (k: number) => ({ ...first, nonce: (first.nonce as number) + k });
    const refusedEverywhere = async (request: Record<string, unknown>): Promise<void> => {
      for (const index of env.cluster.nodes.keys()) await assert.rejects(env.cluster.client(index).sign(KEY_ID, request), /fee budget exhausted/);
    };
    await refusedEverywhere(next(1));
    // Each signer wrote its charge before it signed.
    const charged = async (): Promise<number> => (await budgets()).filter((text) => text !== null && text.includes(`"nonce":${first.nonce as number},`)).length;
    assert.ok((await charged()) >= signed.signers.length);
    await restartNodes(policy, false);
    assert.ok((await charged()) >= signed.signers.length);
    await refusedEverywhere(next(2));
  });
});
