/**
 * Removal for proven protocol faults, node side, against a real RelayStaking
 * (Hardhat in-process): operator signatures on protocol messages, members that
 * check a proposal's evidence themselves, and removeNode submitted once the
 * signers hold a stake majority. The faulty dealer is a real keygen instance
 * whose round-2 share is tampered with before its operator key signs it, as a
 * dishonest node would do.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, getAddress, hashTypedData, hexToBytes, keccak256, recoverTypedDataAddress, type Hex } from "viem";
import { encodeProtocolMessage, type FaultProof, protocolMessageHeader, type ProtocolMessage } from "@mpc-relay/mpc";
import type { ProvenFault } from "../../relayer/node/session/index.ts";
import { StakingPeerDirectory } from "../../relayer/staking/directory.ts";
import { MessageSigner, recoverSigner, stakingDomainSeparator } from "../../relayer/staking/message-signer.ts";
import { RemovalProposer, type RemovalMessage } from "../../relayer/staking/removal.ts";
import { stakingTypes } from "../../relayer/staking/typed-data.ts";
import { ProposalRefused, VoteCollector, type VoteMessage } from "../../relayer/staking/votes.ts";
import { flipByte, KEY_ID, keygen } from "../mpc/harness.ts";
import { deployWithOperators, networkHelpers, type Deployment } from "./fixture.ts";

const COMMITTEE = [0, 1, 2, 3];

interface Member {
  signer: MessageSigner;
  removal: RemovalProposer;
  votes: VoteCollector;
}

/** Party p is node id p (operator p-1, registered p-th, elected in that order); messages between members are delivered asynchronously. */
async function members(d: Deployment): Promise<Map<number, Member>> {
  const byParty = new Map<number, Member>();
  const separator = stakingDomainSeparator(d.chainId, d.staking.address);
  for (const [position, operatorIndex] of COMMITTEE.entries()) {
    const party = position + 1;
    const operator = d.operators[operatorIndex]!;
    const directory = await StakingPeerDirectory.load(d.publicClient, d.staking.address, {});
    const signer = new MessageSigner(operator.privateKey, separator);
    const votes = new VoteCollector(d.publicClient, directory);
    const send = (to: number, message: RemovalMessage | VoteMessage) =>
      setImmediate(() => {
        const peer = byParty.get(to)!;
        void (message.kind === "vote" ? peer.votes.handle(party, message) : peer.removal.handle(party, message));
      });
    const removal = new RemovalProposer({ client: d.publicClient, wallet: d.wallet, account: operator.account, chain: d.wallet.chain ?? null, chainId: d.chainId, directory, signer, votes, send });
    byParty.set(party, { signer, removal, votes });
  }
  return byParty;
}

async function elect(): Promise<{ d: Deployment; byParty: Map<number, Member> }> {
  const d = await networkHelpers.loadFixture(deployWithOperators);
  await d.staking.write.electCommittee([COMMITTEE.map((i) => d.operators[i]!.account.address), 3]);
  return { d, byParty: await members(d) };
}

const slot = (m: ProtocolMessage) => bytesToHex(encodeProtocolMessage(m));

/**
 * A 4-party keygen in which every sent message is signed by its sender's
 * operator key; `corrupt` may change a message before its sender signs it.
 */
function signedKeygen(byParty: Map<number, Member>, label: string, corrupt: (m: ProtocolMessage) => ProtocolMessage = (m) => m) {
  const signatures = new Map<string, Hex>();
  const outcome = keygen([1, 2, 3, 4], 3, label, (m) => {
    const sent = corrupt(m);
    signatures.set(slot(sent), byParty.get(sent.from)!.signer.sign(sent));
    return [sent];
  });
  return { outcome, signatureOf: (m: ProtocolMessage) => signatures.get(slot(m))! };
}

/** Party 4 sends party 1 a share that fails its Feldman commitments. */
function badShareFault(byParty: Map<number, Member>, label: string): ProvenFault {
  const { outcome, signatureOf } = signedKeygen(byParty, label, (m) => (m.from === 4 && m.round === 2 && m.to === 1 ? { ...m, payload: flipByte(m.payload, 32) } : m));
  const proof = outcome.aborts.get(1)?.proof;
  assert.ok(proof, "party 1 aborts with a proof");
  return { sessionId: label, keyId: KEY_ID, operation: "keygen", proof, signatures: proof.messages.map(signatureOf) };
}

