/// <reference path="../../artifacts/contracts/staking/proofs/SourceStateVerifier.sol/artifacts.d.ts" />
/// <reference path="../../artifacts/contracts/examples/testing/RecordedBlockHashes.sol/artifacts.d.ts" />
/**
 * Finding 6: forgeries claiming another source chain. Chain b (another in-process chain) sends messages; the staking
 * chain learns b's block hashes from an oracle and the SlashingCourt proves, from b's real eth_getProof output, that
 * b's SourceGateway never sent a forged message and never will. The proofs must not convict an honest attestation:
 * a sent message, or one proven against a block from before it was sent, is refused.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { encodeAbiParameters, getAddress, keccak256, toHex, type Hex, type PublicClient } from "viem";
import { MessageBatch, messageId, messageTypedData, type Message } from "@mpc-relay/sdk";
import { blockHeaderRlp, SOURCE_GATEWAY_SLOTS, sourceStateProof } from "../../relayer/staking/source-proof.ts";
import { addressOf, BPS, deployConfirmed, DST_CHAIN_ID, networkHelpers, PARAMS, STAKES, viem } from "./fixture.ts";

const { loadFixture } = networkHelpers;
const REMOTE_CHAIN_ID = 31338n;
const target = getAddress("0x00000000000000000000000000000000000000aa");

const b = await network.create({ override: { chainId: Number(REMOTE_CHAIN_ID) } });
const bClient = (await b.viem.getPublicClient()) as unknown as PublicClient;
const [bOwner] = await b.viem.getWalletClients();

async function remoteFixture() {
  const d = await deployConfirmed();
  const gateway = await b.viem.deployContract("SourceGateway", [bOwner!.account.address, bOwner!.account.address, 1024]);
  await gateway.write.setDestination([DST_CHAIN_ID, { baseFee: 0n, gasPrice: 0n, byteFee: 0n, maxGasLimit: 1_000_000 }]);
  const before = await bClient.getBlockNumber();
  const sent: Message[] = [];
  for (let i = 0; i < 3; i++) {
    const hash = await gateway.write.sendMessage([DST_CHAIN_ID, bOwner!.account.address, toHex(`genuine ${i}`), 100_000n]);
    const receipt = await bClient.waitForTransactionReceipt({ hash });
    const [event] = await gateway.getEvents.MessageSent({}, { blockHash: receipt.blockHash });
    sent.push(event!.args.message! as Message);
  }
  const oracle = await viem.deployContract("RecordedBlockHashes", [addressOf(d.owner)]);
  const verifier = await viem.deployContract("SourceStateVerifier", [REMOTE_CHAIN_ID, gateway.address, oracle.address, SOURCE_GATEWAY_SLOTS.sentTo, SOURCE_GATEWAY_SLOTS.nextNonce]);
  await d.court.write.setSourceVerifier([REMOTE_CHAIN_ID, verifier.address]);
  /** Records chain b's block `number` in the oracle and returns the state proof for `message` at it. */
  const proofAt = async (message: Message, number: bigint): Promise<Hex> => {
    const block = await bClient.getBlock({ blockNumber: number });
    await oracle.write.record([number, block.hash]);
    return sourceStateProof({ client: bClient, gateway: gateway.address, message, blockNumber: number });
  };
  const forged: Message = { ...sent[1]!, payload: toHex("forged: mint to the attacker") };
  const sign = (message: Message) => d.relay.account.signTypedData(messageTypedData(message, target));
  return { ...d, gateway, sent, before, oracle, verifier, proofAt, forged, sign };
}

