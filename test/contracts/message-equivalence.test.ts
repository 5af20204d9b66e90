/**
 * packages/sdk/src/message.ts and contracts/gateway/MessageLib.sol must hash identically: the MPC network signs
 * what the TypeScript side computes and the gateway verifies what the Solidity side computes.
 */
import "./helpers.ts";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { bytesToHex, getAddress, keccak256, numberToHex, type Address, type Hex } from "viem";
import { batchDigest, messageDigest, messageId, messageLeaf, MessageBatch, relayRotationDigest, type Message } from "@mpc-relay/sdk";
import { abiModulePath, bytecodeModulePath, renderAbiModule, renderBytecodeModule } from "../../scripts/lib/gen-abi.ts";

const { viem } = await network.create();
const harness = await viem.deployContract("MessageLibHarness");

/** Deterministic pseudo-random bytes (keccak counter mode), so a failure reproduces. */
function randomSource(seed: string) {
  let counter = 0;
  const bytes = (length: number): Uint8Array => {
    const out = new Uint8Array(length);
    for (let offset = 0; offset < length; offset += 32) {
      const block = keccak256(`0x${Buffer.from(`${seed}:${counter++}`).toString("hex")}`, "bytes");
      out.set(block.subarray(0, Math.min(32, length - offset)), offset);
    }
    return out;
  };
  const uint = (bits: number): bigint => BigInt(bytesToHex(bytes(bits / 8)));
  const address = (): Address => getAddress(bytesToHex(bytes(20)));
  return { bytes, uint, address };
}

const UINT64_MAX = (1n << 64n) - 1n;

function randomMessages(count: number, seed: string): Message[] {
  const random = randomSource(seed);
  const edge = (value: bigint, i: number) => (i % 5 === 0 ? UINT64_MAX : i % 7 === 0 ? 0n : value);
  return Array.from({ length: count }, (_, i) => ({
    nonce: edge(random.uint(64), i),
    srcChainId: edge(random.uint(32), i + 1),
    srcGateway: random.address(),
    sender: random.address(),
    dstChainId: edge(random.uint(32), i + 2),
    receiver: random.address(),
    gasLimit: edge(random.uint(24), i + 3),
    payload: bytesToHex(random.bytes(Number(random.uint(8)) * (i % 3))),
  }));
}

describe("message hashing: TypeScript SDK equals MessageLib", () => {
  const messages = randomMessages(24, "equivalence");

  it("messageId, leaf and digest agree on random messages (memory and calldata paths)", async () => {
    const random = randomSource("targets");
    for (const message of messages) {
      const target = random.address();
      const id = messageId(message);
      assert.equal(await harness.read.messageId([message]), id);
      assert.equal(await harness.read.messageIdCalldata([message]), id);
      assert.equal(await harness.read.leaf([id]), messageLeaf(id));
      const digest = messageDigest(message, target);
      assert.equal(await harness.read.digest([message, target]), digest);
      assert.equal(await harness.read.digestCalldata([message, target]), digest);
    }
  });

  it("every field changes the id", () => {
    const [base] = messages;
    assert.ok(base);
    const ids = new Set([
      messageId(base),
      messageId({ ...base, nonce: base.nonce ^ 1n }),
      messageId({ ...base, srcChainId: base.srcChainId ^ 1n }),
      messageId({ ...base, srcGateway: getAddress(numberToHex(1n, { size: 20 })) }),
      messageId({ ...base, sender: getAddress(numberToHex(2n, { size: 20 })) }),
      messageId({ ...base, dstChainId: base.dstChainId ^ 1n }),
      messageId({ ...base, receiver: getAddress(numberToHex(3n, { size: 20 })) }),
      messageId({ ...base, gasLimit: base.gasLimit ^ 1n }),
      messageId({ ...base, payload: `${base.payload}00` as Hex }),
    ]);
    assert.equal(ids.size, 9);
  });

  it("batch roots, multiproofs and batch digests agree for sizes 1 to 17 and partial selections", async () => {
    const random = randomSource("batches");
    for (const size of [1, 2, 3, 5, 8, 17]) {
      const batch = new MessageBatch(randomMessages(size, `batch-${size}`).map((m) => ({ ...m, dstChainId: 5n })));
      const selections = [batch.messages, batch.messages.filter((_, i) => i % 2 === 0)];
      for (const selected of selections) {
        const { messages: ordered, proof, proofFlags } = batch.multiProof(selected);
        assert.equal(ordered.length, selected.length);
        assert.equal(await harness.read.batchRoot([ordered.map(messageId), proof, proofFlags]), batch.root);
      }
      const target = random.address();
      assert.equal(await harness.read.batchDigest([batch.root, 5n, target]), batchDigest(batch.root, 5n, target));
    }
  });

  it("relay rotation digests agree", async () => {
    const random = randomSource("rotation");
    for (let i = 0; i < 5; i++) {
      const rotation = { newRelay: random.address(), nonce: random.uint(64), deadline: random.uint(40) };
      const chainId = random.uint(32);
      const target = random.address();
      assert.equal(await harness.read.relayRotationDigest([rotation.newRelay, rotation.nonce, rotation.deadline, chainId, target]), relayRotationDigest(rotation, chainId, target));
    }
  });

  it("the SDK rejects out-of-range and malformed messages with clear errors", () => {
    const [base] = messages;
    assert.ok(base);
    assert.throws(() => messageId({ ...base, nonce: UINT64_MAX + 1n }), /message.nonce must be a uint64/);
    assert.throws(() => messageId({ ...base, gasLimit: -1n }), /message.gasLimit must be a uint64/);
    assert.throws(() => messageId({ ...base, receiver: "0x1234" as Address }), /message.receiver is not an address/);
    assert.throws(() => messageId({ ...base, payload: "0x123" as Hex }), /even-length/);
    assert.throws(() => new MessageBatch([]), /at least one message/);
    assert.throws(() => new MessageBatch([base, base]), /same message twice/);
    assert.throws(() => new MessageBatch([base, { ...base, nonce: 1n, dstChainId: base.dstChainId + 1n }]), /same destination/);
  });

  it("packages/sdk/src/abi.ts matches the compiled contracts (regenerate with scripts/lib/gen-abi.ts)", async () => {
    assert.equal(await readFile(abiModulePath, "utf8"), await renderAbiModule());
  });

  it("packages/testkit/src/bytecode.ts is the compiled gateways' creation code (regenerate with scripts/lib/gen-abi.ts)", async () => {
    assert.equal(await readFile(bytecodeModulePath, "utf8"), await renderBytecodeModule());
  });
});
