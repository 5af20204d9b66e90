/**
 * TargetGateway, function by function (delivery, batches, retries, rotation, pause, gas rules). Longer
 * than our ~400-line rule: one contract's behaviour in one place, its fixture shared by every case.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { getAddress, numberToHex, zeroAddress, zeroHash, type Address } from "viem";
import { fromCompactSignature, gatewayDomainSeparator, MessageBatch, messageId, relayRotationTypedData, toCompactSignature, type Message } from "@mpc-relay/sdk";
import { makeMessage, malleate, RETENTION_WINDOW, ROTATION_DELAY, signBatch, signMessage, testAccount } from "./helpers.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [owner, submitter, stranger] = await viem.getWalletClients();
const chainId = BigInt(await publicClient.getChainId());
/** Half the secp256k1 group order: the largest s OpenZeppelin's ECDSA accepts. */
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const relay = testAccount("relay");
const nextRelay = testAccount("next relay");
const forger = testAccount("forger");

async function deployFixture() {
  const gateway = await viem.deployContract("TargetGateway", [owner!.account.address, relay.address, ROTATION_DELAY, RETENTION_WINDOW]);
  const probe = await viem.deployContract("ProbeReceiver", [gateway.address]);
  return { gateway, probe };
}

function messageTo(receiver: Address, overrides: Partial<Message> = {}): Message {
  return makeMessage({ dstChainId: chainId, receiver, ...overrides });
}

