/** ForgeryProofs and the lineage slash: every epoch confirmed with the signing key pays, once per proof. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, toHex, type Address, type Hex } from "viem";
import { MessageBatch, messageId, messageLeaf, messageTypedData, relayRotationTypedData, type Message } from "@mpc-relay/sdk";
import { replayMultiProof } from "../../relayer/staking/watcher.ts";
import { addressOf, BPS, deployConfirmed, DST_CHAIN_ID, electAndConfirm, identityOf, networkHelpers, PARAMS, relayKey, STAKES, viem } from "./fixture.ts";

const { loadFixture } = networkHelpers;
const target = getAddress("0x00000000000000000000000000000000000000aa");
const cut = (stake: bigint) => (stake * BigInt(PARAMS.forgerySlashBps)) / BPS;

async function forgeryFixture() {
  const d = await deployConfirmed();
  await d.staking.write.setSourceGateway([d.gateway.address]);
  const forged: Message = {
    nonce: 42n,
    srcChainId: d.chainId,
    srcGateway: d.gateway.address,
    sender: addressOf(d.stranger),
    dstChainId: DST_CHAIN_ID,
    receiver: addressOf(d.prover),
    gasLimit: 200_000n,
    payload: toHex("mint 1000000 to the attacker"),
  };
  const sign = (message: Message, gateway: Address = target) => d.relay.account.signTypedData(messageTypedData(message, gateway));
  /** A message the gateway really sent (to the prover, on DST_CHAIN_ID). */
  const sendGenuine = async (): Promise<Message> => {
    const hash = await d.gateway.write.sendMessage([DST_CHAIN_ID, addressOf(d.prover), "0xbeef", 100_000n]);
    const receipt = await d.publicClient.waitForTransactionReceipt({ hash });
    const [event] = await d.gateway.getEvents.MessageSent({}, { blockHash: receipt.blockHash });
    return event!.args.message! as Message;
  };
  return { ...d, forged, sign, sendGenuine, signature: await sign(forged) };
}

