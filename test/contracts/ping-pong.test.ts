import "./helpers.ts";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { encodeAbiParameters, getAddress, parseEther, toFunctionSelector, zeroAddress, type Address } from "viem";
import { messageId, toCompactSignature } from "@mpc-relay/sdk";
import { makeMessage, signMessage, testAccount } from "./helpers.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [owner, stranger] = await viem.getWalletClients();
const chainId = BigInt(await publicClient.getChainId());
const REMOTE = 10n;
const REMOTE_PEER: Address = getAddress("0x0000000000000000000000000000000000000bee");
const relay = testAccount("relay");
const fees = { baseFee: 100n, gasPrice: 1n, byteFee: 1n, maxGasLimit: 1_000_000 };

async function deployFixture() {
  const source = await viem.deployContract("SourceGateway", [owner!.account.address, owner!.account.address, 1024]);
  const target = await viem.deployContract("TargetGateway", [owner!.account.address, relay.address, 3600n, 600n]);
  const pingPong = await viem.deployContract("PingPong", [source.address, target.address, owner!.account.address]);
  await source.write.setDestination([REMOTE, fees]);
  return { source, target, pingPong };
}

const payload = (kind: number, pingId: bigint) => encodeAbiParameters([{ type: "uint8" }, { type: "uint256" }], [kind, pingId]);

describe("PingPong and MessageReceiverBase", () => {
  it("rejects zero gateways at deployment", async () => {
    const { source, target, pingPong } = await networkHelpers.loadFixture(deployFixture);
    await viem.assertions.revertWithCustomError(viem.deployContract("PingPong", [zeroAddress, target.address, owner!.account.address]), pingPong, "ZeroGateway");
    await viem.assertions.revertWithCustomError(viem.deployContract("PingPong", [source.address, zeroAddress, owner!.account.address]), pingPong, "ZeroGateway");
  });

  it("only the target gateway may call onMessage", async () => {
    const { pingPong } = await networkHelpers.loadFixture(deployFixture);
    await viem.assertions.revertWithCustomErrorWithArgs(pingPong.write.onMessage([REMOTE, REMOTE_PEER, payload(2, 0n)], { account: stranger!.account }), pingPong, "NotGateway", [
      getAddress(stranger!.account.address),
    ]);
  });

  it("pings only known peers and lets only the owner set them", async () => {
    const { pingPong, source } = await networkHelpers.loadFixture(deployFixture);
    await viem.assertions.revertWithCustomErrorWithArgs(pingPong.write.ping([REMOTE]), pingPong, "UnknownPeer", [REMOTE]);
    await viem.assertions.revertWithCustomError(pingPong.write.setPeer([REMOTE, REMOTE_PEER], { account: stranger!.account }), pingPong, "OwnableUnauthorizedAccount");
    await viem.assertions.emitWithArgs(pingPong.write.setPeer([REMOTE, REMOTE_PEER]), pingPong, "PeerSet", [REMOTE, REMOTE_PEER]);
    const fee = await pingPong.read.quotePing([REMOTE]);
    await viem.assertions.emit(pingPong.write.ping([REMOTE], { value: fee }), source, "MessageSent");
    assert.equal(await pingPong.read.pingsSent(), 1n);
  });

  it("answers a ping from its peer with a pong paid from its balance, and counts pongs", async () => {
    const { pingPong, target, source } = await networkHelpers.loadFixture(deployFixture);
    await pingPong.write.setPeer([REMOTE, REMOTE_PEER]);
    const ping = makeMessage({ dstChainId: chainId, receiver: pingPong.address, sender: REMOTE_PEER, payload: payload(1, 7n), gasLimit: 300_000n });
    // Unfunded: the pong cannot be paid, the ping is kept as failed with the reason.
    await viem.assertions.emit(target.write.receiveMessage([ping, ...toCompactSignature(await signMessage(relay, ping, target.address))]), target, "MessageFailed");
    await networkHelpers.setBalance(pingPong.address, parseEther("1"));
    await viem.assertions.emit(target.write.retryMessage([ping]), source, "MessageSent");
    assert.equal(await pingPong.read.pingsReceived(), 1n);
    const pong = makeMessage({ nonce: 1n, dstChainId: chainId, receiver: pingPong.address, sender: REMOTE_PEER, payload: payload(2, 7n) });
    await viem.assertions.emitWithArgs(target.write.receiveMessage([pong, ...toCompactSignature(await signMessage(relay, pong, target.address))]), pingPong, "PongReceived", [REMOTE, 7n]);
    assert.equal(await pingPong.read.pongsReceived(), 1n);
  });

  it("refuses untrusted senders and unknown message kinds (stored as failed by the gateway)", async () => {
    const { pingPong, target } = await networkHelpers.loadFixture(deployFixture);
    await pingPong.write.setPeer([REMOTE, REMOTE_PEER]);
    const forged = makeMessage({ dstChainId: chainId, receiver: pingPong.address, sender: testAccount("x").address, payload: payload(2, 0n) });
    const odd = makeMessage({ nonce: 1n, dstChainId: chainId, receiver: pingPong.address, sender: REMOTE_PEER, payload: payload(9, 0n) });
    for (const message of [forged, odd]) {
      await target.write.receiveMessage([message, ...toCompactSignature(await signMessage(relay, message, target.address))]);
      assert.equal(await target.read.failedState([messageId(message)]), 1);
    }
    const startsWith = (signature: string) => (reason: unknown) => typeof reason === "string" && reason.startsWith(toFunctionSelector(signature));
    await viem.assertions.revertWithCustomErrorWithArgs(target.write.retryMessage([forged]), target, "RetryFailed", [messageId(forged), startsWith("UntrustedSender(uint64,address)")]);
    await viem.assertions.revertWithCustomErrorWithArgs(target.write.retryMessage([odd]), target, "RetryFailed", [messageId(odd), startsWith("UnknownMessageKind(uint8)")]);
    assert.equal(await pingPong.read.pongsReceived(), 0n);
  });
});
