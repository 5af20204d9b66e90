/**
 * Two chains with different chain ids in one process: messages sent on one are attested by a test key
 * (standing in for the MPC network's threshold key) and delivered on the other, in both directions.
 */
import "./helpers.ts";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { parseEther, parseEventLogs, type TransactionReceipt } from "viem";
import { decodeMessageSent, MessageBatch, toCompactSignature, type SentMessage } from "@mpc-relay/sdk";
import { signBatch, signMessage, testAccount } from "./helpers.ts";

const CHAIN_A = 31337n;
const CHAIN_B = 31338n;
const relay = testAccount("relay");
const destinationConfig = { baseFee: 10n ** 12n, gasPrice: 10n ** 6n, byteFee: 10n ** 9n, maxGasLimit: 2_000_000 };

async function deployChain(chainId: bigint, remoteChainId: bigint) {
  const connection = await network.create({ override: { chainId: Number(chainId) } });
  const { viem } = connection;
  const publicClient = await viem.getPublicClient();
  const [deployer] = await viem.getWalletClients();
  const owner = deployer!.account.address;
  const source = await viem.deployContract("SourceGateway", [owner, owner, 4096]);
  const target = await viem.deployContract("TargetGateway", [owner, relay.address, 3600n, 600n]);
  const pingPong = await viem.deployContract("PingPong", [source.address, target.address, owner]);
  const probe = await viem.deployContract("ProbeReceiver", [target.address]);
  await source.write.setDestination([remoteChainId, destinationConfig]);
  return { connection, viem, publicClient, source, target, pingPong, probe };
}

type Chain = Awaited<ReturnType<typeof deployChain>>;

function sentMessages(chain: Chain, receipt: TransactionReceipt): SentMessage[] {
  return parseEventLogs({ abi: chain.source.abi, logs: receipt.logs, eventName: "MessageSent" }).map(decodeMessageSent);
}

/** What a relayer does after the MPC network signed: check the source really sent it, then submit. */
async function relayMessage(from: Chain, to: Chain, sent: SentMessage) {
  assert.equal(await from.source.read.isSent([sent.messageId]), true);
  const signature = await signMessage(relay, sent.message, to.target.address);
  const hash = await to.target.write.receiveMessage([sent.message, ...toCompactSignature(signature)]);
  return to.publicClient.waitForTransactionReceipt({ hash });
}

describe("multi-chain delivery", async () => {
  const a = await deployChain(CHAIN_A, CHAIN_B);
  const b = await deployChain(CHAIN_B, CHAIN_A);
  await a.pingPong.write.setPeer([CHAIN_B, b.pingPong.address]);
  await b.pingPong.write.setPeer([CHAIN_A, a.pingPong.address]);

  it("runs the two chains with their own chain ids", async () => {
    assert.equal(BigInt(await a.publicClient.getChainId()), CHAIN_A);
    assert.equal(BigInt(await b.publicClient.getChainId()), CHAIN_B);
  });

  it("ping A -> B is answered by pong B -> A", async () => {
    const fee = await a.pingPong.read.quotePing([CHAIN_B]);
    const pingHash = await a.pingPong.write.ping([CHAIN_B], { value: fee });
    const [ping] = sentMessages(a, await a.publicClient.waitForTransactionReceipt({ hash: pingHash }));
    assert.ok(ping);
    assert.equal(ping.message.srcChainId, CHAIN_A);
    assert.equal(ping.message.dstChainId, CHAIN_B);

    // B's PingPong has no ETH for the pong fee: the ping fails and is kept.
    await relayMessage(a, b, ping);
    assert.equal(await b.target.read.failedState([ping.messageId]), 1);

    // Funded, anyone retries it; the pong leaves B.
    await b.connection.networkHelpers.setBalance(b.pingPong.address, parseEther("1"));
    const retryHash = await b.target.write.retryMessage([ping.message]);
    const [pong] = sentMessages(b, await b.publicClient.waitForTransactionReceipt({ hash: retryHash }));
    assert.ok(pong);
    assert.equal(await b.pingPong.read.pingsReceived(), 1n);
    assert.equal(pong.message.srcChainId, CHAIN_B);
    assert.equal(pong.message.receiver.toLowerCase(), a.pingPong.address.toLowerCase());

    await relayMessage(b, a, pong);
    assert.equal(await a.pingPong.read.pongsReceived(), 1n);
  });

  it("an attestation for chain B is worthless on chain A", async () => {
    const hash = await a.source.write.sendMessage([CHAIN_B, b.probe.address, "0x01", 100_000n], {
      value: await a.source.read.quoteFee([CHAIN_B, 1n, 100_000n]),
    });
    const [sent] = sentMessages(a, await a.publicClient.waitForTransactionReceipt({ hash }));
    assert.ok(sent);
    const forB = await signMessage(relay, sent.message, b.target.address);
    await a.viem.assertions.revertWithCustomError(a.target.write.receiveMessage([sent.message, ...toCompactSignature(forB)]), a.target, "WrongDestinationChain");
    // Rewriting the destination to A breaks the signature: the chain id is inside the signed id and domain.
    await a.viem.assertions.revertWithCustomError(a.target.write.receiveMessage([{ ...sent.message, dstChainId: CHAIN_A }, ...toCompactSignature(forB)]), a.target, "InvalidSignature");
    await relayMessage(a, b, sent);
    assert.equal(await b.probe.read.lastPayload(), "0x01");
  });

  it("a batch of messages A -> B arrives under one signature", async () => {
    const fee = await a.source.read.quoteFee([CHAIN_B, 2n, 200_000n]);
    const sent: SentMessage[] = [];
    for (let i = 0; i < 4; i++) {
      const hash = await a.source.write.sendMessage([CHAIN_B, b.probe.address, `0xbb0${i}`, 200_000n], { value: fee });
      sent.push(...sentMessages(a, await a.publicClient.waitForTransactionReceipt({ hash })));
    }
    const before = await b.probe.read.received();
    const batch = new MessageBatch(sent.map((s) => s.message));
    const { messages, proof, proofFlags } = batch.multiProof();
    await b.target.write.receiveBatch([messages, proof, proofFlags, ...toCompactSignature(await signBatch(relay, batch, b.target.address))]);
    assert.equal(await b.probe.read.received(), before + 4n);
    for (const s of sent) {
      assert.equal(await b.target.read.isReceived([CHAIN_A, s.message.srcGateway, s.message.nonce]), true);
    }
  });
});
