/**
 * The node side of staking against a real RelayStaking (Hardhat in-process):
 * the committee as PeerDirectory, cluster-key submission, and absence slashing
 * with the corroboration rule, members talking through an in-memory router.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, getAddress, keccak256, parseEther, toHex, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { createIdentity, type NodeIdentity } from "../../relayer/node/identity.ts";
import { createLogger } from "../../relayer/shared/log.ts";
import { FRAME_PROTOCOL, Transport } from "../../relayer/node/transport.ts";
import { freePort } from "../../relayer/shared/ports.ts";
import type { AbsenceRecord } from "../../relayer/node/keystore.ts";
import { AbsenceSlasher, ProposalBackoff, type AbsenceProposalMessage } from "../../relayer/staking/absence.ts";
import { ChainClock } from "../../relayer/staking/chain-clock.ts";
import { ProposalRefused, VoteCollector, type VoteMessage } from "../../relayer/staking/votes.ts";
import { StakingPeerDirectory } from "../../relayer/staking/directory.ts";
import { clusterKeyAddress, clusterKeyStatus, identityClaim, signIdentityClaim } from "../../relayer/staking/operator.ts";
import { identityBytes } from "../../relayer/staking/setup.ts";
import { stakingTypes } from "../../relayer/staking/typed-data.ts";
import { addressesOf, deployWithOperators, networkHelpers, submitKeyAs, viem, type Deployment } from "./fixture.ts";

function randomClusterKey(): string {
  return bytesToHex(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true)).slice(2);
}

async function electAndConfirm(d: Deployment, members: number[]): Promise<{ epoch: bigint; relay: Address }> {
  await d.staking.write.electCommittee([members.map((i) => d.operators[i]!.account.address), 3]);
  const epoch = await d.staking.read.latestEpoch();
  const key = randomClusterKey();
  for (const i of members) {
    const operator = d.operators[i]!;
    await submitKeyAs(d, operator, epoch, key);
  }
  return { epoch, relay: clusterKeyAddress(key) };
}

/**
 * The node's looks at the chain, in wall time from RECORDS_AT: blocks head-25 and head-23 around the early records,
 * head-5 before the late ones; so a member's early and late records lie 18 blocks apart for sure.
 */
function observedClock(head: bigint): ChainClock {
  const clock = new ChainClock();
  clock.observe(head - 25n, RECORDS_AT);
  clock.observe(head - 23n, RECORDS_AT + 100);
  clock.observe(head - 5n, RECORDS_AT + 200);
  return clock;
}

/** One in-memory member per elected operator (party = node id = registration order here); messages are delivered asynchronously, like the transport. */
async function slashers(d: Deployment, members: number[], records: Map<number, AbsenceRecord[]>, backoff?: () => ProposalBackoff) {
  const byParty = new Map<number, AbsenceSlasher>();
  const collectors = new Map<number, VoteCollector>();
  const head = await d.publicClient.getBlockNumber();
  for (const [position, operatorIndex] of members.entries()) {
    const party = position + 1;
    const directory = await StakingPeerDirectory.load(d.publicClient, d.staking.address, {});
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
      clock: observedClock(head),
      minAbsences: 3,
      votes,
      // Routed as the staking agent routes them: proposals to the slasher, votes to the collector.
      send: (to: number, message: AbsenceProposalMessage | VoteMessage) => {
        setImmediate(() => void (message.kind === "vote" ? collectors.get(to)?.handle(party, message) : byParty.get(to)?.handle(party, message)));
      },
      ...(backoff === undefined ? {} : { backoff: backoff() }),
    });
    byParty.set(party, slasher);
  }
  return byParty;
}

/** Absence records are stamped with the wall clock, a little in the past. */
const RECORDS_AT = Date.now() - 60_000;

/** `times` records of `party`'s absence: split between early and late (sustained), or all early (a burst). */
function absent(party: number, times: number, shape: "sustained" | "burst" = "sustained"): AbsenceRecord[] {
  return Array.from({ length: times }, (_, i) => {
    const late = shape === "sustained" && i >= times / 2;
    return { sessionId: `s${party}-${i}`, keyId: "epoch-1", operation: "sign", absentees: [party], at: RECORDS_AT + (late ? 300 : 50) + i };
  });
}