describe("staking node: operator signatures on protocol messages", () => {
  it("sign the EIP-712 ProtocolMessage digest of the message header, and refuse anything else", async () => {
    const { d, byParty } = await elect();
    const signer = byParty.get(1)!.signer;
    const { outcome } = signedKeygen(byParty, "signer-digest");
    assert.equal(outcome.aborts.size, 0);
    const message: ProtocolMessage = { sessionId: hexToBytes(keccak256("0x01")), keyId: KEY_ID, protocol: "keygen", round: 2, from: 1, to: 3, payload: Uint8Array.of(1, 2, 3) };
    const encoded = protocolMessageHeader(message);
    const domain = { name: "MpcRelayStaking", version: "1", chainId: BigInt(d.chainId), verifyingContract: d.staking.address };
    const expected = hashTypedData({ domain, types: stakingTypes, primaryType: "ProtocolMessage", message: { contentHash: keccak256(encoded) } });
    assert.equal(bytesToHex(signer.digest(encoded)), expected);
    const signature = signer.sign(message);
    const operator = d.operators[0]!.account.address;
    assert.equal(await recoverTypedDataAddress({ domain, types: stakingTypes, primaryType: "ProtocolMessage", message: { contentHash: keccak256(encoded) }, signature }), getAddress(operator));
    assert.ok(signer.verify(message, signature, operator));
    // Every field of the envelope is covered: a message re-addressed or moved to another round no longer verifies.
    for (const changed of [
      { ...message, to: 2 },
      { ...message, round: 3 },
      { ...message, from: 2 },
      { ...message, keyId: "other" },
      { ...message, payload: Uint8Array.of(1, 2) },
    ]) {
      assert.equal(signer.verify(changed, signature, operator), false);
    }
    assert.equal(signer.verify(message, signature, d.operators[1]!.account.address), false);
    // The high-s twin of a valid signature is refused, as OpenZeppelin's ECDSA refuses it on chain.
    const bytes = hexToBytes(signature);
    const s = BigInt(bytesToHex(bytes.subarray(32, 64)));
    const twin = Uint8Array.from(bytes);
    twin.set(hexToBytes(`0x${(secp256k1.Point.Fn.ORDER - s).toString(16).padStart(64, "0")}`), 32);
    twin[64] = bytes[64] === 27 ? 28 : 27;
    assert.equal(recoverSigner(signer.digest(encoded), bytesToHex(twin)), null);
    assert.equal(recoverSigner(signer.digest(encoded), "0x1234"), null);
    assert.throws(() => new MessageSigner(`0x${"00".repeat(32)}`, stakingDomainSeparator(d.chainId, d.staking.address)), /invalid operator private key/);
  });
});

