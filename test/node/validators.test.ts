/** Signing-request validators: the node rebuilds every digest itself and refuses what it can't check. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAddress, type Address, type Hex } from "viem";
import { batchDigest, MessageBatch, messageDigest, messageId, relayRotationDigest, type Message } from "../../relayer/sdk/message.ts";
import {
  batchAttestationValidator,
  messageAttestationValidator,
  relayRotationValidator,
  ValidatorRegistry,
  type SourceChainView,
} from "../../relayer/node/validators.ts";

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
    await assert.rejects(new ValidatorRegistry().digestFor({ type: "relayRotation", chainId: 2, targetGateway: TARGET, newRelay: TARGET, nonce: "1", deadline: "1" }, context), /no validator configured/);
  });
});
