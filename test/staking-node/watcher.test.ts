/**
 * The forgery watcher against real contracts (Hardhat in-process): a delivered message its source never sent is
 * proven to the SlashingCourt and the signing key's lineage slashed; "never sent" is judged on the source's final
 * state only, so a message not yet final, or one a reorg removed, is never proven against honest nodes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { getAddress, keccak256, toHex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { sourceGatewayAbi, MessageBatch, batchDigest, messageId, messageTypedData, toCompactSignature, type Message } from "@mpc-relay/sdk";
import { ForgeryWatcher } from "../../relayer/staking/watcher.ts";
import { addressesOf, deployWithOperators, networkHelpers, submitKeyAs, viem } from "./fixture.ts";

describe("staking node: forged-attestation watcher", () => {
  /** Epoch 1 confirmed on a relay key the test holds (no product backdoor), and gateways trusting it. */
  async function forgingCommittee() {
    const d = await networkHelpers.loadFixture(deployWithOperators);
    const relayAccount = privateKeyToAccount(keccak256(toHex("forging relay key")));
    await d.staking.write.electCommittee([addressesOf(d.operators.slice(0, 4)), 3]);
    for (const operator of d.operators.slice(0, 4)) {
      await submitKeyAs(d, operator, 1n, relayAccount.publicKey);
    }
    const owner = d.owner.account!.address;
    const source = await viem.deployContract("SourceGateway", [owner, owner, 1024]);
    const target = await viem.deployContract("TargetGateway", [owner, relayAccount.address, 3_600n, 600n]);
    await d.staking.write.setSourceGateway([source.address]);
    const fromBlock = await d.publicClient.getBlockNumber();
    const prover = d.operators[4]!.account;
    const watcher = new ForgeryWatcher(
      [
        {
          chainId: d.chainId,
          client: d.publicClient,
          targetGateway: target.address,
          source: { gateway: source.address, staking: d.staking.address, court: d.court.address, wallet: d.wallet },
          fromBlock,
        },
      ],
      prover,
      { info: () => {}, warn: () => {} },
    );
    const stakes = () => Promise.all(d.operators.slice(0, 4).map(async (o) => (await d.staking.read.getNode([o.account.address])).stake));
    return { d, relayAccount, owner, source, target, prover, watcher, stakes };
  }

  it("proves a delivered message the source never sent and slashes the committee whose relay signed it", async () => {
    const { d, relayAccount, owner, source, target, prover, watcher, stakes } = await forgingCommittee();
    const forged: Message = {
      nonce: 7n,
      srcChainId: BigInt(d.chainId),
      srcGateway: source.address,
      sender: owner,
      dstChainId: BigInt(d.chainId),
      receiver: "0x00000000000000000000000000000000000000b2",
      gasLimit: 100_000n,
      payload: "0x1234",
    };
    const signature = await relayAccount.signTypedData(messageTypedData(forged, target.address));
    await target.write.receiveMessage([forged, ...toCompactSignature(signature)]);

    const stakesBefore = await stakes();
    const proofs = await watcher.scan();
    assert.equal(proofs.length, 1);
    assert.equal(proofs[0]!.relay, relayAccount.address);
    assert.equal(proofs[0]!.messageId, messageId(forged));
    for (const [i, o] of d.operators.slice(0, 4).entries()) {
      assert.equal((await d.staking.read.getNode([o.account.address])).stake, stakesBefore[i]! / 2n, `member ${i} lost half its stake`);
    }
    assert.ok((await d.staking.read.rewards([prover.address])) > 0n, "the prover (no member) was paid");
    assert.deepEqual(await watcher.scan(), [], "nothing new to prove");
  });

  it("answers whether a delivered message was sent from the source's MessageSent logs, not with a call per message", async () => {
    const { d, relayAccount, source, target: targetA, prover } = await forgingCommittee();
    // Chain b, where chain a's messages are delivered.
    const b = await network.create({ override: { chainId: 31338 } });
    const bClient = (await b.viem.getPublicClient()) as unknown as PublicClient;
    const [bOwner] = await b.viem.getWalletClients();
    const targetB = await b.viem.deployContract("TargetGateway", [bOwner!.account.address, relayAccount.address, 3_600n, 600n]);
    await source.write.setDestination([31338n, { baseFee: 0n, gasPrice: 0n, byteFee: 0n, maxGasLimit: 1_000_000 }]);
    const fromBlock = await d.publicClient.getBlockNumber();
    const receiver = "0x00000000000000000000000000000000000000b2";
    for (let i = 0; i < 3; i++) await source.write.sendMessage([31338n, receiver, toHex(`sent ${i}`), 100_000n]);
    const sentLogs = await d.publicClient.getContractEvents({ address: source.address, abi: sourceGatewayAbi, eventName: "MessageSent", fromBlock });
    const forged: Message = { ...sentLogs[0]!.args.message!, nonce: 99n, payload: "0xbad0" };
    for (const message of [...sentLogs.map((log) => log.args.message!), forged]) {
      const signature = await relayAccount.signTypedData(messageTypedData(message, targetB.address));
      await targetB.write.receiveMessage([message, ...toCompactSignature(signature)]);
    }
    const watcher = new ForgeryWatcher(
      [
        {
          chainId: d.chainId,
          client: d.publicClient,
          targetGateway: targetA.address,
          source: { gateway: source.address, staking: d.staking.address, court: d.court.address, wallet: d.wallet },
          fromBlock,
        },
        { chainId: 31338, client: bClient, targetGateway: targetB.address, fromBlock: 0n },
      ],
      prover,
      { info: () => {}, warn: () => {} },
    );
    const proofs = await watcher.scan();
    assert.deepEqual(
      proofs.map((p) => p.messageId),
      [messageId(forged)],
    );
    assert.deepEqual(watcher.checks, { fromLogs: 3, byCall: 1 }, "only the unsent message cost an isSent call");
  });

  it("proves a forged member of a partly delivered batch, and of a batch delivered whole", async () => {
    const { d, relayAccount, owner, source, target, watcher, stakes } = await forgingCommittee();
    const message = (nonce: bigint, srcChainId = BigInt(d.chainId)): Message => ({
      nonce,
      srcChainId,
      srcGateway: source.address,
      sender: owner,
      dstChainId: BigInt(d.chainId),
      receiver: "0x00000000000000000000000000000000000000b2",
      gasLimit: 100_000n,
      payload: toHex(`batch member ${nonce}`),
    });
    // Source and target share this one Hardhat chain, where nothing can be sent to itself: the honest
    // delivered member comes from a chain the watcher does not watch (the contract tests cover a sent one).
    const foreign = message(1n, 5n);
    const forged = message(2n);
    const partial = new MessageBatch([message(0n), foreign, forged, message(3n)]);
    const delivered = partial.multiProof([foreign, forged]);
    assert.ok(delivered.proof.length > 0, "a partial delivery carries proof hashes");
    const partialSignature = await relayAccount.signTypedData(partial.typedData(target.address));
    await target.write.receiveBatch([delivered.messages, delivered.proof, delivered.proofFlags, ...toCompactSignature(partialSignature)]);

    const before = await stakes();
    const proofs = await watcher.scan();
    assert.deepEqual(
      proofs.map((p) => [p.messageId, p.batch, p.relay]),
      [[messageId(forged), true, relayAccount.address]],
    );
    assert.equal(await d.staking.read.forgeryClaimed([batchDigest(partial.root, BigInt(d.chainId), target.address)]), true);
    const after = await stakes();
    for (const [i, stake] of after.entries()) assert.equal(stake, before[i]! / 2n, `member ${i} lost half its stake`);

    // Delivered whole (no proof hashes): one proof per signed root, however many unsent members it holds.
    const whole = new MessageBatch([message(10n), message(11n), message(12n)]);
    const all = whole.multiProof();
    assert.equal(all.proof.length, 0);
    const wholeSignature = await relayAccount.signTypedData(whole.typedData(target.address));
    await target.write.receiveBatch([all.messages, all.proof, all.proofFlags, ...toCompactSignature(wholeSignature)]);
    const wholeProofs = await watcher.scan();
    assert.equal(wholeProofs.length, 1);
    assert.ok(whole.ids.includes(wholeProofs[0]!.messageId));
    for (const [i, stake] of (await stakes()).entries()) assert.equal(stake, after[i]! / 2n, `member ${i} slashed again`);
    assert.deepEqual(await watcher.scan(), [], "nothing new to prove");
  });

  it("finding 5: judges only final source state, so a message not yet final or removed by a reorg is never proven", async () => {
    const { d, relayAccount, source, prover, stakes } = await forgingCommittee();
    // Messages go from this chain (a) to chain b; the watcher takes 3 confirmations on a as final.
    const b = await network.create({ override: { chainId: 31338 } });
    const bClient = (await b.viem.getPublicClient()) as unknown as PublicClient;
    const [bOwner] = await b.viem.getWalletClients();
    const targetB = await b.viem.deployContract("TargetGateway", [bOwner!.account.address, relayAccount.address, 3_600n, 600n]);
    await source.write.setDestination([31338n, { baseFee: 0n, gasPrice: 0n, byteFee: 0n, maxGasLimit: 1_000_000 }]);
    const fromBlock = await d.publicClient.getBlockNumber();
    const warnings: string[] = [];
    const watcher = new ForgeryWatcher(
      [
        {
          chainId: d.chainId,
          client: d.publicClient,
          targetGateway: getAddress("0x00000000000000000000000000000000000000aa"),
          source: { gateway: source.address, staking: d.staking.address, court: d.court.address, wallet: d.wallet, finality: { confirmations: 3 } },
          fromBlock,
        },
        { chainId: 31338, client: bClient, targetGateway: targetB.address, fromBlock: 0n },
      ],
      prover,
      { info: () => {}, warn: (msg) => warnings.push(msg) },
    );
    const deliver = async (message: Message) => {
      const signature = await relayAccount.signTypedData(messageTypedData(message, targetB.address));
      await targetB.write.receiveMessage([message, ...toCompactSignature(signature)]);
    };
    const before = await stakes();

    // The relay attests a message one block after it was sent (too early), and it is delivered; then a reorg
    // removes it from chain a (its nonce goes to another message).
    const snapshot = (await d.publicClient.request({ method: "evm_snapshot" } as never)) as string;
    await source.write.sendMessage([31338n, "0x00000000000000000000000000000000000000b2", "0x01", 100_000n]);
    const [sent] = await d.publicClient.getContractEvents({ address: source.address, abi: sourceGatewayAbi, eventName: "MessageSent", fromBlock });
    await deliver(sent!.args.message!);
    assert.deepEqual(await watcher.scan(), [], "not final yet: nothing judged");
    await d.publicClient.request({ method: "evm_revert", params: [snapshot] } as never);
    await source.write.sendMessage([31338n, "0x00000000000000000000000000000000000000b2", "0x02", 100_000n]);
    // A message no one ever sent, delivered too.
    const forged: Message = { ...sent!.args.message!, nonce: 77n, payload: "0xbad0" };
    await deliver(forged);
    assert.deepEqual(await watcher.scan(), [], "the forgery waits for its source's finality too");
    await networkHelpers.mine(3);
    const proofs = await watcher.scan();
    assert.deepEqual(
      proofs.map((p) => p.messageId),
      [messageId(forged)],
      "the forgery is proven, the reorged-out message is not",
    );
    assert.ok(
      warnings.some((w) => /removed by a reorg/.test(w)),
      "the too-early attestation is reported",
    );
    const after = await stakes();
    for (const [i, stake] of before.entries()) assert.equal(after[i], stake / 2n, `member ${i} slashed once, for the forgery only`);
  });
});