describe("RelayStaking: forged attestation", () => {
  it("slashes every member of the key's lineage once, pays the prover at most the least loss, once per digest", async () => {
    const d = await loadFixture(forgeryFixture);
    // Epoch 2 reshares the same key to members 0, 1, 2 and a newcomer: one lineage, two epochs.
    await d.register(d.stakers[4]!, d.operators[4]!, identityOf(4));
    await d.fundAndStake(d.stakers[4]!, addressOf(d.operators[4]!), PARAMS.minStake);
    await electAndConfirm(d, [0, 1, 2, 4], d.relay);
    const nodes = [...d.members, addressOf(d.operators[4]!)];
    const stakes = [...STAKES, PARAMS.minStake];
    const slashed = stakes.reduce((sum, stake) => sum + cut(stake), 0n);
    const least = cut(PARAMS.minStake);
    const reward = (slashed * BigInt(PARAMS.proverRewardBps)) / BPS < least ? (slashed * BigInt(PARAMS.proverRewardBps)) / BPS : least;

    await viem.assertions.emitWithArgs(d.court.write.proveForgery([d.forged, target, d.signature], { account: d.prover.account! }), d.staking, "ForgeryProven", [
      d.relay.account.address,
      messageId(d.forged),
      (await import("@mpc-relay/sdk")).messageDigest(d.forged, target),
      getAddress(addressOf(d.prover)),
      slashed,
      reward,
    ]);
    for (const [i, node] of nodes.entries()) assert.equal(await d.staking.read.slashableStake([node]), stakes[i]! - cut(stakes[i]!), `node ${i} slashed once`);
    assert.equal(await d.staking.read.rewards([addressOf(d.prover)]), reward);
    assert.equal(await d.staking.read.rewards([addressOf(d.treasury)]), slashed - reward);
    await viem.assertions.revertWithCustomError(d.court.write.proveForgery([d.forged, target, d.signature]), d.staking, "ForgeryAlreadyClaimed");
    await d.staking.write.claimRewards({ account: d.prover.account! });
    await d.assertBalancesAddUp();
  });

  it("pays nothing to a prover that is a slashed member's staker or operator", async () => {
    const d = await loadFixture(forgeryFixture);
    for (const prover of [d.stakers[1]!, d.operators[2]!]) {
      const forged = { ...d.forged, nonce: d.forged.nonce + BigInt(prover === d.stakers[1] ? 1 : 2) };
      await d.court.write.proveForgery([forged, target, await d.sign(forged)], { account: prover.account! });
      assert.equal(await d.staking.read.rewards([addressOf(prover)]), 0n);
    }
    await d.assertBalancesAddUp();
  });

  it("refuses a genuine message, another source, and signatures of no confirmed key", async () => {
    const d = await loadFixture(forgeryFixture);
    const genuine = await d.sendGenuine();
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proveForgery([genuine, target, await d.sign(genuine)]), d.court, "MessageWasSent", [messageId(genuine)]);
    for (const other of [
      { ...d.forged, srcChainId: 5n },
      { ...d.forged, srcGateway: target },
    ]) {
      await viem.assertions.revertWithCustomError(d.court.write.proveForgery([other, target, await d.sign(other)]), d.court, "NotFromThisSource");
    }
    // Signed for another target gateway than the one claimed (recovers to a stranger key), or by an outsider.
    await viem.assertions.revertWithCustomError(d.court.write.proveForgery([d.forged, d.gateway.address, d.signature]), d.staking, "NotARelay");
    const outsider = relayKey("outsider").account;
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proveForgery([d.forged, target, await outsider.signTypedData(messageTypedData(d.forged, target))]), d.staking, "NotARelay", [
      outsider.address,
    ]);
    // The same forgery for another target gateway is a separate, provable signature.
    await d.court.write.proveForgery([d.forged, d.gateway.address, await d.sign(d.forged, d.gateway.address)]);
    await d.assertBalancesAddUp();
  });

  it("slashes for a forged message inside a signed batch, once per root", async () => {
    const d = await loadFixture(forgeryFixture);
    const genuine = await d.sendGenuine();
    const second = { ...d.forged, nonce: 43n };
    const batch = new MessageBatch([genuine, d.forged, second]);
    const signature = await d.relay.account.signTypedData(batch.typedData(target));
    const proofOf = (index: number) => batch.tree.getProof(index) as Hex[];
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proveForgedBatch([genuine, target, batch.root, proofOf(0), signature]), d.court, "MessageWasSent", [batch.ids[0]!]);
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proveForgedBatch([d.forged, target, batch.root, proofOf(2), signature]), d.court, "NotInBatch", [batch.ids[1]!]);
    await viem.assertions.emit(d.court.write.proveForgedBatch([d.forged, target, batch.root, proofOf(1), signature]), d.staking, "ForgeryProven");
    await viem.assertions.revertWithCustomError(d.court.write.proveForgedBatch([second, target, batch.root, proofOf(2), signature]), d.staking, "ForgeryAlreadyClaimed");
    await d.assertBalancesAddUp();
  });

  it("proves a forged member of a partly delivered batch with the single-leaf proof replayed from its multiproof", async () => {
    const d = await loadFixture(forgeryFixture);
    const genuine = await d.sendGenuine();
    const batch = new MessageBatch([{ ...d.forged, nonce: 40n }, genuine, { ...d.forged, nonce: 41n }, d.forged]);
    const signature = await d.relay.account.signTypedData(batch.typedData(target));
    const delivered = batch.multiProof([genuine, d.forged]);
    const replayed = replayMultiProof(
      delivered.messages.map((m) => messageLeaf(messageId(m))),
      delivered.proof,
      delivered.proofFlags,
    );
    assert.equal(replayed.root, batch.root);
    const at = (message: Message) => delivered.messages.findIndex((m) => messageId(m) === messageId(message));
    await viem.assertions.revertWithCustomError(d.court.write.proveForgedBatch([genuine, target, batch.root, replayed.proofs[at(genuine)]!, signature]), d.court, "MessageWasSent");
    const undelivered = { ...d.forged, nonce: 41n };
    await viem.assertions.revertWithCustomError(d.court.write.proveForgedBatch([undelivered, target, batch.root, replayed.proofs[at(d.forged)]!, signature]), d.court, "NotInBatch");
    await viem.assertions.emit(d.court.write.proveForgedBatch([d.forged, target, batch.root, replayed.proofs[at(d.forged)]!, signature]), d.staking, "ForgeryProven");
  });

  it("replays every multiproof of a batch into the tree's own single-leaf proofs, and refuses malformed ones", () => {
    const messages: Message[] = Array.from({ length: 5 }, (_, i) => ({
      nonce: BigInt(i),
      srcChainId: 1n,
      srcGateway: getAddress("0x00000000000000000000000000000000000000a1"),
      sender: getAddress("0x00000000000000000000000000000000000000a2"),
      dstChainId: DST_CHAIN_ID,
      receiver: getAddress("0x00000000000000000000000000000000000000a3"),
      gasLimit: 1n,
      payload: toHex(`message ${i}`),
    }));
    const batch = new MessageBatch(messages);
    for (let mask = 1; mask < 1 << messages.length; mask++) {
      const selected = messages.filter((_, i) => (mask >> i) & 1);
      const delivered = batch.multiProof(selected);
      const replayed = replayMultiProof(
        delivered.messages.map((m) => messageLeaf(messageId(m))),
        delivered.proof,
        delivered.proofFlags,
      );
      assert.equal(replayed.root, batch.root, `root of subset ${mask}`);
      for (const [i, message] of delivered.messages.entries()) {
        assert.deepEqual(replayed.proofs[i], batch.tree.getProof(batch.ids.indexOf(messageId(message))), `proof of subset ${mask}, leaf ${i}`);
      }
    }
    const single = new MessageBatch([messages[0]!]);
    const alone = single.multiProof();
    assert.deepEqual(replayMultiProof([messageLeaf(single.ids[0]!)], alone.proof, alone.proofFlags), { root: single.root, proofs: [[]] });
    const { proof, proofFlags, messages: ordered } = batch.multiProof([messages[1]!, messages[3]!]);
    const leaves = ordered.map((m) => messageLeaf(messageId(m)));
    assert.throws(() => replayMultiProof([], [], []), /at least one leaf/);
    assert.throws(() => replayMultiProof(leaves, proof.slice(1), proofFlags), /invalid multiproof/);
    assert.throws(
      () =>
        replayMultiProof(
          leaves,
          proof,
          proofFlags.map(() => false),
        ),
      /more flags ask for proof hashes/,
    );
    assert.throws(() => replayMultiProof(leaves, [proof[0]!], [true, true]), /used before it is computed/);
  });

  it("needs the source gateway to be configured", async () => {
    const d = await loadFixture(deployConfirmed);
    const forged: Message = { nonce: 0n, srcChainId: d.chainId, srcGateway: d.gateway.address, sender: d.members[0]!, dstChainId: DST_CHAIN_ID, receiver: d.members[0]!, gasLimit: 1n, payload: "0x" };
    await viem.assertions.revertWithCustomError(d.court.write.proveForgery([forged, target, "0x"]), d.court, "SourceGatewayNotSet");
  });
});

