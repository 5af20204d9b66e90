/**
 * What an honest member cares about after an attack, as assertions:
 * - the key stays secret: no sharing of it that an honest member holds can be
 *   completed by the attackers alone (fewer attackers than its threshold), its
 *   threshold is at least MIN_THRESHOLD, and its public key is unchanged;
 * - the key stays usable: honest members alone (the attackers cut off) sign;
 * - no honest member can be proven faulty: no pair of messages an honest
 *   member ever signed makes a fault proof.
 */
import assert from "node:assert/strict";
import { getAddress, recoverAddress, type Hex } from "viem";
import { checkFaultProof, FAULT_KINDS, MIN_THRESHOLD, type PartyIndex } from "@mpc-relay/mpc";
import type { SignResult } from "../../relayer/node/session/index.ts";
import { sendMessage, type InProcessNetwork } from "./inprocess.ts";

export async function assertKeySecret(net: InProcessNetwork, keyId: string, attackers: readonly PartyIndex[], publicKey: string): Promise<void> {
  for (const [party, node] of net.nodes) {
    if (attackers.includes(party)) continue;
    const key = await node.store.getKey(keyId);
    for (const generation of key?.generations ?? []) {
      const held = generation.participants.filter((p) => attackers.includes(p)).length;
      assert.ok(generation.threshold >= MIN_THRESHOLD, `party ${party}: generation ${generation.id} has threshold ${generation.threshold}`);
      assert.ok(held < generation.threshold, `party ${party}: attackers hold ${held} of generation ${generation.id}'s ${generation.threshold}-of-{${generation.participants.join(",")}}`);
      if (generation.publicKey !== null) assert.equal(generation.publicKey, publicKey, `party ${party}: generation ${generation.id} has another public key`);
    }
  }
}

/** The signature recovers to `address` over the signed digest. */
export async function assertRecovers(result: SignResult, address: string): Promise<void> {
  const signature = `0x${Buffer.from(result.signature.bytes).toString("hex")}` as Hex;
  assert.equal(await recoverAddress({ hash: `0x${Buffer.from(result.digest).toString("hex")}`, signature }), getAddress(address));
}

/** Honest members sign with the key, coordinated by `coordinator`, with the attackers cut off; returns the signers. */
export async function assertKeyUsable(net: InProcessNetwork, keyId: string, attackers: readonly PartyIndex[], coordinator: PartyIndex, address: string): Promise<PartyIndex[]> {
  for (const party of attackers) net.isolate(party);
  try {
    const request = sendMessage(net.chains());
    const result = await net.manager(coordinator).signFull(keyId, request);
    await assertRecovers(result, address);
    assert.ok(result.signers.every((p) => !attackers.includes(p)));
    return result.signers;
  } finally {
    for (const party of attackers) net.reconnect(party);
  }
}

export function assertNoHonestFault(net: InProcessNetwork, honest: readonly PartyIndex[]): void {
  let pairs = 0;
  for (const party of honest) {
    const messages = net.node(party).signed.map((s) => s.message);
    const bySession = new Map<string, typeof messages>();
    for (const m of messages) {
      const key = `${Buffer.from(m.sessionId).toString("hex")}/${m.keyId}/${m.protocol}`;
      bySession.set(key, [...(bySession.get(key) ?? []), m]);
    }
    for (const list of bySession.values()) {
      for (let i = 0; i < list.length; i++) {
        for (let j = 0; j < list.length; j++) {
          if (i === j) continue;
          pairs += 1;
          for (const kind of FAULT_KINDS) assert.throws(() => checkFaultProof(kind, [list[i]!, list[j]!]), `party ${party} framed as ${kind}`);
        }
      }
    }
  }
  assert.ok(pairs > 0 || honest.every((p) => net.node(p).signed.length <= 1), "there were messages to check");
}
