/**
 * Signing-request validators over an in-memory view of what is final (the RPC side has its own tests
 * in chain-reader.test.ts): the node rebuilds every digest itself and refuses what it can't check.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, getAddress, keccak256, serializeTransaction, type Address, type Hex } from "viem";
import { FeeBudget, FeeBudgetUnreadable } from "../../relayer/node/chain/fee-budget.ts";
import { relayTransactionValidator } from "../../relayer/node/chain/relay-transactions.ts";
import { targetGatewayAbi, batchDigest, MessageBatch, messageDigest, messageId, relayRotationDigest, type Message } from "@mpc-relay/sdk";
import { batchAttestationValidator, messageAttestationValidator, relayRotationValidator, ValidatorRegistry, type SourceChainView } from "../../relayer/node/validators.ts";

const TARGET = getAddress("0x00000000000000000000000000000000000000a1");
const message = (nonce: bigint): Message => ({
  nonce,
  srcChainId: 1n,
  srcGateway: getAddress("0x00000000000000000000000000000000000000b1"),
  sender: getAddress("0x00000000000000000000000000000000000000c1"),
  dstChainId: 2n,
  receiver: getAddress("0x00000000000000000000000000000000000000d1"),
  gasLimit: 100_000n,
  payload: "0x1234",
});
const seen = [message(1n), message(2n)];
/** An in-memory chain view: only the messages in `seen` are final. */
const chains: SourceChainView = {
  async finalizedMessage(srcChainId, id) {
    return seen.find((m) => Number(m.srcChainId) === srcChainId && messageId(m) === id) ?? null;
  },
  targetGateway: (chainId) => (chainId === 2 ? TARGET : null),
};
const hex = (bytes: Uint8Array): Hex => `0x${Buffer.from(bytes).toString("hex")}`;
const context = { keyId: "k", address: "0x" };

describe("signing-request validators", () => {
  const registry = new ValidatorRegistry();
  registry.register(messageAttestationValidator(chains));
  registry.register(batchAttestationValidator(chains));
  const authorised = new Set<string>([getAddress("0x00000000000000000000000000000000000000e1")]);
  registry.register(relayRotationValidator(chains, { rotationAuthorized: async (_c, _t, r) => authorised.has(r.newRelay) }));

  it("attests a final message with the SDK's EIP-712 digest, and nothing it hasn't seen", async () => {
    const m = seen[0]!;
    const request = { type: "messageAttestation", srcChainId: 1, messageId: messageId(m), dstChainId: 2, targetGateway: TARGET };
    const { digest } = await registry.digestFor(request, context);
    assert.equal(hex(digest), messageDigest(m, TARGET));
    await assert.rejects(registry.digestFor({ ...request, messageId: messageId(message(9n)) }, context), /not seen final/);
    await assert.rejects(registry.digestFor({ ...request, targetGateway: getAddress("0x00000000000000000000000000000000000000f1") }, context), /not the target gateway/);
    await assert.rejects(registry.digestFor({ ...request, dstChainId: 3 }, context), /not the target gateway/);
  });

  it("attests a batch by its Merkle root", async () => {
    const request = { type: "batchAttestation", srcChainId: 1, messageIds: seen.map(messageId), dstChainId: 2, targetGateway: TARGET };
    const { digest } = await registry.digestFor(request, context);
    assert.equal(hex(digest), batchDigest(new MessageBatch(seen).root, 2, TARGET));
    await assert.rejects(registry.digestFor({ ...request, messageIds: [...request.messageIds, messageId(message(7n))] }, context), /not seen final/);
    await assert.rejects(registry.digestFor({ ...request, messageIds: [...request.messageIds, request.messageIds[0]!] }, context), /same message twice/);
  });

  it("signs a relay rotation only when authorised on chain and not expired", async () => {
    const deadline = String(Math.floor(Date.now() / 1000) + 600);
    const request = { type: "relayRotation", chainId: 2, targetGateway: TARGET, newRelay: "0x00000000000000000000000000000000000000e1", nonce: "4", deadline };
    const { digest } = await registry.digestFor(request, context);
    const rotation = { newRelay: getAddress(request.newRelay) as Address, nonce: 4n, deadline: BigInt(deadline) };
    assert.equal(hex(digest), relayRotationDigest(rotation, 2, TARGET));
    await assert.rejects(registry.digestFor({ ...request, newRelay: "0x00000000000000000000000000000000000000e2" }, context), /not authorised/);
    await assert.rejects(registry.digestFor({ ...request, deadline: "1000" }, context), /deadline has passed/);
  });

  it("rejects unknown request types and types without a validator", async () => {
    await assert.rejects(new ValidatorRegistry().digestFor({ type: "raw", digest: "0x00" }, context), /invalid signing request/);
    await assert.rejects(
      new ValidatorRegistry().digestFor({ type: "relayRotation", chainId: 2, targetGateway: TARGET, newRelay: TARGET, nonce: "1", deadline: "1" }, context),
      /no validator configured/,
    );
  });
});