describe("staking node: removal for a proven fault", () => {
  it("proposes a Feldman-share fault through the members' own votes; undisputed, a member executes it after the challenge", async () => {
    const { d, byParty } = await elect();
    const culprit = getAddress(d.operators[3]!.account.address);
    const fault = badShareFault(byParty, "removal-bad-share");
    const result = await byParty.get(1)!.removal.proposeAndSubmit(fault, 10_000);
    assert.ok(result !== null && result.challenged);
    assert.equal(result.proposal.node, culprit);
    assert.ok(!result.signers.includes(culprit) && result.signers.length >= 3);
    const [, deadline, disputed] = await d.court.read.pendingRemoval([culprit]);
    assert.equal(disputed, false);
    assert.equal((await d.staking.read.getNode([culprit])).removed, false, "nothing happens before the challenge is over");
    assert.deepEqual(await byParty.get(2)!.removal.executeDue(), []);
    await networkHelpers.time.increaseTo(deadline);
    assert.deepEqual(await byParty.get(2)!.removal.executeDue(), [culprit]);
    const node = await d.staking.read.getNode([culprit]);
    assert.equal(node.removed, true);
    assert.equal(node.stake, 0n, "what was not slashed went to unbonding");
    const events = await d.staking.getEvents.NodeRemoved();
    assert.equal(events.length, 1);
    assert.equal(events[0]!.args.evidenceHash, result.proposal.evidenceHash);
    // The same fault proven again (in another session) starts no second proposal here, and others refuse it now.
    assert.equal(await byParty.get(1)!.removal.proposeAndSubmit(badShareFault(byParty, "removal-bad-share-2"), 5_000), null);
    await assert.rejects(byParty.get(2)!.removal.proposeAndSubmit(fault, 5_000), /removed already/);
  });

  it("lets the accused dispute its removal: then only governance decides", async () => {
    const { d, byParty } = await elect();
    const culprit = getAddress(d.operators[3]!.account.address);
    await byParty.get(1)!.removal.proposeAndSubmit(badShareFault(byParty, "removal-disputed"), 10_000);
    assert.equal(await byParty.get(2)!.removal.answerAccusation(), null, "only the accused answers");
    assert.notEqual(await byParty.get(4)!.removal.answerAccusation(), null);
    assert.equal(await byParty.get(4)!.removal.answerAccusation(), null, "once");
    const [, deadline, disputed] = await d.court.read.pendingRemoval([culprit]);
    assert.equal(disputed, true);
    await networkHelpers.time.increaseTo(deadline);
    assert.deepEqual(await byParty.get(2)!.removal.executeDue(), [], "a disputed removal waits for governance");
    assert.equal((await d.staking.read.getNode([culprit])).removed, false);
    // Governance re-runs the check (packages/mpc/src/evidence.ts) and upholds it.
    await d.court.write.resolveRemoval([culprit, true]);
    assert.equal((await d.staking.read.getNode([culprit])).removed, true);
  });

  it("removes an equivocating member at once, on its two signed messages for one slot, without votes", async () => {
    const { d, byParty } = await elect();
    const sent: ProtocolMessage[] = [];
    const { signatureOf } = signedKeygen(byParty, "removal-equivocation", (m) => {
      sent.push(m);
      return m;
    });
    const original = sent.find((m) => m.from === 4 && m.round === 2 && m.to === 1)!;
    const twin = { ...original, payload: flipByte(original.payload, 40) };
    const proof: FaultProof = { kind: "equivocation", culprit: 4, messages: [original, twin] };
    const fault: ProvenFault = { sessionId: "eq", keyId: KEY_ID, operation: "keygen", proof, signatures: [signatureOf(original), byParty.get(4)!.signer.sign(twin)] };
    const result = await byParty.get(2)!.removal.proposeAndSubmit(fault, 5_000);
    assert.ok(result !== null && !result.challenged);
    assert.deepEqual(result.signers, []);
    assert.equal((await d.staking.read.getNode([d.operators[3]!.account.address])).removed, true);
  });

  it("members refuse evidence that proves nothing, is signed by someone else, or names the wrong member", async () => {
    const { d, byParty } = await elect();
    // Party 1 tries to frame honest party 2 with two of its genuinely signed messages.
    const sent: ProtocolMessage[] = [];
    const { outcome, signatureOf } = signedKeygen(byParty, "removal-frame", (m) => {
      sent.push(m);
      return m;
    });
    assert.equal(outcome.aborts.size, 0);
    const pick = (from: number, round: number, to: number | null) => sent.find((m) => m.from === from && m.round === round && m.to === to)!;
    const framing: FaultProof = { kind: "feldman-share", culprit: 2, messages: [pick(2, 2, null), pick(2, 2, 1)] };
    const framed: ProvenFault = { sessionId: "frame", keyId: KEY_ID, operation: "keygen", proof: framing, signatures: framing.messages.map(signatureOf) };
    const member3 = byParty.get(3)!.removal;
    const asProposal = (fault: ProvenFault) => {
      const { proposal, evidence } = byParty.get(1)!.removal.proposalFor(fault);
      return { proposal, evidence };
    };
    const honest = asProposal(framed);
    assert.match((await member3.check(honest.proposal, honest.evidence)) ?? "", /matches the Feldman commitments/);
    await assert.rejects(byParty.get(1)!.removal.proposeAndSubmit(framed, 5_000), ProposalRefused);

    // A real fault, but the proposer signed the culprit's messages itself.
    const real = badShareFault(byParty, "removal-forged-signatures");
    const forged = asProposal({ ...real, signatures: real.proof.messages.map((m) => byParty.get(1)!.signer.sign(m)) });
    assert.match((await member3.check(forged.proposal, forged.evidence)) ?? "", /evidence message 0 is not signed by/);

    // A real fault pinned on another member.
    const genuine = asProposal(real);
    const misnamed = { ...genuine.proposal, node: getAddress(d.operators[1]!.account.address) };
    assert.match((await member3.check(misnamed, genuine.evidence)) ?? "", /not signed by/);
    // Evidence altered after the proposal committed to it, and a proposal for another epoch.
    assert.match((await member3.check(genuine.proposal, { ...genuine.evidence, messages: [...genuine.evidence.messages].reverse() })) ?? "", /evidenceHash/);
    assert.match((await member3.check({ ...genuine.proposal, epoch: 7n }, genuine.evidence)) ?? "", /not a current epoch/);
    // The accused never votes for its own removal.
    assert.match((await byParty.get(4)!.removal.check(genuine.proposal, genuine.evidence)) ?? "", /its own removal/);
    assert.equal(await member3.check(genuine.proposal, genuine.evidence), null, "the genuine proposal passes");
    for (const operator of d.operators) assert.equal((await d.staking.read.getNode([operator.account.address])).removed, false, "nobody was removed");
    for (const operator of d.operators) assert.equal((await d.court.read.pendingRemoval([operator.account.address]))[1], 0n, "nor proposed for removal");
  });
});