describe("RelayStaking: forgeries claiming another source chain", () => {
  it("slashes the key's lineage on a storage proof that the remote gateway used the nonce for another message", async () => {
    const d = await loadFixture(remoteFixture);
    const head = await bClient.getBlockNumber();
    await viem.assertions.emit(
      d.court.write.proveRemoteForgery([d.forged, target, await d.sign(d.forged), await d.proofAt(d.forged, head)], { account: d.prover.account! }),
      d.staking,
      "ForgeryProven",
    );
    for (const [i, member] of d.members.entries()) {
      assert.equal(await d.staking.read.slashableStake([member]), STAKES[i]! - (STAKES[i]! * BigInt(PARAMS.forgerySlashBps)) / BPS);
    }
    assert.ok((await d.staking.read.rewards([addressOf(d.prover)])) > 0n);
    await d.assertBalancesAddUp();
  });

  it("never convicts an honest attestation: a sent message, a nonce not yet used, or a block from before the send", async () => {
    const d = await loadFixture(remoteFixture);
    const head = await bClient.getBlockNumber();
    const genuine = d.sent[2]!;
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proveRemoteForgery([genuine, target, await d.sign(genuine), await d.proofAt(genuine, head)]), d.verifier, "SentAtBlock", [
      messageId(genuine),
    ]);
    // The honest message proven against a block before it was sent: its record is empty there, but so was its nonce.
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proveRemoteForgery([genuine, target, await d.sign(genuine), await d.proofAt(genuine, d.before)]), d.verifier, "NonceNotYetUsed", [
      genuine.nonce,
      0n,
    ]);
    // A message with a nonce the gateway has not reached could still be sent: not provable (yet).
    const ahead = { ...d.forged, nonce: 7n };
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proveRemoteForgery([ahead, target, await d.sign(ahead), await d.proofAt(ahead, head)]), d.verifier, "NonceNotYetUsed", [7n, 3n]);
    for (const [i, member] of d.members.entries()) assert.equal(await d.staking.read.slashableStake([member]), STAKES[i]);
    await d.assertBalancesAddUp();
  });

  it("refuses unvouched blocks, altered headers or proofs, other gateways and routes without a verifier", async () => {
    const d = await loadFixture(remoteFixture);
    const head = await bClient.getBlockNumber();
    const signature = await d.sign(d.forged);
    const proof = await d.proofAt(d.forged, head);
    // A block the oracle does not know.
    const unknown = await sourceStateProof({ client: bClient, gateway: d.gateway.address, message: d.forged, blockNumber: head - 1n });
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proveRemoteForgery([d.forged, target, signature, unknown]), d.verifier, "UntrustedBlock", [head - 1n]);
    // Any byte of the proof changed: the header no longer hashes to the vouched hash, or a node to its parent's reference.
    for (const at of [200, proof.length / 2 - 200, proof.length / 2 - 40]) {
      const flipped = `${proof.slice(0, at)}${proof[at] === "0" ? "1" : "0"}${proof.slice(at + 1)}` as Hex;
      await assert.rejects(d.court.write.proveRemoteForgery([d.forged, target, signature, flipped]), `byte at ${at} changed`);
    }
    // The message names another gateway on chain b, or a chain without a verifier.
    const other = { ...d.forged, srcGateway: target };
    await viem.assertions.revertWithCustomError(d.court.write.proveRemoteForgery([other, target, await d.sign(other), proof]), d.verifier, "NotThisSource");
    const elsewhere = { ...d.forged, srcChainId: 5n };
    await viem.assertions.revertWithCustomErrorWithArgs(d.court.write.proveRemoteForgery([elsewhere, target, await d.sign(elsewhere), proof]), d.court, "RouteNotProvable", [5n]);
    // Governance only, never this chain, and the verifier must serve the chain it is registered for.
    await viem.assertions.revertWithCustomError(d.court.write.setSourceVerifier([7n, d.verifier.address], { account: d.stranger.account! }), d.court, "NotGovernance");
    await viem.assertions.revertWithCustomError(d.court.write.setSourceVerifier([d.chainId, d.verifier.address]), d.court, "RouteNotProvable");
    await viem.assertions.revertWithCustomError(d.court.write.setSourceVerifier([7n, d.verifier.address]), d.court, "RouteNotProvable");
    for (const [i, member] of d.members.entries()) assert.equal(await d.staking.read.slashableStake([member]), STAKES[i]);
  });

  it("proves a forged member of a signed batch from another source chain, once per root", async () => {
    const d = await loadFixture(remoteFixture);
    const batch = new MessageBatch([d.sent[0]!, d.forged]);
    const signature = await d.relay.account.signTypedData(batch.typedData(target));
    const proof = await d.proofAt(d.forged, await bClient.getBlockNumber());
    await viem.assertions.emit(d.court.write.proveRemoteForgedBatch([d.forged, target, batch.root, batch.tree.getProof(1) as Hex[], signature, proof]), d.staking, "ForgeryProven");
    await viem.assertions.revertWithCustomError(
      d.court.write.proveRemoteForgedBatch([d.forged, target, batch.root, batch.tree.getProof(1) as Hex[], signature, proof]),
      d.staking,
      "ForgeryAlreadyClaimed",
    );
    await d.assertBalancesAddUp();
  });

  it("reads the gateway's records where SOURCE_GATEWAY_SLOTS says, and rebuilds headers that hash to the block", async () => {
    const d = await loadFixture(remoteFixture);
    const genuine = d.sent[0]!;
    const slot = (key: Hex | bigint, base: bigint) => keccak256(encodeAbiParameters([{ type: typeof key === "bigint" ? "uint256" : "bytes32" }, { type: "uint256" }], [key as never, base]));
    assert.equal(BigInt((await bClient.getStorageAt({ address: d.gateway.address, slot: slot(messageId(genuine), SOURCE_GATEWAY_SLOTS.sentTo) }))!), DST_CHAIN_ID);
    assert.equal(BigInt((await bClient.getStorageAt({ address: d.gateway.address, slot: slot(DST_CHAIN_ID, SOURCE_GATEWAY_SLOTS.nextNonce) }))!), 3n);
    const block = await bClient.getBlock();
    assert.equal(keccak256(blockHeaderRlp(block)), block.hash);
    assert.throws(() => blockHeaderRlp({ ...block, gasUsed: block.gasUsed + 1n }), /does not hash/);
  });
});
