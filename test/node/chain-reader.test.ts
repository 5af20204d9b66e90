/**
 * The node's chain reader and message checks against a real (in-process Hardhat) chain seen through
 * JSON-RPC endpoints on 127.0.0.1 that are slow, silent, limited or lying. Each attack asserts what
 * the node would sign (nothing), and that honest messages still pass.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodeAbiParameters, encodeEventTopics, getAddress, toHex, zeroAddress, type Hex } from "viem";
import { ChainReader, type MessageObservation, type QuorumResult } from "../../relayer/node/chain/reader.ts";
import { nodeChainSchema } from "../../relayer/node/chain/config.ts";
import { ChainViews } from "../../relayer/node/chain/validators.ts";
import { messageAttestationValidator } from "../../relayer/node/validators.ts";
import { sourceGatewayAbi, MpcRelayClient, type SentMessageInfo, messageId, type Message } from "@mpc-relay/sdk";
import { startChain, type TestChain } from "../relay/fixture.ts";
import { honest, logRange, startRpcProxy, type Behaviour, type RpcProxy } from "./rpc-proxy.ts";

const SOURCE = 31500;
const DESTINATION = 31501;
const context = { keyId: "k", address: zeroAddress };

interface RpcLog {
  address: Hex;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  transactionHash: Hex;
  transactionIndex: Hex;
  logIndex: Hex;
  removed: boolean;
}

/** An endpoint that shows `forged` as sent, in the block and transaction of a real message (so every other check holds). */
function fabricating(chain: TestChain, forged: Message, real: RpcLog): Behaviour {
  const event = sourceGatewayAbi.find((i) => i.type === "event" && i.name === "MessageSent")!;
  if (event.type !== "event") throw new Error("abi");
  const id = messageId(forged);
  const log: RpcLog = {
    ...real,
    address: chain.source,
    topics: encodeEventTopics({ abi: sourceGatewayAbi, eventName: "MessageSent", args: { messageId: id, dstChainId: forged.dstChainId, sender: forged.sender } }) as Hex[],
    data: encodeAbiParameters(
      event.inputs.filter((i) => !i.indexed),
      [forged, 10n ** 15n] as never,
    ),
  };
  return async (call, forward) => {
    const body = await forward();
    if (call.method === "eth_getLogs") {
      const filter = call.params[0] as { topics?: (Hex | Hex[] | null)[]; fromBlock: Hex; toBlock: Hex };
      const asked = [filter.topics?.[1] ?? []].flat().map((t) => t.toLowerCase());
      const inRange = BigInt(filter.fromBlock) <= BigInt(real.blockNumber) && BigInt(real.blockNumber) <= BigInt(filter.toBlock);
      if (asked.includes(id.toLowerCase()) && inRange) return { result: [...(body.result as RpcLog[]), log] };
    }
    if (call.method === "eth_getTransactionReceipt" && (call.params[0] as string).toLowerCase() === real.transactionHash.toLowerCase()) {
      return { result: { ...(body.result as object), logs: [log] } };
    }
    return body;
  };
}

