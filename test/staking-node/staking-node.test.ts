/**
 * The node side of staking against a real RelayStaking (Hardhat in-process):
 * the committee as PeerDirectory, cluster-key submission, and absence slashing
 * with the corroboration rule, members talking through an in-memory router.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, getAddress, keccak256, toHex, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { MessageBatch, batchDigest, messageId, messageTypedData, toCompactSignature, type Message } from "../../relayer/sdk/message.ts";
import { ForgeryWatcher } from "../../relayer/staking/watcher.ts";
import { network } from "hardhat";
import { sourceGatewayAbi } from "../../relayer/sdk/abi.ts";
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { NodeIdentity } from "../../relayer/node/identity.ts";
import { createLogger } from "../../relayer/node/log.ts";
import { FRAME_PROTOCOL, Transport } from "../../relayer/node/transport.ts";
import { freePort } from "../../relayer/devnet/chains.ts";
import type { AbsenceRecord } from "../../relayer/node/keystore.ts";
import { AbsenceSlasher, ChainClock, type AbsenceProposalMessage } from "../../relayer/staking/absence.ts";
import { ProposalRefused, VoteCollector, type VoteMessage } from "../../relayer/staking/votes.ts";
import { StakingPeerDirectory } from "../../relayer/staking/directory.ts";
import { clusterKeyAddress, clusterKeyStatus, submitClusterKey } from "../../relayer/staking/operator.ts";
import { addressesOf, deployWithOperators, networkHelpers, viem, type Deployment } from "./fixture.ts";

function randomClusterKey(): string {
  return bytesToHex(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true)).slice(2);
}

async function electAndConfirm(d: Deployment, members: number[]): Promise<{ epoch: bigint; relay: Address }> {
  await d.staking.write.electCommittee([members.map((i) => d.operators[i]!.account.address), 3]);
  const epoch = await d.staking.read.latestEpoch();
  const key = randomClusterKey();
  for (const i of members) {
    const operator = d.operators[i]!;
    await submitClusterKey({ client: d.publicClient, wallet: d.wallet, account: operator.account, chain: d.wallet.chain ?? null, staking: d.staking.address, epoch, publicKey: key });
  }
  return { epoch, relay: clusterKeyAddress(key) };
}

/** One in-memory member per elected operator (party = node id = registration order here); messages are delivered asynchronously, like the transport. */
async function slashers(d: Deployment, members: number[], records: Map<number, AbsenceRecord[]>) {
  const byParty = new Map<number, AbsenceSlasher>();
  const collectors = new Map<number, VoteCollector>();
  const head = await d.publicClient.getBlockNumber();
  for (const [position, operatorIndex] of members.entries()) {
    const party = position + 1;
    const directory = await StakingPeerDirectory.load(d.publicClient, d.staking.address, {});
    // Each member saw the chain's head before the records (stamped RECORDS_AT onwards) were made.
    const clock = new ChainClock();
    clock.observe(head, RECORDS_AT - 1);
    const votes = new VoteCollector(d.publicClient, directory);
    collectors.set(party, votes);
    const slasher: AbsenceSlasher = new AbsenceSlasher({
      client: d.publicClient,
      wallet: d.wallet,
      account: d.operators[operatorIndex]!.account,
      chain: d.wallet.chain ?? null,
      chainId: d.chainId,
      directory,
      records: { listAbsences: async () => records.get(party) ?? [] },
      clock,
      minAbsences: 3,
      votes,
      // Routed as the staking agent routes them: proposals to the slasher, votes to the collector.
      send: (to: number, message: AbsenceProposalMessage | VoteMessage) => {
        setImmediate(() => void (message.kind === "vote" ? collectors.get(to)?.handle(party, message) : byParty.get(to)?.handle(party, message)));
      },
    });
    byParty.set(party, slasher);
  }
  return byParty;
}

/** Absence records are stamped with the wall clock, a little in the past. */
const RECORDS_AT = Date.now() - 60_000;

function absent(party: number, times: number, at: number): AbsenceRecord[] {
  return Array.from({ length: times }, (_, i) => ({ sessionId: `s${party}-${i}`, keyId: "epoch-1", operation: "sign", absentees: [party], at: at + i }));
}