/** An elected and confirmed committee of operators 0-3, with enough blocks behind it for the observed clock. */
async function absenceFixture() {
  const d = await networkHelpers.loadFixture(deployWithOperators);
  await electAndConfirm(d, [0, 1, 2, 3]);
  await networkHelpers.mine(30);
  return d;
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
      await submitKeyAs(d, operator, 2n, key);
    }
    await d.staking.write.electCommittee([addressesOf(d.operators.slice(0, 4)), 3]);
    assert.equal(await directory.refresh(), true);
    assert.equal(directory.committee.epoch, 3n);
    assert.equal(previousEpoch(), 2n);
    assert.deepEqual(
      directory.members().map((m) => m.index),
      [1, 2, 3, 4, 5],
    );
    assert.equal(directory.committeeOf(2n)?.relay, clusterKeyAddress(key));
    for (const i of [0, 1, 2, 3]) {
      const operator = d.operators[i]!;
      await submitKeyAs(d, operator, 3n, key);
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
      const sent = await submitKeyAs(d, operator, 1n, key);
      assert.notEqual(sent.txHash, null);
      const again = await submitKeyAs(d, operator, 1n, key);
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

describe("staking node: identities proven by their own key", () => {
  it("keeps a member whose identity proof fails out of the peers: registering another node's peer id gains nothing", async () => {
    const d = await networkHelpers.loadFixture(deployWithOperators);
    // A squatter registers operator 0's peer id under its own operator key; its proof is signed by another libp2p key.
    const wallets = await viem.getWalletClients();
    const staker = wallets[10]!;
    const squatter = privateKeyToAccount(keccak256(toHex("squatter")));
    const ownKey = await createIdentity();
    const stolen = identityBytes(d.operators[0]!.identity.peerId);
    const consent = await squatter.signTypedData({
      domain: d.domain,
      types: stakingTypes,
      primaryType: "OperatorRegistration",
      message: { staker: staker.account!.address, identityHash: keccak256(stolen) },
    });
    const proof = await signIdentityClaim(ownKey.privateKey, identityClaim(d.chainId, d.staking.address, squatter.address));
    await d.staking.write.register([squatter.address, stolen, consent, proof], { account: staker.account! });
    await d.token.write.mint([staker.account!.address, parseEther("100")]);
    await d.token.write.approve([d.staking.address, parseEther("100")], { account: staker.account! });
    await d.staking.write.stake([squatter.address, parseEther("100")], { account: staker.account! });
    // The real owner registered first here, but the order does not matter: nothing is reserved on chain.
    assert.equal((await d.staking.read.getNode([d.operators[0]!.account.address])).identity, stolen);
    await d.staking.write.electCommittee([[squatter.address, ...addressesOf(d.operators.slice(1, 4))], 3]);
    const directory = await StakingPeerDirectory.load(d.publicClient, d.staking.address, {});
    const member = directory.committee.members.find((m) => m.operator === getAddress(squatter.address))!;
    assert.equal(member.identityVerified, false);
    assert.equal(directory.byPeerId(d.operators[0]!.identity.peerId), undefined, "the squatted peer id maps to nobody");
    assert.deepEqual(
      directory.members().map((m) => m.index),
      [2, 3, 4],
      "the members with proven identities are the peers",
    );
    assert.ok(directory.committee.members.filter((m) => m.operator !== getAddress(squatter.address)).every((m) => m.identityVerified));
  });
});

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
    const d = await absenceFixture();
    // Party 4 (operator 3) was seen absent by party 1 only; party 2 saw it twice, below the threshold of 3.
    const records = new Map([
      [1, absent(4, 6)],
      [2, absent(4, 2)],
      [3, absent(2, 6)],
    ]);
    const members = await slashers(d, [0, 1, 2, 3], records);
    const proposal = await members.get(1)!.proposalAgainst(d.operators[3]!.account.address);
    assert.match((await members.get(2)!.check(proposal)) ?? "", /absent 2 time\(s\) in the window, 3 needed/);
    assert.match((await members.get(3)!.check(proposal)) ?? "", /absent 0 time\(s\)/);
    await assert.rejects(members.get(3)!.sign(proposal), ProposalRefused);
    assert.match((await members.get(4)!.check(proposal)) ?? "", /its own absence/);
    // Records the node cannot place inside the window do not count: it saw the chain past the window's end before them.
    const early = { ...proposal, toBlock: proposal.fromBlock + 5n };
    await assert.rejects(members.get(1)!.sign(early), /absent 0 time\(s\)/);
    await assert.rejects(members.get(1)!.proposeAndSubmit(d.operators[3]!.account.address, 5_000), /no quorum/);
    assert.equal((await d.staking.read.getNode([d.operators[3]!.account.address])).stake, 400n * 10n ** 18n, "nothing was slashed");
  });

  it("counts a short outage as no absence: the records must span the minimum window", async () => {
    const d = await absenceFixture();
    // Every other member saw party 2 absent five times, all within two blocks.
    const records = new Map([1, 3, 4].map((party) => [party, absent(2, 5, "burst")]));
    const members = await slashers(d, [0, 1, 2, 3], records);
    const proposal = await members.get(1)!.proposalAgainst(d.operators[1]!.account.address);
    for (const party of [1, 3, 4]) assert.match((await members.get(party)!.check(proposal)) ?? "", /span 0 block\(s\), 5 needed/);
    assert.deepEqual(await members.get(1)!.slashDue(5_000), [], "nothing is even proposed");
    assert.equal((await d.staking.read.getNode([d.operators[1]!.account.address])).stake, 200n * 10n ** 18n);
  });

  it("slashes the absent member once the signers meet the court's rule, and pays the treasury, not them", async () => {
    const d = await absenceFixture();
    // Party 2 (operator 1, stake 200) is absent; parties 1, 3, 4 (the threshold of 3) all saw it.
    const records = new Map([1, 3, 4].map((party) => [party, absent(2, 4)]));
    const members = await slashers(d, [0, 1, 2, 3], records);
    const accused = getAddress(d.operators[1]!.account.address);
    const [outcome] = await members.get(1)!.slashDue(10_000);
    assert.ok(
      outcome !== undefined && "slashed" in outcome,
      JSON.stringify(outcome, (_, v) => (typeof v === "bigint" ? v.toString() : v)),
    );
    assert.equal(outcome.slashed.signers.length, 3);
    assert.ok(!outcome.slashed.signers.includes(accused));
    assert.equal((await d.staking.read.getNode([accused])).stake, 180n * 10n ** 18n, "10 % of 200 slashed");
    assert.equal(await d.staking.read.rewards([d.treasury.account!.address]), 20n * 10n ** 18n);
    for (const o of d.operators.slice(0, 4)) assert.equal(await d.staking.read.rewards([o.staker.account!.address]), 0n, "no signer earns from it");
    assert.equal(await d.court.read.absenceSlashedUntil([accused]), outcome.slashed.proposal.toBlock + 1n);
    // The devnet's cap is one absence slash per member and epoch.
    await assert.rejects(members.get(3)!.proposalAgainst(accused), /the cap/);
    assert.deepEqual(await members.get(3)!.slashDue(5_000), []);
  });

  it("backs off after a refused proposal, and proposes again only after the delay and with new records", async () => {
    const d = await absenceFixture();
    const records = new Map([[1, absent(4, 6)]]);
    const members = await slashers(d, [0, 1, 2, 3], records, () => new ProposalBackoff({ firstMs: 60_000, maxMs: 120_000 }));
    const [refused] = await members.get(1)!.slashDue(2_000);
    assert.ok(refused !== undefined && "notSubmitted" in refused && refused.refused, "the others do not corroborate it");
    assert.deepEqual(await members.get(1)!.slashDue(2_000), [], "not again at once");
    const backoff = new ProposalBackoff({ firstMs: 1_000, maxMs: 4_000 });
    const accused = getAddress(d.operators[3]!.account.address);
    backoff.failed(accused, 100, 0);
    assert.equal(backoff.due(accused, 100, 500), false);
    assert.equal(backoff.due(accused, 100, 5_000), false, "no new record");
    assert.equal(backoff.due(accused, 101, 5_000), true);
    backoff.failed(accused, 101, 5_000);
    assert.equal(backoff.due(accused, 102, 6_500), false, "the delay doubled");
    assert.equal(backoff.due(accused, 102, 7_000), true);
    backoff.succeeded(accused);
    assert.equal(backoff.due(accused, 0, 0), true);
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