describe("relay-address transactions", () => {
  const SENDER = getAddress("0x00000000000000000000000000000000000000e5");
  const relayContext = { keyId: "k", address: SENDER };
  const limits = new Map([[2, { maxFeeWei: 10n ** 16n, budgetWei: 10n ** 17n, periodMs: 3_600_000, maxTransactions: 100 }]]);
  const sig = [`0x${"11".repeat(32)}`, `0x${"22".repeat(32)}`] as const;
  const toOtherChain: Message = { ...message(5n), dstChainId: 3n };
  const toItself: Message = { ...message(6n), srcChainId: 2n };
  let dir: string;
  let registry: ValidatorRegistry;
  const view: SourceChainView = {
    async finalizedMessage(srcChainId, id) {
      return [...seen, toOtherChain, toItself].find((m) => Number(m.srcChainId) === srcChainId && messageId(m) === id) ?? null;
    },
    targetGateway: chains.targetGateway,
  };
  const tx = (data: string, extra: Record<string, unknown> = {}) => ({
    type: "relayTransaction",
    chainId: 2,
    nonce: 0,
    to: TARGET,
    data,
    value: "0",
    gas: "100000",
    maxFeePerGas: "1000000000",
    maxPriorityFeePerGas: "1",
    ...extra,
  });
  const receive = (m: Message): Hex => encodeFunctionData({ abi: targetGatewayAbi, functionName: "receiveMessage", args: [m, ...sig] });
  const batch = (ms: Message[]): Hex => {
    const { messages, proof, proofFlags } = new MessageBatch(ms).multiProof(ms);
    return encodeFunctionData({ abi: targetGatewayAbi, functionName: "receiveBatch", args: [messages, proof, proofFlags, ...sig] });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "relay-tx-"));
    registry = new ValidatorRegistry();
    registry.register(relayTransactionValidator(view, limits, new FeeBudget(join(dir, "budget.json"))));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("signs the three calls a relayer sends from the relay address, over the transaction's EIP-1559 hash", async () => {
    const retry = encodeFunctionData({ abi: targetGatewayAbi, functionName: "retryMessage", args: [seen[1]!] });
    for (const [nonce, data] of [receive(seen[0]!), batch(seen), retry].entries()) {
      const { digest } = await registry.digestFor(tx(data, { nonce }), relayContext);
      const expected = keccak256(serializeTransaction({ type: "eip1559", chainId: 2, nonce, to: TARGET, data, value: 0n, gas: 100_000n, maxFeePerGas: 10n ** 9n, maxPriorityFeePerGas: 1n }));
      assert.equal(hex(digest), expected);
    }
  });

  it("refuses any other call, target, chain, value, fee or encoding, with the reason", async () => {
    const data = receive(seen[0]!);
    const gateway = (functionName: string, args: unknown[]): Hex => encodeFunctionData({ abi: targetGatewayAbi, functionName, args } as never);
    const refusals: [Record<string, unknown>, RegExp][] = [
      [tx(gateway("setRelay", [SENDER])), /TargetGateway\.setRelay is not a call the relayer sends/],
      [tx(gateway("rotateRelay", [SENDER, 1n, "0x"])), /TargetGateway\.rotateRelay is not a call/],
      [tx(gateway("abandonMessage", [seen[0]!])), /TargetGateway\.abandonMessage is not a call/],
      [tx(gateway("pause", [])), /TargetGateway\.pause is not a call/],
      [tx(gateway("transferOwnership", [SENDER])), /TargetGateway\.transferOwnership is not a call/],
      [tx(`0xa9059cbb${"00".repeat(64)}`), /calldata is not a TargetGateway call \(selector 0xa9059cbb\)/],
      [tx("0x"), /calldata is not a TargetGateway call/],
      [tx(`${data}00`), /not the canonical encoding of TargetGateway\.receiveMessage/],
      // The message's nonce word (after the tuple offset, r and vs) with its unused high bits set.
      [tx(`${data.slice(0, 202)}ff${data.slice(204)}`), /not the canonical encoding of TargetGateway\.receiveMessage/],
      [tx(`${data.slice(0, 10)}${"00".repeat(31)}80${data.slice(74)}`), /calldata is not a TargetGateway call|not the canonical encoding/],
      [tx(data, { to: getAddress("0x00000000000000000000000000000000000000f1") }), /is not the target gateway this network serves on chain 2/],
      [tx(data, { chainId: 3 }), /relay transactions on chain 3 are not allowed by this node's policy/],
      [tx(data, { value: "1" }), /may not transfer value/],
      [tx(data, { gas: "0" }), /need gas/],
      [tx(data, { maxPriorityFeePerGas: "2000000000" }), /maxPriorityFeePerGas exceeds maxFeePerGas/],
      [tx(data, { gas: "10000001", maxFeePerGas: "1000000000" }), /exceeds the 10000000000000000 wei a relay transaction on chain 2 may pay/],
    ];
    for (const [request, reason] of refusals) await assert.rejects(registry.digestFor(request, relayContext), reason);
  });

  it("checks every carried message as its attestation would be checked; the embedded signature proves nothing", async () => {
    const forged: Message = { ...seen[0]!, payload: "0xdead" };
    const refusals: [Hex, RegExp][] = [
      [receive(forged), /not seen final/],
      [batch([seen[0]!, forged]), /not seen final/],
      [encodeFunctionData({ abi: targetGatewayAbi, functionName: "retryMessage", args: [forged] }), /not seen final/],
      [receive(toOtherChain), /goes from chain 1 to 3, not 1 to 2/],
      [receive(toItself), /would go from chain 2 to itself/],
      [encodeFunctionData({ abi: targetGatewayAbi, functionName: "receiveBatch", args: [[seen[0]!, seen[0]!], [], [true], ...sig] }), /same message twice/],
      [encodeFunctionData({ abi: targetGatewayAbi, functionName: "receiveBatch", args: [[], [], [], ...sig] }), /receiveBatch carries no message/],
    ];
    for (const [data, reason] of refusals) await assert.rejects(registry.digestFor(tx(data, { nonce: 50 }), relayContext), reason);
    await assert.rejects(registry.digestFor(tx(receive(seen[0]!)), { keyId: "k", address: "" }), /key k has no address/);
  });
});

