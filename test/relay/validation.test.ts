/**
 * Node-side validation with real signer-node processes reading real (Hardhat) chains over JSON-RPC:
 * a node signs only a message its RPC quorum shows SourceGateway emitted, final, for a known target.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodeAbiParameters, encodeEventTopics, getAddress, keccak256, recoverAddress, toHex, type Address, type Hex } from "viem";
import { ChainReader } from "../../relayer/node/chain/reader.ts";
import { nodeChainSchema } from "../../relayer/node/chain/config.ts";
import { sourceGatewayAbi, targetGatewayAbi, MpcRelayClient, type SentMessageInfo, batchDigest, MessageBatch, messageDigest, messageId, relayRotationDigest, type Message } from "@mpc-relay/sdk";
import { startRpcProxy } from "../node/rpc-proxy.ts";
import { CHAIN_A, CHAIN_B, createEnv, KEY_ID, reconfigure, refusedByAll, type Env } from "./setup.ts";
import type { TestChain } from "./fixture.ts";

function sdk(chain: TestChain): MpcRelayClient {
  return new MpcRelayClient({ source: { publicClient: chain.publicClient, walletClient: chain.wallet as never, gateway: chain.source } });
}

async function send(chain: TestChain, dstChainId: number, receiver: Address, payload: Hex): Promise<SentMessageInfo> {
  return sdk(chain).send({ dstChainId, receiver, payload, gasLimit: 200_000n });
}

function attestation(sent: SentMessageInfo, target: Address, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "messageAttestation",
    srcChainId: Number(sent.message.srcChainId),
    messageId: sent.messageId,
    txHash: sent.txHash,
    dstChainId: Number(sent.message.dstChainId),
    targetGateway: target,
    ...extra,
  };
}

/** The MessageSent log a lying endpoint shows for `forged`, dressed in a real log's coordinates. */
function forgedLog(chain: TestChain, forged: Message, real: { blockNumber: Hex; blockHash: Hex; transactionHash: Hex; logIndex: Hex; transactionIndex: Hex }) {
  const event = sourceGatewayAbi.find((i) => i.type === "event" && i.name === "MessageSent")!;
  if (event.type !== "event") throw new Error("abi");
  const topics = encodeEventTopics({ abi: sourceGatewayAbi, eventName: "MessageSent", args: { messageId: messageId(forged), dstChainId: forged.dstChainId, sender: forged.sender } });
  const data = encodeAbiParameters(
    event.inputs.filter((i) => !i.indexed),
    [forged, 10n ** 15n] as never,
  );
  return { address: chain.source, topics, data, removed: false, ...real };
}