describe("chain reader with slow, silent, limited and lying RPC endpoints", { timeout: 120_000 }, () => {
  let chain: TestChain;
  let sdk: MpcRelayClient;
  const proxies: RpcProxy[] = [];

  async function endpoints(...behaviours: Behaviour[]): Promise<RpcProxy[]> {
    const started = await Promise.all(behaviours.map((b) => startRpcProxy(chain.rpcUrl, b)));
    proxies.push(...started);
    return started;
  }
  function reader(urls: RpcProxy[], extra: Record<string, unknown> = {}): ChainReader {
    return new ChainReader(
      nodeChainSchema.parse({ chainId: SOURCE, rpcUrls: urls.map((p) => p.url), sourceGateway: chain.source, targetGateway: chain.target, fromBlock: chain.deployBlock, ...extra }),
    );
  }
  const send = (payload: string): Promise<SentMessageInfo> => sdk.send({ dstChainId: DESTINATION, receiver: chain.probe, payload: toHex(payload), gasLimit: 100_000n });
  async function realLog(sent: SentMessageInfo): Promise<RpcLog> {
    const receipt = (await chain.rpc("eth_getTransactionReceipt", [sent.txHash])) as { logs: RpcLog[] };
    return receipt.logs.find((l) => getAddress(l.address) === getAddress(chain.source))!;
  }
  const kind = (result: QuorumResult<MessageObservation> | undefined): string | undefined => result?.agreed?.kind;

  before(async () => {
    chain = await startChain(SOURCE, DESTINATION, zeroAddress);
    sdk = new MpcRelayClient({ source: { publicClient: chain.publicClient, walletClient: chain.wallet as never, gateway: chain.source } });
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await chain?.close();
  });

  it("answers as soon as a quorum agrees: a silent or slow endpoint of three costs nothing", async () => {
    const sent = await send("quorum first");
    const slow: Behaviour = async (_call, forward) => {
      await new Promise((r) => setTimeout(r, 3_000));
      return forward();
    };
    const [, , silent] = await endpoints(honest, honest, () => Promise.resolve("silent"));
    const [, slowProxy] = await endpoints(honest, slow, honest);
    // A deadline far away: only stopping at the first quorum ends these questions before it.
    for (const urls of [
      [proxies[0]!, proxies[1]!, silent!],
      [proxies[3]!, slowProxy!, proxies[5]!],
    ]) {
      const lagging = urls.find((p) => p === silent || p === slowProxy)!;
      const patient = reader(urls, { rpcTimeoutMs: 30_000 });
      const byTx = (await patient.observeMessages([sent.messageId], { txHash: sent.txHash })).get(sent.messageId)!;
      assert.equal(kind(byTx), "final");
      assert.ok(lagging.unanswered > 0, "answered while the lagging endpoint still held a call");
      const lagged = byTx.answers[urls.indexOf(lagging)];
      assert.ok(lagged instanceof Error && /no answer by the time the others had decided/.test(lagged.message), String(lagged));
      assert.equal(kind((await patient.observeMessages([sent.messageId])).get(sent.messageId)), "final", "by id (agreed head, then a scan)");
      assert.equal((await patient.targetRelayState()).agreed?.rotationNonce, 0n);
    }
  });

  it("gives up on silent endpoints at the chain's rpcTimeoutMs, and refuses without a quorum", async () => {
    const sent = await send("timeouts");
    const urls = await endpoints(
      () => Promise.resolve("silent"),
      () => Promise.resolve("silent"),
      honest,
    );
    const result = (await reader(urls, { rpcTimeoutMs: 300 }).observeMessages([sent.messageId], { txHash: sent.txHash })).get(sent.messageId)!;
    assert.equal(result.agreed, null);
    assert.match(String(result.answers[0]), /no answer within 300 ms/);
    const views = new ChainViews([nodeChainSchema.parse({ chainId: SOURCE, rpcUrls: urls.map((p) => p.url), sourceGateway: chain.source, targetGateway: chain.target, rpcTimeoutMs: 300 })]);
    await assert.rejects(
      views.finalizedMessage(SOURCE, sent.messageId, { txHash: sent.txHash }),
      /RPC endpoints of chain 31500 do not agree on message .*need 2; saw error: no answer within 300 ms, error: no answer within 300 ms, final/,
    );
  });

  it("never scans past the head a quorum agrees on, however far one endpoint overstates it", async () => {
    const sent = await send("overstated head");
    await chain.mine(5);
    const head = await chain.publicClient.getBlockNumber();
    const overstating: Behaviour = async (call, forward) => (call.method === "eth_blockNumber" ? { result: toHex(10n ** 9n) } : forward());
    const [a, b, liar] = await endpoints(honest, honest, overstating);
    const result = (await reader([a!, b!, liar!], { maxLogRange: 10, maxScanBlocks: 50 }).observeMessages([sent.messageId])).get(sent.messageId)!;
    assert.equal(kind(result), "final");
    const scans = liar!.calls.map(logRange).filter((r) => r !== null);
    assert.ok(scans.length > 0 && scans.length <= 5, `${scans.length} eth_getLogs calls to the overstating endpoint`);
    for (const range of scans) assert.ok(range.to <= head, `scanned up to ${range.to}, past the agreed head ${head}`);
    // A requested range longer than the node searches is refused before any eth_getLogs call.
    const before = liar!.calls.length;
    await assert.rejects(reader([a!, b!, liar!], { maxScanBlocks: 3 }).observeMessages([sent.messageId], undefined, { fromBlock: 0 }), /blocks \d+\.\.\d+ are more than the 3 this node searches/);
    assert.equal(liar!.calls.slice(before).filter((c) => c.method === "eth_getLogs").length, 0);
  });

  it("splits eth_getLogs ranges an endpoint refuses, and still counts its answer", async () => {
    const sent = await send("range limits");
    await chain.mine(20);
    const LIMIT = 5n;
    const limited: Behaviour = async (call, forward) => {
      const range = logRange(call);
      if (range !== null && range.to - range.from + 1n > LIMIT) return { error: { code: -32005, message: `query exceeds max block range ${LIMIT}` } };
      return forward();
    };
    const [plain, strict] = await endpoints(honest, limited);
    // Two endpoints: the quorum needs the limited one too.
    const fromBlock = chain.deployBlock;
    const toBlock = Number(await chain.publicClient.getBlockNumber());
    const result = await reader([plain!, strict!], { maxLogRange: 1_000 }).observeMessages([sent.messageId, messageId({ ...sent.message, nonce: 999n })], undefined, { fromBlock, toBlock });
    assert.equal(kind(result.get(sent.messageId)), "final");
    const calls = strict!.calls.map(logRange).filter((r) => r !== null);
    assert.ok(
      calls.some((r) => r.to - r.from + 1n > LIMIT),
      "the endpoint refused a range first",
    );
    const answered = calls.slice(calls.findLastIndex((r) => r.to - r.from + 1n > LIMIT) + 1);
    assert.ok(answered.length > 0 && answered.every((r) => r.to - r.from + 1n <= LIMIT));
    assert.equal(answered.at(-1)!.to, BigInt(toBlock), "the whole range was read");
  });

  it("does not keep vouching for a message its endpoints lied about once they tell the truth", async () => {
    const real = await send("real");
    const forged: Message = { ...real.message, payload: toHex("mint to the attacker") };
    const forgedId = messageId(forged);
    const lie = fabricating(chain, forged, await realLog(real));
    let lying = true;
    const sometimes: Behaviour = (call, forward) => (lying ? lie(call, forward) : forward());
    // Two of three endpoints lie (beyond the threat model): the quorum believes them while they do.
    const urls = await endpoints(honest, sometimes, sometimes);
    const node = reader(urls);
    assert.equal(kind((await node.observeMessages([forgedId])).get(forgedId)), "final");
    lying = false;
    assert.equal(kind((await node.observeMessages([forgedId])).get(forgedId)), "absent", "the earlier answer is not reused");
    assert.equal(kind((await node.observeMessages([real.messageId])).get(real.messageId)), "final");
  });

  it("takes back a final message when a reorg removes its block, and finds it where it lands again", async () => {
    const urls = await endpoints(honest, honest, honest);
    const node = reader(urls, { finality: { confirmations: 1 } });
    const snapshot = (await chain.rpc("evm_snapshot")) as Hex;
    const sent = await send("reorged");
    assert.equal(kind((await node.observeMessages([sent.messageId])).get(sent.messageId)), "final");
    assert.equal(await chain.rpc("evm_revert", [snapshot]), true);
    await chain.mine(3);
    assert.equal(kind((await node.observeMessages([sent.messageId])).get(sent.messageId)), "absent");
    assert.equal(kind((await node.observeMessages([sent.messageId], { txHash: sent.txHash })).get(sent.messageId)), "absent");
    // The same message sent again (same nonce after the reorg) lands in another block.
    const again = await send("reorged");
    assert.equal(again.messageId, sent.messageId);
    assert.notEqual(again.blockNumber, sent.blockNumber);
    const found = (await node.observeMessages([sent.messageId])).get(sent.messageId)!;
    assert.equal(kind(found), "final");
    assert.equal((found.agreed as Extract<MessageObservation, { kind: "final" }>).blockNumber, again.blockNumber);
  });

  it("by default attests only what the endpoints' finalized block covers", async () => {
    const sent = await send("finality");
    let lagging = true;
    // A chain whose finalized block trails its head (Hardhat's own answers "finalized" with the latest block).
    const trailing: Behaviour = async (call, forward) =>
      lagging && call.method === "eth_getBlockByNumber" && call.params[0] === "finalized" ? { result: await chain.rpc("eth_getBlockByNumber", [toHex(chain.deployBlock), false]) } : forward();
    const urls = await endpoints(trailing, trailing, trailing);
    const views = new ChainViews([nodeChainSchema.parse({ chainId: SOURCE, rpcUrls: urls.map((p) => p.url), sourceGateway: chain.source, targetGateway: chain.target })]);
    const result = (await views.reader(SOURCE).observeMessages([sent.messageId], { txHash: sent.txHash })).get(sent.messageId)!;
    assert.equal(kind(result), "pending");
    await assert.rejects(views.finalizedMessage(SOURCE, sent.messageId, { txHash: sent.txHash }), /is not final yet: its block \d+ is past the final block \d+ \(finality: the "finalized" block\)/);
    lagging = false;
    assert.deepEqual(await views.finalizedMessage(SOURCE, sent.messageId, { txHash: sent.txHash }), sent.message);
  });

  it("refuses a message from a chain to itself even when most endpoints show it sent", async () => {
    const real = await send("loop");
    const loop: Message = { ...real.message, dstChainId: BigInt(SOURCE) };
    const loopId = messageId(loop);
    const lie = fabricating(chain, loop, await realLog(real));
    const urls = await endpoints(honest, lie, lie);
    const views = new ChainViews([nodeChainSchema.parse({ chainId: SOURCE, rpcUrls: urls.map((p) => p.url), sourceGateway: chain.source, targetGateway: chain.target })]);
    // The lie is convincing: a quorum of endpoints shows it final...
    assert.equal(kind((await views.reader(SOURCE).observeMessages([loopId])).get(loopId)), "final");
    // ...and still nothing gets signed for it.
    const request = { type: "messageAttestation" as const, srcChainId: SOURCE, messageId: loopId, dstChainId: SOURCE, targetGateway: chain.target };
    await assert.rejects(messageAttestationValidator(views).validate(request, context), /would go from chain 31500 to itself/);
  });
});
