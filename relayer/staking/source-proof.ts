/**
 * State proofs for forgeries that claim another source chain than the staking chain
 * (contracts/staking/proofs/SourceStateVerifier.sol): at a block the verifier's oracle vouches for, the
 * source gateway's sent record of the message is empty and its nonce counter for the destination is past the
 * message's nonce. Built from the source chain's own eth_getProof; the header is rebuilt from the block's fields
 * and checked against its hash, so a wrong field order fails here rather than on chain.
 */
import { encodeAbiParameters, keccak256, numberToHex, toRlp, type Address, type Block, type Hex, type PublicClient } from "viem";
import { messageId, type Message } from "@mpc-relay/sdk";

/** Storage slots of this repository's SourceGateway (test/staking/remote-source.test.ts checks them). */
export const SOURCE_GATEWAY_SLOTS = { nextNonce: 4n, sentTo: 5n } as const;

const STATE_PROOF = [
  {
    type: "tuple",
    components: [
      { name: "header", type: "bytes" },
      { name: "accountProof", type: "bytes[]" },
      { name: "sentToProof", type: "bytes[]" },
      { name: "nextNonceProof", type: "bytes[]" },
    ],
  },
] as const;

/** RLP integers are minimal big-endian bytes: zero is the empty string. */
function rlpInteger(value: bigint | number): Hex {
  return BigInt(value) === 0n ? "0x" : numberToHex(value);
}

/** The RLP-encoded header of `block` (fields of every fork up to Prague, those the block has); throws when it does not hash to the block's hash. */
export function blockHeaderRlp(block: Block<bigint, false, "latest" | "finalized" | "safe">): Hex {
  const optional = block as unknown as { withdrawalsRoot?: Hex; blobGasUsed?: bigint; excessBlobGas?: bigint; parentBeaconBlockRoot?: Hex; requestsHash?: Hex };
  const fields: Hex[] = [
    block.parentHash,
    block.sha3Uncles,
    block.miner,
    block.stateRoot,
    block.transactionsRoot,
    block.receiptsRoot,
    block.logsBloom!,
    rlpInteger(block.difficulty),
    rlpInteger(block.number!),
    rlpInteger(block.gasLimit),
    rlpInteger(block.gasUsed),
    rlpInteger(block.timestamp),
    block.extraData,
    block.mixHash,
    block.nonce!,
  ];
  if (block.baseFeePerGas !== null && block.baseFeePerGas !== undefined) fields.push(rlpInteger(block.baseFeePerGas));
  if (optional.withdrawalsRoot !== undefined) fields.push(optional.withdrawalsRoot);
  if (optional.blobGasUsed !== undefined) fields.push(rlpInteger(optional.blobGasUsed), rlpInteger(optional.excessBlobGas ?? 0n));
  if (optional.parentBeaconBlockRoot !== undefined) fields.push(optional.parentBeaconBlockRoot);
  if (optional.requestsHash !== undefined) fields.push(optional.requestsHash);
  const header = toRlp(fields);
  if (keccak256(header) !== block.hash) throw new Error(`block ${block.number}: rebuilt header does not hash to ${block.hash}`);
  return header;
}

/** Storage slot of mapping entry `key` of the mapping at `slot` (Solidity's keccak256(key . slot)). */
function mappingSlot(key: Hex | bigint, slot: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: typeof key === "bigint" ? "uint256" : "bytes32" }, { type: "uint256" }], [key as never, slot]));
}

/**
 * The proof SourceStateVerifier.provenUnsent takes for `message` at source block `blockNumber` (one the verifier's
 * oracle vouches for): that block's header, the gateway's account proof and the proofs of its two records.
 */
export async function sourceStateProof(p: { client: PublicClient; gateway: Address; message: Message; blockNumber: bigint; slots?: { nextNonce: bigint; sentTo: bigint } }): Promise<Hex> {
  const slots = p.slots ?? SOURCE_GATEWAY_SLOTS;
  const [block, proof] = await Promise.all([
    p.client.getBlock({ blockNumber: p.blockNumber }),
    p.client.getProof({
      address: p.gateway,
      storageKeys: [mappingSlot(messageId(p.message), slots.sentTo), mappingSlot(p.message.dstChainId, slots.nextNonce)],
      blockNumber: p.blockNumber,
    }),
  ]);
  return encodeAbiParameters(STATE_PROOF, [
    { header: blockHeaderRlp(block), accountProof: proof.accountProof, sentToProof: proof.storageProof[0]!.proof, nextNonceProof: proof.storageProof[1]!.proof },
  ]);
}
