/**
 * EIP-712 typed data of the RelayStaking contract (contracts/staking/RelayStaking.sol).
 * Nodes sign these with their operator key (relayer/staking); the contract tests import them from here.
 */
import { concat, keccak256, type Address, type Hex, type TypedDataDomain } from "viem";

/** Most protocol messages one removal may cite (RelayStaking.MAX_EVIDENCE_MESSAGES). */
export const MAX_EVIDENCE_MESSAGES = 8;

/** Domain of one RelayStaking deployment. */
export function stakingDomain(chainId: number | bigint, verifyingContract: Address): TypedDataDomain {
  return { name: "MpcRelayStaking", version: "1", chainId: BigInt(chainId), verifyingContract };
}

/** Types of every struct the staking contract verifies a signature over. */
export const stakingTypes = {
  /** The operator key consents to be registered by `staker` with this peer identity. */
  OperatorRegistration: [
    { name: "staker", type: "address" },
    { name: "identityHash", type: "bytes32" },
  ],
  /** Members agree that `node` was absent during blocks [fromBlock, toBlock] of `epoch`. */
  AbsenceSlash: [
    { name: "epoch", type: "uint64" },
    { name: "node", type: "address" },
    { name: "fromBlock", type: "uint64" },
    { name: "toBlock", type: "uint64" },
  ],
  /** Members agree to remove `node` for the evidence messages committed to by `evidenceHash` (removalEvidenceHash). */
  Removal: [
    { name: "epoch", type: "uint64" },
    { name: "node", type: "address" },
    { name: "evidenceHash", type: "bytes32" },
  ],
  /** Every protocol message a node sends, so a faulty one can serve as evidence against it. */
  ProtocolMessage: [{ name: "contentHash", type: "bytes32" }],
} as const;

export interface AbsenceProposal {
  epoch: bigint;
  node: Address;
  fromBlock: bigint;
  toBlock: bigint;
}

export interface RemovalProposal {
  epoch: bigint;
  node: Address;
  evidenceHash: Hex;
}

/** Members' signatures must reach the contract ordered by strictly increasing signer address. */
export function sortBySigner<T extends { signer: Address }>(signed: readonly T[]): T[] {
  return [...signed].sort((a, b) => {
    const x = BigInt(a.signer);
    const y = BigInt(b.signer);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/**
 * The evidence hash a Removal proposal names (RelayStaking.evidenceHash): keccak256 of the concatenated
 * keccak256 hashes of the offender's signed protocol messages, in the order they are submitted.
 */
export function removalEvidenceHash(messages: readonly Hex[]): Hex {
  if (messages.length === 0 || messages.length > MAX_EVIDENCE_MESSAGES) {
    throw new RangeError(`removal evidence needs 1 to ${MAX_EVIDENCE_MESSAGES} messages, got ${messages.length}`);
  }
  return keccak256(concat(messages.map((message) => keccak256(message))));
}
