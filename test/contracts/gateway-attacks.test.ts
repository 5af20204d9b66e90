/**
 * Attacks on the gateways from issue 11 (findings 9 to 12), each asserting what the honest side cares about:
 * the receiver's work is done or the message is still there to run, nothing is stranded, a leaked or slow
 * governance key is not the only brake, and a signed rotation does not land while paused.
 * Finding 12's other half (two rotations signed for one nonce are slashable) is in test/staking/attacks.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { decodeErrorResult, getAddress, parseEventLogs, zeroAddress } from "viem";
import { messageId, relayRotationTypedData, toCompactSignature, type Message } from "@mpc-relay/sdk";
import { makeMessage, RETENTION_WINDOW, ROTATION_DELAY, signMessage, testAccount } from "./helpers.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [owner, guardian, attacker] = await viem.getWalletClients();
const chainId = BigInt(await publicClient.getChainId());
const relay = testAccount("relay");
const nextRelay = testAccount("next relay");

async function deployFixture() {
  const gateway = await viem.deployContract("TargetGateway", [owner!.account.address, relay.address, ROTATION_DELAY, RETENTION_WINDOW]);
  await gateway.write.setGuardian([guardian!.account.address]);
  const catching = await viem.deployContract("CatchingReceiver", [gateway.address]);
  const probe = await viem.deployContract("ProbeReceiver", [gateway.address]);
  return { gateway, catching, probe };
}

async function deliver(gateway: { address: `0x${string}`; write: { receiveMessage: (args: never, options?: never) => Promise<`0x${string}`> } }, message: Message, gas?: bigint) {
  const args = [message, ...toCompactSignature(await signMessage(relay, message, gateway.address))] as never;
  return gateway.write.receiveMessage(args, (gas === undefined ? undefined : { gas }) as never);
}

describe("gateway attacks", () => {
  it("finding 9: a squeezed retry cannot consume a catch-and-continue receiver's message with its work starved", async () => {
    const { gateway, catching } = await networkHelpers.loadFixture(deployFixture);
    const message = makeMessage({ dstChainId: chainId, receiver: catching.address, gasLimit: 300_000n });
    // The receiver is closed when the message arrives: it is kept as failed, to be retried once it opens.
    await catching.write.setClosed([true]);
    await deliver(gateway, message);
    assert.equal(await gateway.read.failedState([messageId(message)]), 1);
    await catching.write.setClosed([false]);

    // The attack: retry with enough gas for the receiver to run and mark the message handled, too little for
    // its inner work, which it swallows. Every such retry reverts whole; the message stays there to run.
    for (const gas of [80_000n, 150_000n, 250_000n]) {
      await assert.rejects(gateway.write.retryMessage([message], { account: attacker!.account, gas }));
      assert.equal(await gateway.read.failedState([messageId(message)]), 1, `still failed after a ${gas}-gas retry`);
      assert.equal(await catching.read.handled(), 0n, "the squeezed retry did not consume the message");
    }
    const required = (message.gasLimit * 64n) / 63n + 1_000n;
    await viem.assertions.revertWithCustomError(gateway.write.retryMessage([message], { account: attacker!.account, gas: required }), gateway, "InsufficientGas");
    // A retry that carries the message's gasLimit to the receiver runs the work.
    await gateway.write.retryMessage([message], { gas: 600_000n });
    assert.equal(await catching.read.handled(), 1n);
    assert.equal(await catching.read.completed(), 1n, "the receiver's work ran");
    assert.equal(await gateway.read.failedState([messageId(message)]), 0);

    // First delivery has the same guarantee: a squeezed submission reverts whole.
    await assert.rejects(deliver(gateway, { ...message, nonce: 1n }, 250_000n));
    assert.equal(await gateway.read.isReceived([message.srcChainId, message.srcGateway, 1n]), false);
    await deliver(gateway, { ...message, nonce: 1n });
    assert.equal(await catching.read.completed(), 2n);
  });

  it("finding 10: a gasLimit no block can carry is recorded as failed, so it can be abandoned instead of stranded", async () => {
    const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
    const block = await publicClient.getBlock();
    const huge = makeMessage({ dstChainId: chainId, receiver: probe.address, gasLimit: block.gasLimit });
    const hash = await deliver(gateway, huge);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    const [failed] = parseEventLogs({ abi: gateway.abi, logs: receipt.logs, eventName: "MessageFailed" });
    assert.ok(failed, "MessageFailed emitted");
    const reason = decodeErrorResult({ abi: gateway.abi, data: failed.args.reason });
    assert.equal(reason.errorName, "GasLimitAboveBlock");
    assert.equal(await probe.read.received(), 0n, "the receiver was not called with less than its limit");
    assert.equal(await gateway.read.failedState([messageId(huge)]), 1);
    // A retry still owes the receiver its whole limit, which no transaction can carry; the receiver can let go.
    await assert.rejects(gateway.write.retryMessage([huge], { gas: 25_000_000n }));
    await probe.write.abandon([huge]);
    assert.equal(await gateway.read.failedState([messageId(huge)]), 2);

    // In a batch too, while a deliverable sibling is delivered.
    const ok = makeMessage({ dstChainId: chainId, receiver: probe.address, nonce: 5n });
    const hugeToo = { ...huge, nonce: 6n };
    for (const m of [ok, hugeToo]) await deliver(gateway, m);
    assert.equal(await probe.read.received(), 1n);
    assert.equal(await gateway.read.failedState([messageId(hugeToo)]), 1);

    // And sources cannot open such a route any more.
    const source = await viem.deployContract("SourceGateway", [owner!.account.address, owner!.account.address, 1024]);
    await viem.assertions.revertWithCustomError(source.write.setDestination([5n, { baseFee: 0n, gasPrice: 0n, byteFee: 0n, maxGasLimit: 4_000_000_000 }]), source, "InvalidGasLimit");
  });

  it("finding 11: the guardian pauses and revokes at once; only governance sets relays and unpauses", async () => {
    const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
    const asAttacker = { account: attacker!.account };
    const asGuardian = { account: guardian!.account };
    for (const call of [gateway.write.pause(asAttacker), gateway.write.revokeRelay(asAttacker)]) {
      await viem.assertions.revertWithCustomErrorWithArgs(call, gateway, "NotGuardian", [getAddress(attacker!.account.address)]);
    }
    for (const call of [gateway.write.setRelay([attacker!.account.address], asGuardian), gateway.write.setGuardian([attacker!.account.address], asGuardian)]) {
      await viem.assertions.revertWithCustomError(call, gateway, "OwnableUnauthorizedAccount");
    }
    assert.equal(await gateway.read.guardian(), getAddress(guardian!.account.address));

    // Pause: nothing delivered, retried or rotated; the guardian cannot lift it.
    await gateway.write.pause(asGuardian);
    const message = makeMessage({ dstChainId: chainId, receiver: probe.address });
    await viem.assertions.revertWithCustomError(deliver(gateway, message), gateway, "EnforcedPause");
    await viem.assertions.revertWithCustomError(gateway.write.unpause(asGuardian), gateway, "OwnableUnauthorizedAccount");
    await gateway.write.unpause();

    // Revoke: the key is dropped at once, nothing signs until governance sets a relay, pending rotations die.
    const deadline = BigInt(await networkHelpers.time.latest()) + 3_600n;
    const rotation = await relay.signTypedData(relayRotationTypedData({ newRelay: nextRelay.address, nonce: 0n, deadline }, chainId, gateway.address));
    await viem.assertions.emitWithArgs(gateway.write.revokeRelay(asGuardian), gateway, "RelayChanged", [relay.address, zeroAddress, 0n]);
    assert.equal(await gateway.read.relay(), zeroAddress);
    await viem.assertions.revertWithCustomError(deliver(gateway, message), gateway, "InvalidSignature");
    await assert.rejects(gateway.write.rotateRelay([nextRelay.address, deadline, rotation]));
    assert.equal(await gateway.read.relay(), zeroAddress);
    await gateway.write.setRelay([relay.address]);
    await deliver(gateway, message);
    assert.equal(await probe.read.received(), 1n);
  });

  it("finding 11: no signed rotation goes through while paused", async () => {
    const { gateway } = await networkHelpers.loadFixture(deployFixture);
    const deadline = BigInt(await networkHelpers.time.latest()) + 3_600n;
    const signature = await relay.signTypedData(relayRotationTypedData({ newRelay: nextRelay.address, nonce: 0n, deadline }, chainId, gateway.address));
    await gateway.write.pause({ account: guardian!.account });
    await viem.assertions.revertWithCustomError(gateway.write.rotateRelay([nextRelay.address, deadline, signature], { account: attacker!.account }), gateway, "EnforcedPause");
    assert.equal(await gateway.read.relay(), relay.address);
    assert.equal(await gateway.read.rotationNonce(), 0n);
    await gateway.write.unpause();
    await gateway.write.rotateRelay([nextRelay.address, deadline, signature]);
    assert.equal(await gateway.read.relay(), nextRelay.address);
  });

  it("finding 12: of two rotations signed for one nonce at most one lands; the other is dead", async () => {
    const { gateway } = await networkHelpers.loadFixture(deployFixture);
    const deadline = BigInt(await networkHelpers.time.latest()) + 3_600n;
    const other = testAccount("attacker's relay");
    const sign = (newRelay: `0x${string}`) => relay.signTypedData(relayRotationTypedData({ newRelay, nonce: 0n, deadline }, chainId, gateway.address));
    const honest = await sign(nextRelay.address);
    const conflicting = await sign(other.address);
    await gateway.write.rotateRelay([nextRelay.address, deadline, honest]);
    await networkHelpers.time.increase(ROTATION_DELAY);
    await assert.rejects(gateway.write.rotateRelay([other.address, deadline + ROTATION_DELAY, conflicting]));
    assert.equal(await gateway.read.relay(), nextRelay.address);
  });
});