describe("relay-transaction fee budget", () => {
  const limits = { budgetWei: 1_000n, periodMs: 60_000, maxTransactions: 4 };
  const A = "0x00000000000000000000000000000000000000aa";
  let dir: string;
  let clock: number;
  const budget = (): FeeBudget => new FeeBudget(join(dir, "data", "relay-fee-budget.json"), () => clock);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fee-budget-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("charges each nonce its most expensive version, refuses past the budget, and remembers across restarts", async () => {
    clock = 1_000_000;
    const first = budget();
    await first.charge(1, A, 0, 400n, limits);
    await first.charge(1, A, 1, 500n, limits);
    await first.charge(1, A, 0, 300n, limits); // a cheaper version of nonce 0 costs nothing more
    await first.charge(1, A, 0, 500n, limits); // a fee bump costs only the difference: 1000 of 1000
    await assert.rejects(first.charge(1, A, 2, 1n, limits), /chain 1: fee budget exhausted \(1000 of 1000 wei charged in the last 60 s; this transaction needs 1 more\)/);
    await first.charge(2, A, 2, 1_000n, limits); // another chain has its own budget
    // A restarted node reads what it charged: still exhausted.
    const restarted = budget();
    await assert.rejects(restarted.charge(1, A, 2, 1n, limits), /fee budget exhausted/);
    await restarted.charge(1, A, 1, 500n, limits); // the same transaction validated again
    // Once the period has passed, the charges no longer count.
    clock += 60_001;
    await restarted.charge(1, A, 2, 1_000n, limits);
  });

  it("counts transactions per period, and never lets concurrent charges overspend", async () => {
    clock = 5_000_000;
    const node = budget();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, nonce) => node.charge(7, A, nonce, 300n, limits)));
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 3, "1000 wei holds three 300-wei transactions");
    const counted = await Promise.allSettled(Array.from({ length: 6 }, (_, nonce) => node.charge(8, A, nonce, 1n, limits)));
    assert.equal(counted.filter((r) => r.status === "fulfilled").length, 4);
    await assert.rejects(node.charge(8, A, 9, 1n, limits), /chain 8: 4 relay transactions already signed in the last 60 s/);
  });

  it("refuses, and keeps refusing, when its file is damaged instead of starting from zero", async () => {
    const path = join(dir, "data", "relay-fee-budget.json");
    await writeFile(path, "{ not json");
    await assert.rejects(budget().charge(1, A, 100, 1n, limits), (error: unknown) => error instanceof FeeBudgetUnreadable && /unreadable/.test(error.message));
    assert.equal(await readFile(path, "utf8"), "{ not json", "the damaged file is left for the operator");
  });
});