describe("node-side validation (3 node processes, 2 chains)", { timeout: 240_000 }, () => {
  let env: Env;
  before(async () => {
    env = await createEnv();
  });
  after(async () => {
    await env?.close();
  });

  it("signs a final message it re-derived, over the EIP-712 digest of the target", async () => {
    const sent = await send(env.b, CHAIN_A, env.a.probe, "0x01");
    const view = await env.cluster.client(2).sign(KEY_ID, attestation(sent, env.a.target));
    assert.equal(view.digest, messageDigest(sent.message, env.a.target));
    assert.equal(await recoverAddress({ hash: view.digest, signature: view.signature }), env.relayAddress);
    // Named by id only (no tx hash): the nodes search the gateway's logs themselves.
    const byId = await env.cluster.client(3).sign(KEY_ID, { ...attestation(sent, env.a.target), txHash: undefined });
    assert.equal(byId.digest, view.digest);
  });

  it("refuses, at every node, a message that was never sent and one with altered fields", async () => {
    const sent = await send(env.b, CHAIN_A, env.a.probe, "0x02");
    const neverSent = messageId({ ...sent.message, payload: "0x03" });
    await refusedByAll(env, attestation(sent, env.a.target, { messageId: neverSent, txHash: undefined }), /was not sent by SourceGateway/);
    await refusedByAll(env, attestation(sent, env.a.target, { messageId: neverSent }), /was not sent by SourceGateway/);
    await refusedByAll(env, attestation(sent, env.b.target, { dstChainId: CHAIN_B }), /would go from chain 31338 to itself/);
    await refusedByAll(env, attestation(sent, env.b.target), /is not the target gateway this network serves on chain 31337/);
    await refusedByAll(env, attestation(sent, env.a.target, { srcChainId: 5 }), /chain 5 is not configured on this node/);
    const other = await send(env.b, CHAIN_A, env.a.probe, "0x04");
    await refusedByAll(env, attestation(sent, env.a.target, { txHash: other.txHash }), /was not sent.*in tx/);
  });

  it("refuses a message that is not final yet, then signs it once it is", async () => {
    const sent = await send(env.a, CHAIN_B, env.b.probe, "0x05");
    await refusedByAll(env, attestation(sent, env.b.target), /not final yet: its block \d+ is past the final block \d+ \(finality: 2 confirmation\(s\)\)/);
    await env.a.mine(1);
    const view = await env.cluster.client(1).sign(KEY_ID, attestation(sent, env.b.target));
    assert.equal(await recoverAddress({ hash: messageDigest(sent.message, env.b.target), signature: view.signature }), env.relayAddress);
  });

  it("does not let one poisoned RPC endpoint out of three make a node sign", async () => {
    const real = await send(env.a, CHAIN_B, env.b.probe, "0x06");
    await env.a.mine(2);
    const forged: Message = { ...real.message, payload: toHex("mint 1000000 to the attacker") };
    const forgedId = messageId(forged);
    const receipt = await env.a.publicClient.getTransactionReceipt({ hash: real.txHash });
    const realLog = receipt.logs.find((l) => getAddress(l.address) === getAddress(env.a.source))!;
    const coordinates = {
      blockNumber: toHex(realLog.blockNumber),
      blockHash: realLog.blockHash,
      transactionHash: realLog.transactionHash,
      logIndex: toHex(realLog.logIndex),
      transactionIndex: toHex(realLog.transactionIndex),
    };
    env.poison.rewrite = (method, params, result) => {
      if (method === "eth_getLogs") {
        const filter = params[0] as { topics?: (Hex | Hex[] | null)[] };
        const wanted = [filter.topics?.[1] ?? []].flat();
        return wanted.includes(forgedId) ? [...(result as unknown[]), forgedLog(env.a, forged, coordinates)] : result;
      }
      if (method === "eth_getTransactionReceipt" && (params[0] as string).toLowerCase() === real.txHash.toLowerCase()) {
        return { ...(result as object), logs: [forgedLog(env.a, forged, coordinates)] };
      }
      return result;
    };
    try {
      // The lie is convincing on its own: a reader trusting only the poisoned endpoint sees the forgery as final.
      const chainA = { chainId: CHAIN_A, sourceGateway: env.a.source, targetGateway: env.a.target, finality: { confirmations: 2 } };
      const gullible = new ChainReader(nodeChainSchema.parse({ ...chainA, rpcUrls: [env.poisonedUrl] }));
      assert.equal((await gullible.observeMessages([forgedId])).get(forgedId)?.agreed?.kind, "final");
      const careful = new ChainReader(nodeChainSchema.parse({ ...chainA, rpcUrls: [env.a.rpcUrl, env.honestProxyUrl, env.poisonedUrl], quorum: 2 }));
      assert.equal((await careful.observeMessages([forgedId])).get(forgedId)?.agreed?.kind, "absent");
      // Two endpoints need both to agree: contradicting each other, they agree on nothing.
      const pair = new ChainReader(nodeChainSchema.parse({ ...chainA, rpcUrls: [env.a.rpcUrl, env.poisonedUrl] }));
      assert.equal((await pair.observeMessages([forgedId])).get(forgedId)?.agreed, null);

      const forgedRequest = { type: "messageAttestation", srcChainId: CHAIN_A, messageId: forgedId, dstChainId: CHAIN_B, targetGateway: env.b.target };
      await refusedByAll(env, forgedRequest, /was not sent by SourceGateway/);
      await refusedByAll(env, { ...forgedRequest, txHash: real.txHash }, /was not sent by SourceGateway/);
      // The honest majority still lets the real message through.
      const view = await env.cluster.client(3).sign(KEY_ID, attestation(real, env.b.target));
      assert.equal(view.digest, messageDigest(real.message, env.b.target));
    } finally {
      env.poison.rewrite = null;
    }
  });

  it("signs a batch root over re-derived messages and refuses a batch with a forged member", async () => {
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push(await send(env.b, CHAIN_A, env.a.probe, toHex(`batch ${i}`)));
    const ids = sent.map((s) => s.messageId);
    const request = { type: "batchAttestation", srcChainId: CHAIN_B, messageIds: ids, dstChainId: CHAIN_A, targetGateway: env.a.target };
    // A block-range hint only narrows the search: a wrong one finds nothing, the right one signs.
    const first = Number(sent[0]!.blockNumber);
    await refusedByAll(env, { ...request, fromBlock: 0, toBlock: first - 1 }, /was not sent by SourceGateway/);
    const hinted = await env.cluster.client(2).sign(KEY_ID, { ...request, fromBlock: first, toBlock: Number(sent[2]!.blockNumber) });
    const view = await env.cluster.client(1).sign(KEY_ID, request);
    assert.equal(hinted.digest, view.digest);
    const batch = new MessageBatch(sent.map((s) => s.message));
    assert.equal(view.digest, batchDigest(batch.root, CHAIN_A, env.a.target));
    assert.equal(await recoverAddress({ hash: view.digest, signature: view.signature }), env.relayAddress);
    const forgedId = messageId({ ...sent[0]!.message, gasLimit: 1_999_999n });
    await refusedByAll(env, { ...request, messageIds: [...ids, forgedId] }, /was not sent by SourceGateway/);
  });

  it("signs through a silent RPC endpoint without waiting for it, records no honest peer absent, and is not ready once a quorum falls silent", async () => {
    const silent = await startRpcProxy(env.b.rpcUrl, () => Promise.resolve("silent"));
    const honest = await startRpcProxy(env.b.rpcUrl);
    try {
      // Chain B read through three endpoints, one of which never answers (a majority of two still agrees).
      await reconfigure(env, (config) => {
        const chains = config.chains as { chainId: number; rpcUrls: string[] }[];
        chains.find((c) => c.chainId === CHAIN_B)!.rpcUrls = [env.b.rpcUrl, silent.url, honest.url];
      });
      const absences = async (): Promise<number[]> => Promise.all([...env.cluster.nodes.keys()].map(async (i) => (await env.cluster.client(i).absences()).absences.length));
      const absencesBefore = await absences();
      for (const index of env.cluster.nodes.keys()) {
        const sent = await send(env.b, CHAIN_A, env.a.probe, toHex(`silent endpoint ${index}`));
        // First-time messages: every node reads them through its endpoints within the prepare window.
        const view = await env.cluster.client(index).sign(KEY_ID, { ...attestation(sent, env.a.target), txHash: undefined });
        assert.equal(view.digest, messageDigest(sent.message, env.a.target));
        assert.equal(view.attempts, 1);
      }
      assert.ok(silent.unanswered > 0, "the silent endpoint was asked and never answered");
      assert.deepEqual(await absences(), absencesBefore, "no node recorded a peer absent");

      // Readiness follows the quorum: ready while two of the three endpoints answer, not once only one does.
      const node = env.cluster.nodes.get(1)!;
      const ready = async (): Promise<{ status: number; chains: { ok: boolean; detail: string } }> => {
        const response = await fetch(`http://127.0.0.1:${node.httpPort}/health/ready`);
        const body = (await response.json()) as { checks: { chains: { ok: boolean; detail: string } } };
        return { status: response.status, chains: body.checks.chains };
      };
      const before = await ready();
      assert.equal(before.status, 200, before.chains.detail);
      assert.match(before.chains.detail, /chain 31338: 2 of 3 endpoints answer \(quorum 2\)/);
      honest.behaviour = () => Promise.resolve("silent");
      let after = await ready();
      for (const until = Date.now() + 20_000; after.status === 200 && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 500));
        after = await ready();
      }
      assert.equal(after.status, 503);
      assert.equal(after.chains.ok, false);
      assert.match(after.chains.detail, /chain 31338: 1 of 3 endpoints answer \(quorum 2\)/);
    } finally {
      await reconfigure(env, (config) => {
        const chains = config.chains as { chainId: number; rpcUrls: string[] }[];
        chains.find((c) => c.chainId === CHAIN_B)!.rpcUrls = [env.b.rpcUrl];
      });
      await Promise.all([silent.close(), honest.close()]);
    }
  });

  it("signs a relay rotation only to a known relay at the gateway's current nonce", async () => {
    const nonce = await env.b.publicClient.readContract({ address: env.b.target, abi: targetGatewayAbi, functionName: "rotationNonce" });
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 1800);
    const rotation = { type: "relayRotation", chainId: CHAIN_B, targetGateway: env.b.target, newRelay: env.allowedRelay, nonce: nonce.toString(), deadline: deadline.toString() };
    await refusedByAll(env, { ...rotation, newRelay: getAddress(keccak256("0x01").slice(0, 42)) }, /neither a READY key of this node nor an allowed relay/);
    await refusedByAll(env, { ...rotation, nonce: (nonce + 1n).toString() }, /is not the gateway's current nonce/);
    await refusedByAll(env, { ...rotation, targetGateway: env.a.target }, /is not the target gateway this network serves on chain 31338/);
    const view = await env.cluster.client(2).sign(KEY_ID, rotation);
    assert.equal(view.digest, relayRotationDigest({ newRelay: env.allowedRelay, nonce, deadline }, CHAIN_B, env.b.target));
    // The gateway would accept it (simulated only, so the other tests keep their relay).
    await env.b.publicClient.simulateContract({
      address: env.b.target,
      abi: targetGatewayAbi,
      functionName: "rotateRelay",
      args: [env.allowedRelay, deadline, view.signature],
      account: env.b.deployer,
    });
  });

  it("signs at most one new relay per gateway nonce, so two valid rotations never race", async () => {
    const nonce = await env.b.publicClient.readContract({ address: env.b.target, abi: targetGatewayAbi, functionName: "rotationNonce" });
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 1800);
    const rotation = { type: "relayRotation", chainId: CHAIN_B, targetGateway: env.b.target, newRelay: env.allowedRelay, nonce: nonce.toString(), deadline: deadline.toString() };
    // Every node signs this nonce's rotation to allowedRelay once (each validates what it coordinates)...
    for (const index of [1, 2, 3]) await env.cluster.client(index).sign(KEY_ID, rotation);
    // ...and then refuses to sign the same nonce to another relay.
    await refusedByAll(env, { ...rotation, newRelay: env.otherAllowedRelay }, /already signs rotation nonce/);
    // The same new relay again (here with a later deadline) is harmless: both hand the gateway to it.
    const again = await env.cluster.client(3).sign(KEY_ID, { ...rotation, deadline: (deadline + 60n).toString() });
    assert.equal(again.digest, relayRotationDigest({ newRelay: env.allowedRelay, nonce, deadline: deadline + 60n }, CHAIN_B, env.b.target));
  });
});
