import "./helpers.ts";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { getAddress, parseEventLogs, zeroAddress, type Hex } from "viem";
import { decodeMessageSent, messageId } from "@mpc-relay/sdk";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [owner, dapp, feeRecipient, stranger] = await viem.getWalletClients();
const chainId = BigInt(await publicClient.getChainId());
const DST = 10n;
const RECEIVER = getAddress("0x000000000000000000000000000000000000cafe");
const config = { baseFee: 1_000n, gasPrice: 3n, byteFee: 7n, maxGasLimit: 1_000_000 };
const MAX_PAYLOAD = 1024;

function fee(payloadBytes: number, gasLimit: bigint): bigint {
  return config.baseFee + gasLimit * config.gasPrice + BigInt(payloadBytes) * config.byteFee;
}

async function deployFixture() {
  const gateway = await viem.deployContract("SourceGateway", [owner!.account.address, feeRecipient!.account.address, MAX_PAYLOAD]);
  await gateway.write.setDestination([DST, config]);
  // A contract without receive(): refunds and fee withdrawals to it fail (TransferFailed).
  const rejecter = await viem.deployContract("NoopReceiver");
  return { gateway, rejecter };
}

async function send(gateway: Awaited<ReturnType<typeof deployFixture>>["gateway"], payload: Hex, gasLimit: bigint, value: bigint) {
  const hash = await gateway.write.sendMessage([DST, RECEIVER, payload, gasLimit], {
    value,
    account: dapp!.account,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  const [log] = parseEventLogs({ abi: gateway.abi, logs: receipt.logs, eventName: "MessageSent" });
  assert.ok(log, "MessageSent emitted");
  return { receipt, sent: decodeMessageSent(log) };
}

describe("SourceGateway", () => {
  it("rejects a zero fee recipient at deployment", async () => {
    const { gateway } = await networkHelpers.loadFixture(deployFixture);
    await viem.assertions.revertWithCustomError(viem.deployContract("SourceGateway", [owner!.account.address, zeroAddress, MAX_PAYLOAD]), gateway, "ZeroAddress");
  });

  describe("sendMessage", () => {
    it("emits the full message with a per-destination nonce and records its id", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const { sent } = await send(gateway, "0xabcd", 50_000n, fee(2, 50_000n));
      assert.deepEqual(sent.message, {
        nonce: 0n,
        srcChainId: chainId,
        srcGateway: getAddress(gateway.address),
        sender: getAddress(dapp!.account.address),
        dstChainId: DST,
        receiver: RECEIVER,
        gasLimit: 50_000n,
        payload: "0xabcd",
      });
      assert.equal(sent.fee, fee(2, 50_000n));
      assert.equal(sent.messageId, messageId(sent.message));
      assert.equal(await gateway.read.isSent([sent.messageId]), true);
      assert.equal(await gateway.read.sentTo([sent.messageId]), DST);
      assert.equal(await gateway.read.nextNonce([DST]), 1n);
      const second = await send(gateway, "0x", 50_000n, fee(0, 50_000n));
      assert.equal(second.sent.message.nonce, 1n);
      assert.notEqual(second.sent.messageId, sent.messageId);
      assert.equal(await gateway.read.isSent([messageId({ ...sent.message, payload: "0xabce" })]), false);
    });

    it("keeps the fee and refunds the excess to the sender or to a chosen refund address", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const required = fee(1, 70_000n);
      await viem.assertions.balancesHaveChanged(gateway.write.sendMessage([DST, RECEIVER, "0x01", 70_000n], { value: required + 500n, account: dapp!.account }), [
        { address: gateway.address, amount: required },
      ]);
      await viem.assertions.emitWithArgs(
        gateway.write.sendMessage([DST, RECEIVER, "0x01", 70_000n, stranger!.account.address], {
          value: required + 9n,
          account: dapp!.account,
        }),
        gateway,
        "FeeRefunded",
        [getAddress(stranger!.account.address), 9n],
      );
      assert.equal(await publicClient.getBalance({ address: gateway.address }), 2n * required);
    });

    it("checks the fee, the destination, the receiver, the payload size and the gas limit", async () => {
      const { gateway, rejecter } = await networkHelpers.loadFixture(deployFixture);
      const required = fee(2, 10_000n);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.sendMessage([DST, RECEIVER, "0xabcd", 10_000n], { value: required - 1n }), gateway, "InsufficientFee", [
        required,
        required - 1n,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.sendMessage([DST + 1n, RECEIVER, "0x", 10_000n]), gateway, "UnsupportedDestination", [DST + 1n]);
      await viem.assertions.revertWithCustomError(gateway.write.sendMessage([DST, zeroAddress, "0x", 10_000n], { value: required }), gateway, "ZeroReceiver");
      const tooLong = `0x${"ab".repeat(MAX_PAYLOAD + 1)}` as Hex;
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.sendMessage([DST, RECEIVER, tooLong, 10_000n], { value: 10n ** 18n }), gateway, "PayloadTooLarge", [
        BigInt(MAX_PAYLOAD + 1),
        BigInt(MAX_PAYLOAD),
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.sendMessage([DST, RECEIVER, "0x", 1_000_001n], { value: 10n ** 18n }), gateway, "InvalidGasLimit", [1_000_001n, 1_000_000n]);
      await viem.assertions.revertWithCustomError(gateway.write.sendMessage([DST, RECEIVER, "0x", 0n], { value: 10n ** 18n }), gateway, "InvalidGasLimit");
      await viem.assertions.revertWithCustomError(gateway.write.sendMessage([DST, RECEIVER, "0x", 10_000n, zeroAddress], { value: required }), gateway, "ZeroAddress");
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.sendMessage([DST, RECEIVER, "0x", 10_000n, rejecter.address], { value: required }), gateway, "TransferFailed", [
        rejecter.address,
        required - fee(0, 10_000n),
      ]);
    });

    it("accepts the largest payload and gas limit allowed", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const payload = `0x${"11".repeat(MAX_PAYLOAD)}` as Hex;
      const { sent } = await send(gateway, payload, 1_000_000n, fee(MAX_PAYLOAD, 1_000_000n));
      assert.equal(sent.message.payload, payload);
    });

    it("is stopped by pause (sends and gas top-ups)", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.pause({ account: stranger!.account }), gateway, "NotGuardian", [getAddress(stranger!.account.address)]);
      await viem.assertions.revertWithCustomError(gateway.write.unpause(), gateway, "ExpectedPause");
      const { sent } = await send(gateway, "0x", 10_000n, fee(0, 10_000n));
      await gateway.write.pause();
      await viem.assertions.revertWithCustomError(gateway.write.sendMessage([DST, RECEIVER, "0x", 10_000n], { value: fee(0, 10_000n) }), gateway, "EnforcedPause");
      await viem.assertions.revertWithCustomError(gateway.write.addGas([sent.messageId, 1n], { value: config.gasPrice }), gateway, "EnforcedPause");
      await gateway.write.unpause();
      await send(gateway, "0x", 10_000n, fee(0, 10_000n));
    });
  });

  describe("quoteFee", () => {
    it("prices base fee, gas and payload bytes, and rejects what sendMessage rejects", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      assert.equal(await gateway.read.quoteFee([DST, 100n, 200_000n]), fee(100, 200_000n));
      await viem.assertions.revertWithCustomError(gateway.read.quoteFee([7n, 0n, 1n]), gateway, "UnsupportedDestination");
      await viem.assertions.revertWithCustomError(gateway.read.quoteFee([DST, BigInt(MAX_PAYLOAD + 1), 1n]), gateway, "PayloadTooLarge");
      await viem.assertions.revertWithCustomError(gateway.read.quoteFee([DST, 0n, 0n]), gateway, "InvalidGasLimit");
    });
  });

  describe("addGas", () => {
    it("charges extra gas at the destination's gas price, refunds the excess and emits GasAdded", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const { sent } = await send(gateway, "0x", 20_000n, fee(0, 20_000n));
      const extra = 30_000n;
      assert.equal(await gateway.read.quoteAddGas([sent.messageId, extra]), extra * config.gasPrice);
      const hash = gateway.write.addGas([sent.messageId, extra], {
        value: extra * config.gasPrice + 4n,
        account: stranger!.account,
      });
      await viem.assertions.emitWithArgs(hash, gateway, "GasAdded", [sent.messageId, extra, extra * config.gasPrice]);
      assert.equal(await publicClient.getBalance({ address: gateway.address }), fee(0, 20_000n) + extra * config.gasPrice);
    });

    it("rejects unknown messages, zero gas and underpayment", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      const unknown = `0x${"00".repeat(31)}01` as Hex;
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.addGas([unknown, 1n]), gateway, "UnknownMessage", [unknown]);
      const { sent } = await send(gateway, "0x", 20_000n, fee(0, 20_000n));
      await viem.assertions.revertWithCustomError(gateway.write.addGas([sent.messageId, 0n]), gateway, "ZeroExtraGas");
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.addGas([sent.messageId, 10n], { value: 29n }), gateway, "InsufficientFee", [30n, 29n]);
      await gateway.write.setDestination([DST, { baseFee: 0n, gasPrice: 0n, byteFee: 0n, maxGasLimit: 0 }]);
      await viem.assertions.revertWithCustomError(gateway.write.addGas([sent.messageId, 10n], { value: 30n }), gateway, "UnsupportedDestination");
    });
  });

  describe("administration", () => {
    it("configures destinations (owner only, never this chain or chain 0, gas bound capped) and payload bound", async () => {
      const { gateway } = await networkHelpers.loadFixture(deployFixture);
      await viem.assertions.revertWithCustomError(gateway.write.setDestination([chainId, config]), gateway, "DestinationIsSourceChain");
      await viem.assertions.revertWithCustomError(gateway.write.setDestination([0n, config]), gateway, "ZeroDestinationChain");
      const cap = await gateway.read.MAX_GAS_LIMIT();
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.setDestination([5n, { ...config, maxGasLimit: cap + 1 }]), gateway, "InvalidGasLimit", [BigInt(cap + 1), BigInt(cap)]);
      await gateway.write.setDestination([5n, { ...config, maxGasLimit: cap }]);
      await viem.assertions.revertWithCustomError(gateway.write.setDestination([5n, config], { account: stranger!.account }), gateway, "OwnableUnauthorizedAccount");
      await viem.assertions.emit(gateway.write.setDestination([5n, config]), gateway, "DestinationConfigured");
      assert.deepEqual(await gateway.read.destination([5n]), config);
      await viem.assertions.emitWithArgs(gateway.write.setMaxPayloadBytes([10]), gateway, "MaxPayloadBytesSet", [10]);
      assert.equal(await gateway.read.maxPayloadBytes(), 10);
      await viem.assertions.revertWithCustomError(gateway.write.setMaxPayloadBytes([10], { account: stranger!.account }), gateway, "OwnableUnauthorizedAccount");
    });

    it("withdraws collected fees to the configured recipient only", async () => {
      const { gateway, rejecter } = await networkHelpers.loadFixture(deployFixture);
      await viem.assertions.revertWithCustomError(gateway.write.withdrawFees(), gateway, "NothingToWithdraw");
      const required = fee(0, 10_000n);
      await send(gateway, "0x", 10_000n, required);
      await viem.assertions.balancesHaveChanged(gateway.write.withdrawFees({ account: stranger!.account }), [
        { address: feeRecipient!.account.address, amount: required },
        { address: gateway.address, amount: -required },
      ]);
      await viem.assertions.revertWithCustomError(gateway.write.setFeeRecipient([zeroAddress]), gateway, "ZeroAddress");
      await viem.assertions.revertWithCustomError(gateway.write.setFeeRecipient([stranger!.account.address], { account: stranger!.account }), gateway, "OwnableUnauthorizedAccount");
      await viem.assertions.emitWithArgs(gateway.write.setFeeRecipient([rejecter.address]), gateway, "FeeRecipientSet", [rejecter.address]);
      await send(gateway, "0x", 10_000n, required);
      await viem.assertions.revertWithCustomErrorWithArgs(gateway.write.withdrawFees(), gateway, "TransferFailed", [rejecter.address, required]);
    });
  });
});