describe("TargetGateway", () => {
  describe("constructor", () => {
    it("rejects a retention window longer than the rotation delay", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      await viem.assertions.revertWithCustomError(viem.deployContract("TargetGateway", [owner!.account.address, relay.address, 10n, 11n]), gateway, "InvalidConfig");
    });

    it("may start without a relay, accepting nothing until the owner sets one", async () => {
      const gateway = await viem.deployContract("TargetGateway", [owner!.account.address, zeroAddress, 0n, 0n]);
      const probe = await viem.deployContract("ProbeReceiver", [gateway.address]);
      assert.equal(await gateway.read.relay(), zeroAddress);
      assert.equal(await gateway.read.isRelay([zeroAddress]), false);
      const message = messageTo(probe.address);
      const signature = await signMessage(relay, message, gateway.address);
      await viem.assertions.revertWithCustomError(gateway.write.receiveMessage([message, ...toCompactSignature(signature)]), gateway, "InvalidSignature");
      await viem.assertions.emitWithArgs(gateway.write.setRelay([relay.address]), gateway, "RelayChanged", [zeroAddress, relay.address, 0n]);
      await gateway.write.receiveMessage([message, ...toCompactSignature(signature)]);
      assert.equal(await probe.read.received(), 1n);
    });
  });

  describe("receiveMessage", () => {
    it("delivers a relay-signed message submitted by anyone, exactly once", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      const message = messageTo(probe.address, { payload: "0xdeadbeef" });
      const id = messageId(message);
      const signature = await signMessage(relay, message, gateway.address);
      const hash = gateway.write.receiveMessage([message, ...toCompactSignature(signature)], { account: stranger!.account });
      await viem.assertions.emitWithArgs(hash, gateway, "MessageDelivered", [id]);
      assert.equal(await probe.read.received(), 1n);
      assert.equal(await probe.read.lastSrcChainId(), message.srcChainId);
      assert.equal(await probe.read.lastSender(), message.sender);
      assert.equal(await probe.read.lastPayload(), message.payload);
      assert.equal(await gateway.read.isReceived([message.srcChainId, message.srcGateway, message.nonce]), true);
      assert.equal(await gateway.read.isReceived([message.srcChainId, message.srcGateway, 1n]), false);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.receiveMessage([message, ...toCompactSignature(signature)]), gateway, "AlreadyReceived", [id]);
    });

    it("forwards exactly the message's gas limit to the receiver", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      const message = messageTo(probe.address, { gasLimit: 150_000n });
      await gateway.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, gateway.address))]);
      const gasAtEntry = await probe.read.lastGasAtEntry();
      // The probe measures after the gateway check and its own dispatch, a few hundred gas into the call.
      assert.ok(gasAtEntry <= 150_000n && gasAtEntry > 148_000n, `receiver saw ${gasAtEntry}`);
    });

    it("guarantees the full gas limit with a large payload, even at the least gas that succeeds", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      await probe.write.setMode([3]);
      const gasLimit = 300_000n;
      const message = messageTo(probe.address, { gasLimit, payload: `0x${"5a".repeat(8192)}` });
      const signature = await signMessage(relay, message, gateway.address);
      const gas = await publicClient.estimateContractGas({
        address: gateway.address,
        abi: gateway.abi,
        functionName: "receiveMessage",
        args: [message, ...toCompactSignature(signature)],
        account: submitter!.account,
      });
      await gateway.write.receiveMessage([message, ...toCompactSignature(signature)], { gas, account: submitter!.account });
      assert.equal(await probe.read.received(), 1n);
      const squeezed = await probe.read.lastGasAtEntry();
      // Reference: the same payload delivered with plenty of gas. The receiver's own dispatch costs the same
      // in both, so equal readings mean it was handed the same, full gas limit.
      const reference = messageTo(probe.address, { nonce: 1n, gasLimit, payload: message.payload });
      await gateway.write.receiveMessage([reference, ...toCompactSignature(await signMessage(relay, reference, gateway.address))], {
        gas: 5_000_000n,
      });
      assert.equal(squeezed, await probe.read.lastGasAtEntry());
      assert.ok(squeezed > gasLimit - 2_000n && squeezed < gasLimit);
    });

    it("keeps channels apart: the same nonce from another source gateway or chain is a new message", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      const variants = [
        messageTo(probe.address),
        messageTo(probe.address, { srcGateway: getAddress("0x0000000000000000000000000000000000000bad") }),
        messageTo(probe.address, { srcChainId: 11n }),
        messageTo(probe.address, { nonce: 256n }),
      ];
      for (const message of variants) {
        await gateway.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, gateway.address))]);
      }
      assert.equal(await probe.read.received(), BigInt(variants.length));
    });

    it("rejects a message for another chain", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      const message = messageTo(probe.address, { dstChainId: chainId + 1n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        gateway.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, gateway.address))]),
        gateway,
        "WrongDestinationChain",
        [chainId + 1n],
      );
    });

    it("rejects signatures by other keys, for other gateways, and over altered messages", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      const message = messageTo(probe.address);
      const forged = await signMessage(forger, message, gateway.address);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.receiveMessage([message, ...toCompactSignature(forged)]), gateway, "InvalidSignature", [forger.address]);
      const otherGateway = await signMessage(relay, message, probe.address);
      await viem.assertions.revertWithCustomError(gateway.write.receiveMessage([message, ...toCompactSignature(otherGateway)]), gateway, "InvalidSignature");
      const signature = await signMessage(relay, message, gateway.address);
      await viem.assertions.revertWithCustomError(gateway.write.receiveMessage([{ ...message, gasLimit: message.gasLimit + 1n }, ...toCompactSignature(signature)]), gateway, "InvalidSignature");
    });

    it("rejects malleable (high-s) and malformed signatures", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      const message = messageTo(probe.address);
      const signature = await signMessage(relay, message, gateway.address);
      // The compact form round-trips to the 65-byte form (the forgery watcher hands that to RelayStaking).
      assert.equal(fromCompactSignature(...toCompactSignature(signature)), signature);
      // The malleable twin (n - s >= 2^255 for almost every s) does not fit the compact form: the SDK refuses it.
      assert.throws(() => toCompactSignature(malleate(signature)), /high-s/);
      // An s in (n/2, 2^255) does fit: the gateway refuses it as OpenZeppelin does.
      const [r] = toCompactSignature(signature);
      const highS = numberToHex(HALF_ORDER + 1n, { size: 32 });
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.receiveMessage([message, r, highS]), gateway, "ECDSAInvalidSignatureS", [highS]);
      const [, vs] = toCompactSignature(signature);
      await viem.assertions.revertWithCustomError(gateway.write.receiveMessage([message, zeroHash, vs]), gateway, "ECDSAInvalidSignature");
    });

    it("stores a reverting receiver's message as failed instead of losing it", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      await probe.write.setMode([1]);
      const message = messageTo(probe.address);
      const id = messageId(message);
      await viem.assertions.emit(gateway.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, gateway.address))]), gateway, "MessageFailed");
      assert.equal(await gateway.read.failedState([id]), 1);
      assert.equal(await gateway.read.isReceived([message.srcChainId, message.srcGateway, message.nonce]), true);
    });

    it("treats a receiver without code as failed, so it can be retried once deployed", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const message = messageTo(getAddress("0x000000000000000000000000000000000000c0de"));
      await gateway.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, gateway.address))]);
      assert.equal(await gateway.read.failedState([messageId(message)]), 1);
    });

    it("reverts as a whole when the submitter gives too little gas, so the message stays deliverable", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      await probe.write.setMode([2]);
      const message = messageTo(probe.address, { gasLimit: 500_000n });
      const signature = await signMessage(relay, message, gateway.address);
      await viem.assertions.revertWithCustomError(gateway.write.receiveMessage([message, ...toCompactSignature(signature)], { gas: 400_000n }), gateway, "InsufficientGas");
      assert.equal(await gateway.read.isReceived([message.srcChainId, message.srcGateway, message.nonce]), false);
      // With enough gas the receiver burns its whole limit and the message is recorded as failed.
      const hash = await gateway.write.receiveMessage([message, ...toCompactSignature(signature)], { gas: 700_000n });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      assert.ok(receipt.gasUsed > 500_000n, `the receiver got its full gas limit (${receipt.gasUsed})`);
      assert.equal(await gateway.read.failedState([messageId(message)]), 1);
    });

    it("is stopped by pause (guardian or owner) and resumed by unpause (owner only)", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.pause({ account: stranger!.account }), gateway, "NotGuardian", [getAddress(stranger!.account.address)]);
      await viem.assertions.revertWithCustomError(gateway.write.unpause(), gateway, "ExpectedPause");
      await viem.assertions.emitWithArgs(gateway.write.pause(), gateway, "Paused", [getAddress(owner!.account.address)]);
      assert.equal(await gateway.read.paused(), true);
      await viem.assertions.revertWithCustomError(gateway.write.pause(), gateway, "EnforcedPause");
      const message = messageTo(probe.address);
      const signature = await signMessage(relay, message, gateway.address);
      await viem.assertions.revertWithCustomError(gateway.write.receiveMessage([message, ...toCompactSignature(signature)]), gateway, "EnforcedPause");
      await viem.assertions.revertWithCustomError(gateway.write.unpause({ account: stranger!.account }), gateway, "OwnableUnauthorizedAccount");
      await viem.assertions.emit(gateway.write.unpause(), gateway, "Unpaused");
      await gateway.write.receiveMessage([message, ...toCompactSignature(signature)]);
      assert.equal(await probe.read.received(), 1n);
    });
  });

  describe("retryMessage and abandonMessage", () => {
    async function failedMessageFixture() {
      const { gateway, probe } = await deployFixture();
      await probe.write.setMode([1]);
      const message = messageTo(probe.address, { payload: "0x0102" });
      await gateway.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, gateway.address))]);
      return { gateway, probe, message, id: messageId(message) };
    }

    it("retries a failed message once the receiver accepts it, then never again", async () => {
      const { gateway, probe, message, id } = await networkHelpers.loadFixture(failedMessageFixture);
      await viem.assertions.revertWithCustomError(gateway.write.retryMessage([message]), gateway, "RetryFailed");
      assert.equal(await gateway.read.failedState([id]), 1);
      await probe.write.setMode([0]);
      await viem.assertions.emitWithArgs(gateway.write.retryMessage([message], { account: stranger!.account }), gateway, "MessageDelivered", [id]);
      assert.equal(await probe.read.received(), 1n);
      assert.equal(await gateway.read.failedState([id]), 0);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.retryMessage([message]), gateway, "NotFailed", [id]);
    });

    it("gives a retry all the gas its caller supplies (a gas top-up needs no new attestation)", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      await probe.write.setMode([2]);
      const message = messageTo(probe.address, { gasLimit: 30_000n });
      await gateway.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, gateway.address))]);
      await probe.write.setMode([0]);
      await gateway.write.retryMessage([message], { gas: 400_000n });
      assert.ok((await probe.read.lastGasAtEntry()) > 300_000n);
    });

    it("keeps a message to a receiver without code failed on retry until code exists", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const message = messageTo(getAddress("0x000000000000000000000000000000000000c0de"));
      await gateway.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, gateway.address))]);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.retryMessage([message]), gateway, "RetryFailed", [messageId(message), "0x"]);
      assert.equal(await gateway.read.failedState([messageId(message)]), 1);
    });

    it("refuses to retry a message that never failed or was never received", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      const message = messageTo(probe.address);
      await viem.assertions.revertWithCustomError(gateway.write.retryMessage([message]), gateway, "NotFailed");
      await gateway.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, gateway.address))]);
      await viem.assertions.revertWithCustomError(gateway.write.retryMessage([message]), gateway, "NotFailed");
    });

    it("lets only the receiver abandon a failed message, which then can never run", async () => {
      const { gateway, probe, message, id } = await networkHelpers.loadFixture(failedMessageFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.abandonMessage([message], { account: stranger!.account }), gateway, "NotReceiver", [
        getAddress(stranger!.account.address),
        probe.address,
      ]);
      await viem.assertions.emitWithArgs(probe.write.abandon([message]), gateway, "MessageAbandoned", [id, probe.address]);
      assert.equal(await gateway.read.failedState([id]), 2);
      await probe.write.setMode([0]);
      await viem.assertions.revertWithCustomError(gateway.write.retryMessage([message]), gateway, "NotFailed");
      await viem.assertions.revertWithCustomError(probe.write.abandon([message]), gateway, "NotFailed");
    });

    it("does not retry while paused", async () => {
      const { gateway, message } = await networkHelpers.loadFixture(failedMessageFixture);
      await gateway.write.pause();
      await viem.assertions.revertWithCustomError(gateway.write.retryMessage([message]), gateway, "EnforcedPause");
    });
  });

  describe("receiveBatch", () => {
    async function batchFixture() {
      const { gateway, probe } = await deployFixture();
      const messages = Array.from({ length: 5 }, (_, i) => messageTo(probe.address, { nonce: BigInt(i), payload: `0x0${i}` }));
      const batch = new MessageBatch(messages);
      return { gateway, probe, batch, signature: await signBatch(relay, batch, gateway.address) };
    }

    it("delivers every message of a batch under one signature", async () => {
      const { gateway, probe, batch, signature } = await networkHelpers.loadFixture(batchFixture);
      const { messages, proof, proofFlags } = batch.multiProof();
      await gateway.write.receiveBatch([messages, proof, proofFlags, ...toCompactSignature(signature)]);
      assert.equal(await probe.read.received(), 5n);
    });

    it("delivers a subset, skips messages already received and keeps exactly-once", async () => {
      const { gateway, probe, batch, signature } = await networkHelpers.loadFixture(batchFixture);
      const first = batch.messages.slice(0, 2);
      const part = batch.multiProof(first);
      await gateway.write.receiveBatch([part.messages, part.proof, part.proofFlags, ...toCompactSignature(signature)]);
      assert.equal(await probe.read.received(), 2n);
      const all = batch.multiProof();
      await gateway.write.receiveBatch([all.messages, all.proof, all.proofFlags, ...toCompactSignature(signature)]);
      assert.equal(await probe.read.received(), 5n);
      await gateway.write.receiveBatch([all.messages, all.proof, all.proofFlags, ...toCompactSignature(signature)]);
      assert.equal(await probe.read.received(), 5n);
    });

    it("rejects a message that is not in the signed root", async () => {
      const { gateway, probe, batch, signature } = await networkHelpers.loadFixture(batchFixture);
      const { messages, proof, proofFlags } = batch.multiProof(batch.messages.slice(0, 1));
      const outsider = messageTo(probe.address, { nonce: 99n });
      await viem.assertions.revertWithCustomError(gateway.write.receiveBatch([[outsider], proof, proofFlags, ...toCompactSignature(signature)]), gateway, "InvalidSignature");
      await gateway.write.receiveBatch([messages, proof, proofFlags, ...toCompactSignature(signature)]);
      assert.equal(await probe.read.received(), 1n);
    });

    it("rejects a root signed by another key, an empty batch, a bad multiproof shape and a wrong chain", async () => {
      const { gateway, probe, batch } = await networkHelpers.loadFixture(batchFixture);
      const { messages, proof, proofFlags } = batch.multiProof();
      const forged = await signBatch(forger, batch, gateway.address);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.receiveBatch([messages, proof, proofFlags, ...toCompactSignature(forged)]), gateway, "InvalidSignature", [forger.address]);
      const signature = await signBatch(relay, batch, gateway.address);
      await viem.assertions.revertWithCustomError(gateway.write.receiveBatch([[], [], [], ...toCompactSignature(signature)]), gateway, "EmptyBatch");
      await viem.assertions.revertWithCustomError(gateway.write.receiveBatch([messages, proof, [...proofFlags, true], ...toCompactSignature(signature)]), gateway, "MerkleProofInvalidMultiproof");
      const foreign = messageTo(probe.address, { dstChainId: chainId + 1n });
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.receiveBatch([[foreign], [], [], ...toCompactSignature(signature)]), gateway, "WrongDestinationChain", [chainId + 1n]);
    });

    it("stores failing messages of a batch as failed and delivers the rest", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      const good = messageTo(probe.address, { nonce: 0n });
      const orphan = messageTo(getAddress("0x000000000000000000000000000000000000c0de"), { nonce: 1n });
      const batch = new MessageBatch([good, orphan]);
      const { messages, proof, proofFlags } = batch.multiProof();
      await gateway.write.receiveBatch([messages, proof, proofFlags, ...toCompactSignature(await signBatch(relay, batch, gateway.address))]);
      assert.equal(await probe.read.received(), 1n);
      assert.equal(await gateway.read.failedState([messageId(orphan)]), 1);
    });
  });

  describe("relay rotation", () => {
    async function signRotation(signer = relay, newRelay: Address = nextRelay.address, deadlineOffset = 3600n) {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const deadline = BigInt(await networkHelpers.time.latest()) + deadlineOffset;
      const nonce = await gateway.read.rotationNonce();
      const signature = await signer.signTypedData(relayRotationTypedData({ newRelay, nonce, deadline }, chainId, gateway.address));
      return { deadline, signature };
    }

    it("hands over to a new relay signed by the current one, keeping the old key for the retention window", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      const inFlight = messageTo(probe.address, { nonce: 7n });
      const oldSignature = await signMessage(relay, inFlight, gateway.address);
      const { deadline, signature } = await signRotation();
      await viem.assertions.emit(gateway.write.rotateRelay([nextRelay.address, deadline, signature], { account: stranger!.account }), gateway, "RelayChanged");
      assert.equal(await gateway.read.relay(), nextRelay.address);
      assert.equal(await gateway.read.rotationNonce(), 1n);
      assert.equal(await gateway.read.lastRotationAt(), BigInt(await networkHelpers.time.latest()));
      const [previous, expiresAt] = await gateway.read.previousRelay();
      assert.equal(previous, relay.address);
      assert.equal(expiresAt, BigInt(await networkHelpers.time.latest()) + RETENTION_WINDOW);
      // The old key still works inside the window, the new one at once; both reach the receiver intact.
      await gateway.write.receiveMessage([inFlight, ...toCompactSignature(oldSignature)]);
      assert.equal(await probe.read.lastPayload(), inFlight.payload);
      assert.equal(await probe.read.lastSender(), inFlight.sender);
      const fresh = messageTo(probe.address, { nonce: 8n });
      await gateway.write.receiveMessage([fresh, ...toCompactSignature(await signMessage(nextRelay, fresh, gateway.address))]);
      assert.equal(await probe.read.received(), 2n);
      // After the window the old key is refused.
      await networkHelpers.time.increase(RETENTION_WINDOW);
      const late = messageTo(probe.address, { nonce: 9n });
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.receiveMessage([late, ...toCompactSignature(await signMessage(relay, late, gateway.address))]), gateway, "InvalidSignature", [
        relay.address,
      ]);
      assert.equal(await gateway.read.isRelay([relay.address]), false);
    });

    it("cannot be replayed, and waits the minimum delay before the next rotation", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const { deadline, signature } = await signRotation();
      await gateway.write.rotateRelay([nextRelay.address, deadline, signature]);
      const third = testAccount("third relay");
      const nonce = await gateway.read.rotationNonce();
      const next = await nextRelay.signTypedData(relayRotationTypedData({ newRelay: third.address, nonce, deadline: deadline + ROTATION_DELAY }, chainId, gateway.address));
      await viem.assertions.revertWithCustomError(gateway.write.rotateRelay([third.address, deadline + ROTATION_DELAY, next]), gateway, "RotationTooSoon");
      await networkHelpers.time.increase(ROTATION_DELAY);
      // The first rotation's signature names nonce 0 and the old relay: useless now.
      await viem.assertions.revertWithCustomError(gateway.write.rotateRelay([nextRelay.address, deadline + ROTATION_DELAY, signature]), gateway, "InvalidRelay");
      await gateway.write.rotateRelay([third.address, deadline + ROTATION_DELAY, next]);
      assert.equal(await gateway.read.relay(), third.address);
    });

    it("refuses rotations signed by another key, expired, or to zero / the same relay", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const forged = await signRotation(forger);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.rotateRelay([nextRelay.address, forged.deadline, forged.signature]), gateway, "InvalidSignature", [forger.address]);
      const valid = await signRotation();
      await viem.assertions.revertWithCustomError(gateway.write.rotateRelay([testAccount("other").address, valid.deadline, valid.signature]), gateway, "InvalidSignature");
      await networkHelpers.time.increaseTo(valid.deadline + 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.rotateRelay([nextRelay.address, valid.deadline, valid.signature]), gateway, "RotationExpired", [valid.deadline]);
      const toZero = await signRotation(relay, zeroAddress);
      await viem.assertions.revertWithCustomError(gateway.write.rotateRelay([zeroAddress, toZero.deadline, toZero.signature]), gateway, "InvalidRelay");
      const toSelf = await signRotation(relay, relay.address);
      await viem.assertions.revertWithCustomError(gateway.write.rotateRelay([relay.address, toSelf.deadline, toSelf.signature]), gateway, "InvalidRelay");
    });

    it("lets only the current key hand over, not the previous one inside its window", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const first = await signRotation();
      await gateway.write.rotateRelay([nextRelay.address, first.deadline, first.signature]);
      await networkHelpers.time.increase(ROTATION_DELAY);
      const back = testAccount("attacker relay");
      const deadline = BigInt(await networkHelpers.time.latest()) + 100n;
      const signature = await relay.signTypedData(relayRotationTypedData({ newRelay: back.address, nonce: 1n, deadline }, chainId, gateway.address));
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.rotateRelay([back.address, deadline, signature]), gateway, "InvalidSignature", [relay.address]);
    });

    it("lets the owner set the relay directly, revoking the previous key at once and burning signed rotations", async () => {
      const { gateway, probe } = await networkHelpers.loadFixture(deployFixture);
      const pending = await signRotation();
      await viem.assertions.revertWithCustomError(gateway.write.setRelay([nextRelay.address], { account: stranger!.account }), gateway, "OwnableUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(gateway.write.setRelay([zeroAddress]), gateway, "InvalidRelay");
      await viem.assertions.emitWithArgs(gateway.write.setRelay([nextRelay.address]), gateway, "RelayChanged", [relay.address, nextRelay.address, 0n]);
      const message = messageTo(probe.address);
      await viem.assertions.revertWithCustomError(gateway.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, gateway.address))]), gateway, "InvalidSignature");
      await gateway.write.setRelay([relay.address]);
      await viem.assertions.revertWithCustomError(gateway.write.rotateRelay([nextRelay.address, pending.deadline, pending.signature]), gateway, "InvalidSignature");
    });
  });

  describe("ownership", () => {
    it("transfers in two steps", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      await gateway.write.transferOwnership([submitter!.account.address]);
      assert.equal(await gateway.read.owner(), getAddress(owner!.account.address));
      await gateway.write.acceptOwnership({ account: submitter!.account });
      assert.equal(await gateway.read.owner(), getAddress(submitter!.account.address));
    });
  });

  it("exposes the EIP-712 domain separator the SDK signs under", async () => {
    const { gateway } = await networkHelpers.loadFixture(deployFixture);
    assert.equal(await gateway.read.domainSeparator(), gatewayDomainSeparator(chainId, gateway.address));
  });
});