describe("staking node: committee from RelayStaking", () => {
  it("maps the elected committee to peers, refuses others, and follows a re-election", async () => {
    const d = await networkHelpers.loadFixture(deployWithOperators);
    await d.staking.write.electCommittee([addressesOf(d.operators.slice(0, 4)), 3]);
    const addresses = Object.fromEntries(d.operators.map((o, i) => [o.identity.peerId, `/ip4/127.0.0.1/tcp/${4100 + i}`]));
    const directory = await StakingPeerDirectory.load(d.publicClient, d.staking.address, addresses);
    assert.equal(directory.committee.epoch, 1n);
    assert.deepEqual(
      directory.members().map((m) => [m.index, m.peerId, m.address, m.operator]),
      d.operators.slice(0, 4).map((o, i) => [i + 1, o.identity.peerId, `/ip4/127.0.0.1/tcp/${4100 + i}`, getAddress(o.account.address)]),
    );
    assert.equal(directory.byPeerId(d.operators[4]!.identity.peerId), undefined, "a registered but unelected node is refused");
    assert.equal(await directory.refresh(), false, "nothing changed");

    await d.staking.write.electCommittee([addressesOf(d.operators.slice(1, 5)), 3]);
    assert.equal(await directory.refresh(), true);
    assert.equal(directory.committee.epoch, 2n);
    assert.equal(directory.byPeerId(d.operators[0]!.identity.peerId), undefined, "the member left out of the new epoch is refused");
    // Party indices are node ids (registration order), the same in every epoch.
    assert.equal(directory.byPeerId(d.operators[4]!.identity.peerId)?.index, 5);
    assert.equal(directory.byIndex(2)?.operator, getAddress(d.operators[1]!.account.address));
    assert.equal(directory.byIndex(1), undefined);
    // (A function, so that the assertions don't narrow the getter's type for the checks after the refreshes.)
    const previousEpoch = () => directory.previous?.epoch ?? null;
    assert.equal(previousEpoch(), null, "epoch 1 was never confirmed: nothing to hand over from");

    // Epoch 2 confirmed, epoch 3 elected: until epoch 3 has its key, epoch 2's members stay peers (they hold the key).
    const key = randomClusterKey();
    for (const i of [1, 2, 3, 4]) {
      const operator = d.operators[i]!;
      await submitClusterKey({ client: d.publicClient, wallet: d.wallet, account: operator.account, chain: d.wallet.chain ?? null, staking: d.staking.address, epoch: 2n, publicKey: key });
    }
    await d.staking.write.electCommittee([addressesOf(d.operators.slice(0, 4)), 3]);
    assert.equal(await directory.refresh(), true);
    assert.equal(directory.committee.epoch, 3n);
    assert.equal(previousEpoch(), 2n);
    assert.deepEqual(directory.members().map((m) => m.index), [1, 2, 3, 4, 5]);
    assert.equal(directory.committeeOf(2n)?.relay, clusterKeyAddress(key));
    for (const i of [0, 1, 2, 3]) {
      const operator = d.operators[i]!;
      await submitClusterKey({ client: d.publicClient, wallet: d.wallet, account: operator.account, chain: d.wallet.chain ?? null, staking: d.staking.address, epoch: 3n, publicKey: key });
    }
    assert.equal(await directory.refresh(), true);
    assert.equal(previousEpoch(), null);
    assert.equal(directory.byPeerId(d.operators[4]!.identity.peerId), undefined, "once epoch 3 has its key, epoch 2's leaver is refused");
    assert.equal(directory.committeeOf(2n), null);
  });

  it("confirms the cluster key once every member submitted it", async () => {
    const d = await networkHelpers.loadFixture(deployWithOperators);
    const members = d.operators.slice(0, 4);
    await d.staking.write.electCommittee([addressesOf(members), 3]);
    const key = randomClusterKey();
    const relay = clusterKeyAddress(key);
    for (const [i, operator] of members.entries()) {
      const before = await clusterKeyStatus(d.publicClient, d.staking.address, 1n, operator.account.address);
      assert.equal(before.confirmed, null, `not confirmed before member ${i} submitted`);
      const sent = await submitClusterKey({ client: d.publicClient, wallet: d.wallet, account: operator.account, chain: d.wallet.chain ?? null, staking: d.staking.address, epoch: 1n, publicKey: key });
      assert.notEqual(sent.txHash, null);
      const again = await submitClusterKey({ client: d.publicClient, wallet: d.wallet, account: operator.account, chain: d.wallet.chain ?? null, staking: d.staking.address, epoch: 1n, publicKey: key });
      assert.equal(again.txHash, null, "a second submission of the same key sends nothing");
    }
    for (const operator of members) {
      const status = await clusterKeyStatus(d.publicClient, d.staking.address, 1n, operator.account.address);
      assert.deepEqual(status, { submitted: relay, confirmed: relay });
    }
    assert.equal(await d.staking.read.currentRelay(), relay);
  });
});

