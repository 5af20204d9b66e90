/**
 * The ethers path a dapp on ethers v6 takes: TypeChain factories deploy and type the gateways, a message
 * is sent on one chain and delivered on another with an ethers Wallet's EIP-712 signature over the
 * SDK's message types, and the typed events and views read it back.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { Signature, TypedDataEncoder, Wallet, id as keccakText } from "ethers";
import { messageTypes } from "@mpc-relay/sdk";
import { ProbeReceiver__factory, SourceGateway__factory, TargetGateway__factory } from "../../types/ethers-contracts/index.js";

const A = 31337n;
const B = 31338n;

describe("ethers and TypeChain", () => {
  it("sends with SourceGateway__factory on one chain and delivers with an ethers signature on the other", async () => {
    const relay = new Wallet(keccakText("mpc-relay ethers test relay"));
    const { ethers: ethersA } = await network.create({ override: { chainId: Number(A) } });
    const { ethers: ethersB } = await network.create({ override: { chainId: Number(B) } });
    const [ownerA] = await ethersA.getSigners();
    const [ownerB] = await ethersB.getSigners();

    const source = await new SourceGateway__factory(ownerA).deploy(ownerA!.address, ownerA!.address, 4096);
    await source.setDestination(B, { baseFee: 10n ** 12n, gasPrice: 10n ** 6n, byteFee: 10n ** 9n, maxGasLimit: 2_000_000 });
    const target = await new TargetGateway__factory(ownerB).deploy(ownerB!.address, relay.address, 3600n, 600n);
    const probe = await new ProbeReceiver__factory(ownerB).deploy(await target.getAddress());

    const payload = "0x68656c6c6f";
    const fee = await source.quoteFee(B, 5n, 200_000n);
    const receipt = await (await source["sendMessage(uint64,address,bytes,uint64)"](B, await probe.getAddress(), payload, 200_000n, { value: fee })).wait();
    const [sent] = await source.queryFilter(source.filters.MessageSent(), receipt!.blockNumber, receipt!.blockNumber);
    const m = sent!.args.message;
    const message = { nonce: m.nonce, srcChainId: m.srcChainId, srcGateway: m.srcGateway, sender: m.sender, dstChainId: m.dstChainId, receiver: m.receiver, gasLimit: m.gasLimit, payload: m.payload };
    assert.equal(TypedDataEncoder.hashStruct("Message", { Message: [...messageTypes.Message] }, message), sent!.args.messageId, "the message id is the EIP-712 struct hash");

    const domain = { name: "MpcRelayGateway", version: "1", chainId: B, verifyingContract: await target.getAddress() };
    const signature = Signature.from(await relay.signTypedData(domain, { Message: [...messageTypes.Message] }, message));
    await (await target.receiveMessage(message, signature.r, signature.yParityAndS)).wait();

    assert.equal(await target.isReceived(A, await source.getAddress(), message.nonce), true);
    assert.equal(await probe.received(), 1n);
    assert.equal(await probe.lastPayload(), payload);
    const [delivered] = await target.queryFilter(target.filters.MessageDelivered(sent!.args.messageId));
    assert.ok(delivered !== undefined, "MessageDelivered is typed and filterable by id");
  });
});