describe("RelayStaking: conflicting rotations", () => {
  it("slashes the lineage of a key that signed two rotations naming different relays for one nonce, once", async () => {
    const d = await loadFixture(deployConfirmed);
    const deadline = 2n ** 40n;
    const rotation = async (newRelay: Address, nonce = 3n, signer = d.relay.account) => ({
      newRelay,
      deadline,
      signature: await signer.signTypedData(relayRotationTypedData({ newRelay, nonce, deadline }, 10n, target)),
    });
    const a = await rotation(relayKey("a").account.address);
    const b = await rotation(relayKey("b").account.address);
    await viem.assertions.revertWithCustomError(d.court.write.proveConflictingRotations([10n, target, 3n, a, a]), d.court, "NotConflicting");
    await viem.assertions.revertWithCustomError(
      d.court.write.proveConflictingRotations([10n, target, 3n, a, await rotation(relayKey("b").account.address, 3n, relayKey("other").account)]),
      d.court,
      "NotConflicting",
    );
    // Signed for different nonces: recovers to different signers.
    await viem.assertions.revertWithCustomError(d.court.write.proveConflictingRotations([10n, target, 3n, a, await rotation(relayKey("b").account.address, 4n)]), d.court, "NotConflicting");
    await viem.assertions.emit(d.court.write.proveConflictingRotations([10n, target, 3n, a, b], { account: d.prover.account! }), d.court, "ConflictingRotationsProven");
    for (const [i, member] of d.members.entries()) assert.equal(await d.staking.read.slashableStake([member]), STAKES[i]! - cut(STAKES[i]!));
    await viem.assertions.revertWithCustomError(d.court.write.proveConflictingRotations([10n, target, 3n, b, a]), d.staking, "ForgeryAlreadyClaimed");
    await d.assertBalancesAddUp();
  });
});
