/**
 * The threshold signatures are ordinary Ethereum signatures: the EVM's
 * ecrecover precompile (address 0x01) recovers the key share's address.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { network } from "hardhat";
import { encodeAbiParameters, getAddress, type Hex, toHex } from "viem";
import type { KeyShare } from "@mpc-relay/mpc";
import { digestOf, keygenOk, sign } from "../mpc/harness.ts";

const ECRECOVER: Hex = "0x0000000000000000000000000000000000000001";

describe("threshold ECDSA signatures in the EVM", async () => {
  const { viem } = await network.create();
  const publicClient = await viem.getPublicClient();
  let shares: Map<number, KeyShare>;

  before(() => {
    shares = keygenOk([1, 2, 3], 2, "evm");
  });

  async function ecrecover(digest: Uint8Array, v: number, r: bigint, s: bigint): Promise<Hex | null> {
    const data = encodeAbiParameters([{ type: "bytes32" }, { type: "uint8" }, { type: "uint256" }, { type: "uint256" }], [toHex(digest), v, r, s]);
    const result = await publicClient.call({ to: ECRECOVER, data });
    if (result.data === undefined || result.data === "0x") return null;
    return getAddress(`0x${result.data.slice(-40)}`);
  }

  it("ecrecover returns the key's address for every signer pair", async () => {
    for (const [label, signers] of [
      ["12", [1, 2]],
      ["13", [1, 3]],
      ["23", [2, 3]],
    ] as const) {
      const digest = digestOf(`evm-${label}`);
      const outcome = sign(shares, [...signers], digest, `evm-${label}`);
      const signature = outcome.results.get(signers[0])!;
      assert.equal(await ecrecover(digest, signature.v, signature.r, signature.s), shares.get(1)!.address);
    }
  });

  it("a flipped recovery byte or another digest does not recover the address", async () => {
    const digest = digestOf("evm-negative");
    const signature = sign(shares, [1, 2], digest, "evm-negative").results.get(1)!;
    const flipped = signature.v === 27 ? 28 : 27;
    assert.notEqual(await ecrecover(digest, flipped, signature.r, signature.s), shares.get(1)!.address);
    assert.notEqual(await ecrecover(digestOf("other"), signature.v, signature.r, signature.s), shares.get(1)!.address);
  });
});