async function peer(identity: NodeIdentity): Promise<Libp2p> {
  const node = await createLibp2p({
    privateKey: identity.privateKey,
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
  });
  await node.start();
  return node;
}

describe("staking node: transport follows the contract's committee", () => {
  it("admits elected peers and refuses the others, before and after a re-election", async () => {
    const d = await networkHelpers.loadFixture(deployWithOperators);
    await d.staking.write.electCommittee([addressesOf(d.operators.slice(0, 4)), 3]);
    const directory = await StakingPeerDirectory.load(d.publicClient, d.staking.address, {});
    const own = d.operators[0]!.identity;
    const listenPort = await freePort();
    const transport = await Transport.start({
      identity: own,
      directory,
      listen: [`/ip4/127.0.0.1/tcp/${listenPort}`],
      events: { onFrame: () => {}, onDrop: () => {} },
      log: createLogger({ test: "staking-gater" }, "error"),
    });
    const address = multiaddr(`/ip4/127.0.0.1/tcp/${listenPort}/p2p/${own.peerId}`);
    const dial = (node: Libp2p) => node.dialProtocol(address, FRAME_PROTOCOL, { signal: AbortSignal.timeout(5_000) });
    const member = await peer(d.operators[1]!.identity);
    const outsider = await peer(d.operators[4]!.identity);
    try {
      await dial(member);
      await assert.rejects(dial(outsider), "a registered operator that was not elected is refused");

      // Epoch 2 leaves operator 1 out and takes operator 4 in.
      await d.staking.write.electCommittee([addressesOf([0, 2, 3, 4].map((i) => d.operators[i]!)), 3]);
      assert.equal(await directory.refresh(), true);
      await transport.dropNonMembers();
      const ownId = peerIdFromString(own.peerId);
      for (let i = 0; i < 50 && member.getConnections(ownId).some((c) => c.status === "open"); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(member.getConnections(ownId).filter((c) => c.status === "open").length, 0, "the voted-out member's connection was closed");
      await assert.rejects(dial(member), "the member voted out is refused");
      await dial(outsider);
    } finally {
      await member.stop();
      await outsider.stop();
      await transport.stop();
    }
  });
});

describe("staking node: absence slashing", () => {
  it("refuses to sign a proposal its own records do not corroborate", async () => {
    const d = await networkHelpers.loadFixture(deployWithOperators);
    await electAndConfirm(d, [0, 1, 2, 3]);
    await networkHelpers.mine(10);
    const now = RECORDS_AT;
    // Party 4 (operator 3) was seen absent by party 1 only; party 2 saw it twice, below the threshold of 3.
    const records = new Map([
      [1, absent(4, 5, now)],
      [2, absent(4, 2, now)],
      [3, absent(2, 5, now)],
    ]);
    await networkHelpers.mine(1);
    const members = await slashers(d, [0, 1, 2, 3], records);
    const proposal = await members.get(1)!.proposalAgainst(d.operators[3]!.account.address);
    assert.match((await members.get(2)!.check(proposal)) ?? "", /absent 2 time\(s\) in the window, 3 needed/);
    assert.match((await members.get(3)!.check(proposal)) ?? "", /absent 0 time\(s\)/);
    await assert.rejects(members.get(3)!.sign(proposal), ProposalRefused);
    assert.match((await members.get(4)!.check(proposal)) ?? "", /its own absence/);
    // Records the node cannot place inside the window do not count: it saw the chain past block from+5 before them.
    const late = { ...proposal, toBlock: proposal.fromBlock + 5n };
    await assert.rejects(members.get(1)!.sign(late), /absent 0 time\(s\)/);
    await assert.rejects(members.get(1)!.proposeAndSubmit(d.operators[3]!.account.address, 5_000), /no stake majority/);
    const node = await d.staking.read.getNode([d.operators[3]!.account.address]);
    assert.equal(node.stake, 400n * 10n ** 18n, "nothing was slashed");
  });

  it("slashes the absent member once signers hold a stake majority, and pays the signers", async () => {
    const d = await networkHelpers.loadFixture(deployWithOperators);
    await electAndConfirm(d, [0, 1, 2, 3]);
    await networkHelpers.mine(10);
    const now = RECORDS_AT;
    // Party 2 (operator 1, stake 200) is absent; parties 1, 3, 4 hold 100 + 300 + 400 of 1000.
    const records = new Map([
      [1, absent(2, 3, now)],
      [3, absent(2, 4, now)],
      [4, absent(2, 3, now)],
    ]);
    await networkHelpers.mine(1);
    const members = await slashers(d, [0, 1, 2, 3], records);
    const accused = d.operators[1]!.account.address;
    const result = await members.get(1)!.proposeAndSubmit(accused, 10_000);
    assert.ok(result.signers.length >= 2 && !result.signers.includes(getAddress(accused)));
    const node = await d.staking.read.getNode([accused]);
    assert.equal(node.stake, 180n * 10n ** 18n, "10 % of 200 slashed");
    const paid = await Promise.all(result.signers.map((signer) => {
      const staker = d.operators.find((o) => getAddress(o.account.address) === signer)!.staker.account!.address;
      return d.staking.read.rewards([staker]);
    }));
    for (const amount of paid) assert.ok(amount > 0n, "every signer's staker was paid");
    assert.equal(await d.staking.read.absenceSlashedUntil([accused]), result.proposal.toBlock + 1n);
    // The same window cannot be proposed again.
    await assert.rejects(members.get(3)!.proposeAndSubmit(accused, 5_000), /shorter than the minimum|already slashed/);
  });
});

describe("staking node: forged-attestation watcher", () => {
  /** Epoch 1 confirmed on a relay key the test holds (no product backdoor), and gateways trusting it. */
  async function forgingCommittee() {
    const d = await networkHelpers.loadFixture(deployWithOperators);
    const relayAccount = privateKeyToAccount(keccak256(toHex("forging relay key")));
    await d.staking.write.electCommittee([addressesOf(d.operators.slice(0, 4)), 3]);
    for (const operator of d.operators.slice(0, 4)) {
      await submitClusterKey({ client: d.publicClient, wallet: d.wallet, account: operator.account, chain: d.wallet.chain ?? null, staking: d.staking.address, epoch: 1n, publicKey: relayAccount.publicKey });
    }
    const owner = d.owner.account!.address;
    const source = await viem.deployContract("SourceGateway", [owner, owner, 1024]);
    const target = await viem.deployContract("TargetGateway", [owner, relayAccount.address, 3_600n, 600n]);
    await d.staking.write.setSourceGateway([source.address]);
    const fromBlock = await d.publicClient.getBlockNumber();
    const prover = d.operators[4]!.account;
    const watcher = new ForgeryWatcher(
      [{ chainId: d.chainId, client: d.publicClient, targetGateway: target.address, source: { gateway: source.address, staking: d.staking.address, wallet: d.wallet }, fromBlock }],
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
    assert.equal(proofs[0]!.epoch, 1n);
    assert.equal(proofs[0]!.messageId, messageId(forged));
    for (const [i, o] of d.operators.slice(0, 4).entries()) {
      assert.equal((await d.staking.read.getNode([o.account.address])).stake, stakesBefore[i]! / 2n, `member ${i} lost half its stake`);
    }
    assert.ok((await d.staking.read.rewards([prover.address])) > 0n, "the prover was paid");
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
        { chainId: d.chainId, client: d.publicClient, targetGateway: targetA.address, source: { gateway: source.address, staking: d.staking.address, wallet: d.wallet }, fromBlock },
        { chainId: 31338, client: bClient, targetGateway: targetB.address, fromBlock: 0n },
      ],
      prover,
      { info: () => {}, warn: () => {} },
    );
    const proofs = await watcher.scan();
    assert.deepEqual(proofs.map((p) => p.messageId), [messageId(forged)]);
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
    assert.deepEqual(proofs.map((p) => [p.messageId, p.batch, p.epoch]), [[messageId(forged), true, 1n]]);
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
});

describe("staking node: chain clock", () => {
  it("places a record inside a window only between its own observations of the head", () => {
    const clock = new ChainClock();
    clock.observe(10n, 1_000);
    clock.observe(12n, 2_000);
    clock.observe(20n, 3_000);
    assert.equal(clock.within(1_500, 10n, 12n), true, "seen at 10 before, at 12 after");
    assert.equal(clock.within(1_500, 11n, 12n), false, "head was below the window's start before the record");
    assert.equal(clock.within(2_500, 10n, 15n), false, "head was past the window's end after the record");
    assert.equal(clock.within(500, 0n, 100n), false, "no observation before the record");
    assert.equal(clock.within(3_500, 0n, 100n), false, "no observation after the record");
    assert.equal(clock.within(2_000, 12n, 12n), true, "an observation at the record's time bounds both sides");
    clock.observe(5n, 4_000);
    assert.equal(clock.within(3_500, 0n, 100n), false, "a head going backwards is ignored");
  });
});
