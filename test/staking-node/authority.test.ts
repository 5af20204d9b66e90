/**
 * The key authority of a staking node (relayer/staking/authority.ts) against a
 * real RelayStaking (Hardhat in-process): the relay key's keyGen and reshare
 * parameters must be exactly what the contract elected, whoever coordinates
 * (issue 10 findings 1 and 5), and a share of the relay key is deleted only
 * once a newer epoch confirmed the same relay without this node.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, type Address } from "viem";
import type { KeyRecord } from "../../relayer/node/keystore.ts";
import { KeyStore } from "../../relayer/node/keystore.ts";
import { OperatorApprovals } from "../../relayer/node/session/authority.ts";
import { SessionError } from "../../relayer/node/session/errors.ts";
import { StakingKeyAuthority } from "../../relayer/staking/authority.ts";
import { StakingPeerDirectory } from "../../relayer/staking/directory.ts";
import { clusterKeyAddress } from "../../relayer/staking/operator.ts";
import { addressesOf, deployWithOperators, networkHelpers, submitKeyAs, type Deployment } from "./fixture.ts";

const unauthorized = (reason: RegExp) => (error: unknown) => error instanceof SessionError && error.kind === "unauthorized" && reason.test(error.message);

async function confirm(d: Deployment, members: number[], publicKey: string): Promise<Address> {
  const epoch = await d.staking.read.latestEpoch();
  for (const i of members) {
    await submitKeyAs(d, d.operators[i]!, epoch, publicKey);
  }
  return clusterKeyAddress(publicKey);
}

/** The authority of the node of operator `i` (party index i + 1), with its own (empty) approvals. */
async function authorityOf(d: Deployment, i: number, dirs: string[]): Promise<{ authority: StakingKeyAuthority; approvals: OperatorApprovals; store: KeyStore }> {
  const dir = await mkdtemp(join(tmpdir(), "staking-authority-"));
  dirs.push(dir);
  const store = await KeyStore.open(join(dir, "keystore"), "authority test passphrase", { N: 2 ** 10, r: 8, p: 1 });
  const approvals = new OperatorApprovals(store);
  const directory = await StakingPeerDirectory.load(d.publicClient, d.staking.address, {});
  return { authority: new StakingKeyAuthority(directory, d.operators[i]!.account.address, approvals), approvals, store };
}

function relayKey(keyId: string, publicKey: string, participants: number[]): KeyRecord {
  return {
    keyId,
    sessionId: "s",
    status: "READY",
    threshold: 3,
    participants,
    publicKey,
    address: clusterKeyAddress(publicKey),
    generation: "g",
    generations: [],
    error: null,
    createdAt: 0,
    updatedAt: 0,
  };
}

describe("staking node: key operations must be what RelayStaking elected", () => {
  it("allows exactly the elected keyGen, and falls back to operator approvals for other keys", async () => {
    const d = await networkHelpers.loadFixture(deployWithOperators);
    const dirs: string[] = [];
    await d.staking.write.electCommittee([addressesOf(d.operators.slice(0, 4)), 3]);
    const { authority, approvals, store } = await authorityOf(d, 0, dirs);
    await authority.authorizeKeygen("epoch-1", [1, 2, 3, 4], 3);
    await assert.rejects(authority.authorizeKeygen("epoch-1", [1, 2, 3, 4], 2), unauthorized(/elected threshold 3/));
    await assert.rejects(authority.authorizeKeygen("epoch-1", [1, 2, 3], 2), unauthorized(/elected parties \{1,2,3,4\}/));
    await assert.rejects(authority.authorizeKeygen("epoch-1", [1, 2, 3, 5], 3), unauthorized(/elected parties/));
    await assert.rejects(authority.authorizeKeygen("epoch-2", [1, 2, 3, 4], 3), unauthorized(/is epoch-1/));
    // Another key is the operator's business.
    await assert.rejects(authority.authorizeKeygen("other", [1, 2], 2), unauthorized(/not approved/));
    await approvals.approve({ operation: "keygen", keyId: "other", parties: [1, 2], threshold: 2 });
    await authority.authorizeKeygen("other", [1, 2], 2);
    // Once the epoch's key is confirmed, no second keyGen for it.
    await confirm(d, [0, 1, 2, 3], bytesToHex(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true)).slice(2));
    await assert.rejects(authority.authorizeKeygen("epoch-1", [1, 2, 3, 4], 3), unauthorized(/already confirmed/));
    await store.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("hands the active relay key only to the newly elected committee, and lets leavers delete only after it is confirmed", async () => {
    const d = await networkHelpers.loadFixture(deployWithOperators);
    const dirs: string[] = [];
    await d.staking.write.electCommittee([addressesOf(d.operators.slice(0, 4)), 3]);
    const publicKey = bytesToHex(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true)).slice(2);
    await confirm(d, [0, 1, 2, 3], publicKey);
    const key = relayKey("epoch-1", publicKey, [1, 2, 3, 4]);
    const member = await authorityOf(d, 0, dirs);
    const leaver = await authorityOf(d, 3, dirs);
    await assert.rejects(member.authority.authorizeReshare(key, { newParties: [1, 2, 3, 5], newThreshold: 3 }), unauthorized(/no hand-over is due/));

    // Governance elects {1, 2, 3, 5}: the hand-over of the active relay to it, and nothing else, is allowed.
    await d.staking.write.electCommittee([[0, 1, 2, 4].map((i) => d.operators[i]!.account.address), 3]);
    await member.authority.authorizeReshare(key, { newParties: [1, 2, 3, 5], newThreshold: 3 });
    await leaver.authority.authorizeReshare(key, { newParties: [1, 2, 3, 5], newThreshold: 3 });
    await assert.rejects(member.authority.authorizeReshare(key, { newParties: [4, 5], newThreshold: 2 }), unauthorized(/elected parties/));
    await assert.rejects(member.authority.authorizeReshare(key, { newParties: [1, 2, 3, 5], newThreshold: 2 }), unauthorized(/elected threshold/));
    const other = relayKey("epoch-1", bytesToHex(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true)).slice(2), [1, 2, 3, 4]);
    await assert.rejects(member.authority.authorizeReshare(other, { newParties: [1, 2, 3, 5], newThreshold: 3 }), unauthorized(/not the active relay/));
    await assert.rejects(member.authority.authorizeKeygen("epoch-2", [1, 2, 3, 5], 3), unauthorized(/handed over by reshare/));

    // Until epoch 2 confirms the same relay, nobody deletes; then the leaver may, the members may not.
    const target = { newParties: [1, 2, 3, 5], newThreshold: 3 };
    assert.equal(await leaver.authority.mayRetire(key, target), false);
    await confirm(d, [0, 1, 2, 4], publicKey);
    assert.equal(await leaver.authority.mayRetire(key, target), true);
    assert.equal(await member.authority.mayRetire(key, target), false);
    assert.equal(await leaver.authority.mayRetire(key, { newParties: [1, 2, 5], newThreshold: 2 }), false, "only for the committee the contract confirmed");
    await assert.rejects(member.authority.authorizeDelete(key), (error: unknown) => error instanceof SessionError && error.kind === "conflict");
    await leaver.authority.authorizeDelete(key);
    await member.store.close();
    await leaver.store.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
});
