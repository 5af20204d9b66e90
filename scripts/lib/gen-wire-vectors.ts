/**
 * Writes test/vectors/wire-format.json: test vectors of the wire format described in docs/wire-format.md
 * (message ids, EIP-712 digests, batch leaves, Merkle root and multiproofs, relay signatures, calldata),
 * computed by the project's own code (packages/sdk/src/message.ts, viem) with a fixed, public test key.
 * Run: npx tsx scripts/lib/gen-wire-vectors.ts (or npm run gen:vectors).
 * test/docs/wire-format.test.ts fails when the committed file differs from what this renders, and checks
 * every vector again with ethers alone and against a deployed TargetGateway.
 */
import { writeFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { encodeFunctionData, getAddress, getContractAddress, keccak256, parseSignature, stringToHex, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  targetGatewayAbi,
  batchDigest,
  GATEWAY_DOMAIN_NAME,
  GATEWAY_DOMAIN_VERSION,
  gatewayDomain,
  gatewayDomainSeparator,
  MessageBatch,
  messageDigest,
  messageId,
  messageLeaf,
  messageToJson,
  messageTypedData,
  relayRotationDigest,
  relayRotationTypedData,
  toCompactSignature,
  type Message,
  type RelayRotation,
} from "@mpc-relay/sdk";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const wireVectorsPath = path.join(root, "test/vectors/wire-format.json");

/** The project's test-key convention (test/contracts/helpers.ts testAccount): public, never fund it. */
const WIRE_KEY_LABEL = "mpc-relay test key: wire-format vectors";
const wirePrivateKey: Hex = keccak256(stringToHex(WIRE_KEY_LABEL));

/** Hardhat's default account #0: on a fresh in-process chain its first two deployments land at fixed addresses. */
const DEPLOYER: Address = getAddress("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
/** Hardhat's default chain id: the chain the deliverable vectors are for. */
const CHAIN_ID = 31337n;
/** TargetGateway(owner, relay = the test key's address, 0, 0) deployed by DEPLOYER at nonce 0. */
const TARGET_GATEWAY = getContractAddress({ from: DEPLOYER, nonce: 0n });
/** NoopReceiver deployed by DEPLOYER at nonce 1: the receiver of the deliverable vectors. */
const RECEIVER = getContractAddress({ from: DEPLOYER, nonce: 1n });

const UINT64_MAX = (1n << 64n) - 1n;
const SRC_CHAIN_ID = 10n;
const SRC_GATEWAY: Address = getAddress("0x00000000000000000000000000000000000a11ce");
const SENDER: Address = getAddress("0x000000000000000000000000000000000000b0b0");

/** Bytes 0x00, 0x01, ... (mod 256): a payload that spans several words and ends mid-word. */
function counting(length: number): Hex {
  return toHex(Uint8Array.from({ length }, (_, i) => i & 0xff));
}

const single: { name: string; deliverable: boolean; message: Message }[] = [
  {
    name: "empty payload",
    deliverable: true,
    message: { nonce: 0n, srcChainId: SRC_CHAIN_ID, srcGateway: SRC_GATEWAY, sender: SENDER, dstChainId: CHAIN_ID, receiver: RECEIVER, gasLimit: 100_000n, payload: "0x" },
  },
  {
    name: "long payload (300 bytes: not a multiple of 32)",
    deliverable: true,
    message: { nonce: 1n, srcChainId: SRC_CHAIN_ID, srcGateway: SRC_GATEWAY, sender: SENDER, dstChainId: CHAIN_ID, receiver: RECEIVER, gasLimit: 200_000n, payload: counting(300) },
  },
  {
    name: "max values (every uint64 2^64-1, every address 0xff..ff, so the domain's chainId is 2^64-1 too)",
    deliverable: false,
    message: {
      nonce: UINT64_MAX,
      srcChainId: UINT64_MAX,
      srcGateway: getAddress(`0x${"ff".repeat(20)}`),
      sender: getAddress(`0x${"ff".repeat(20)}`),
      dstChainId: UINT64_MAX,
      receiver: getAddress(`0x${"ff".repeat(20)}`),
      gasLimit: UINT64_MAX,
      payload: `0x${"ff".repeat(33)}`,
    },
  },
  {
    name: "zero values (every number 0, every address zero, one zero byte of payload)",
    deliverable: false,
    message: {
      nonce: 0n,
      srcChainId: 0n,
      srcGateway: getAddress(`0x${"00".repeat(20)}`),
      sender: getAddress(`0x${"00".repeat(20)}`),
      dstChainId: 0n,
      receiver: getAddress(`0x${"00".repeat(20)}`),
      gasLimit: 0n,
      payload: "0x00",
    },
  },
];

/** Five messages of one channel for CHAIN_ID, nonces 2..6 (after the single ones), all deliverable. */
const batchMessages: Message[] = Array.from({ length: 5 }, (_, i) => ({
  nonce: BigInt(2 + i),
  srcChainId: SRC_CHAIN_ID,
  srcGateway: SRC_GATEWAY,
  sender: SENDER,
  dstChainId: CHAIN_ID,
  receiver: RECEIVER,
  gasLimit: 50_000n,
  payload: toHex(`batch member ${i}`),
}));
/** Members (by batch index) of the partial multiproof. */
const SUBSET = [0, 2, 3];

const rotation: RelayRotation = {
  newRelay: getAddress("0x000000000000000000000000000000000000bEEF"),
  nonce: 0n,
  deadline: 4_102_444_800n, // 2100-01-01T00:00:00Z
};

function jsonDomain(chainId: bigint, targetGateway: Address) {
  const domain = gatewayDomain(chainId, targetGateway);
  return { name: domain.name, version: domain.version, chainId: domain.chainId.toString(), verifyingContract: domain.verifyingContract };
}

/** The 65-byte signature, its parts, and the EIP-2098 (r, vs) form the gateway takes. */
function signatureParts(signature: Hex) {
  const parsed = parseSignature(signature);
  const [r, vs] = toCompactSignature(signature);
  return { signature, r: parsed.r, s: parsed.s, v: Number(parsed.v), compact: { r, vs } };
}

export async function renderWireVectors(): Promise<string> {
  const key = privateKeyToAccount(wirePrivateKey);

  const messages = [];
  for (const { name, deliverable, message } of single) {
    const signature = await key.signTypedData(messageTypedData(message, TARGET_GATEWAY));
    const parts = signatureParts(signature);
    messages.push({
      name,
      deliverable,
      message: messageToJson(message),
      id: messageId(message),
      domain: jsonDomain(message.dstChainId, TARGET_GATEWAY),
      domainSeparator: gatewayDomainSeparator(message.dstChainId, TARGET_GATEWAY),
      digest: messageDigest(message, TARGET_GATEWAY),
      ...parts,
      receiveMessageCalldata: encodeFunctionData({ abi: targetGatewayAbi, functionName: "receiveMessage", args: [message, parts.compact.r, parts.compact.vs] }),
    });
  }

  const batch = new MessageBatch(batchMessages);
  const batchSignature = signatureParts(await key.signTypedData(batch.typedData(TARGET_GATEWAY)));
  const indexOf = (m: Message) => batchMessages.indexOf(m);
  const multiproof = (selected: readonly Message[]) => {
    const { messages: ordered, proof, proofFlags } = batch.multiProof(selected);
    return {
      selected: selected.map(indexOf),
      order: ordered.map(indexOf),
      leaves: ordered.map((m) => messageLeaf(messageId(m))),
      proof,
      proofFlags,
      receiveBatchCalldata: encodeFunctionData({
        abi: targetGatewayAbi,
        functionName: "receiveBatch",
        args: [ordered, proof, proofFlags, batchSignature.compact.r, batchSignature.compact.vs],
      }),
    };
  };

  // rotateRelay takes the 65-byte form only: no EIP-2098 compact form here.
  const { compact: _, ...rotationSignature } = signatureParts(await key.signTypedData(relayRotationTypedData(rotation, CHAIN_ID, TARGET_GATEWAY)));

  const vectors = {
    comment: "Generated by scripts/lib/gen-wire-vectors.ts from packages/sdk/src/message.ts; do not edit. Format: docs/wire-format.md. Numbers are decimal strings, bytes 0x-hex.",
    key: {
      privateKey: wirePrivateKey,
      derivation: `keccak256(utf8("${WIRE_KEY_LABEL}"))`,
      address: key.address,
      warning: "public test key: never use it for anything but tests",
    },
    deployment: {
      comment: "On a fresh Hardhat chain (chainId 31337), DEPLOYER's first transaction deploys TargetGateway(owner, relay = key.address, 0, 0), its second NoopReceiver: their addresses are these.",
      chainId: CHAIN_ID.toString(),
      deployer: DEPLOYER,
      targetGateway: TARGET_GATEWAY,
      receiver: RECEIVER,
    },
    types: {
      EIP712Domain: "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
      Message: "Message(uint64 nonce,uint64 srcChainId,address srcGateway,address sender,uint64 dstChainId,address receiver,uint64 gasLimit,bytes payload)",
      Batch: "Batch(bytes32 root)",
      RelayRotation: "RelayRotation(address newRelay,uint256 nonce,uint256 deadline)",
    },
    typeHashes: {
      EIP712Domain: keccak256(stringToHex("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")),
      Message: keccak256(stringToHex("Message(uint64 nonce,uint64 srcChainId,address srcGateway,address sender,uint64 dstChainId,address receiver,uint64 gasLimit,bytes payload)")),
      Batch: keccak256(stringToHex("Batch(bytes32 root)")),
      RelayRotation: keccak256(stringToHex("RelayRotation(address newRelay,uint256 nonce,uint256 deadline)")),
    },
    domain: {
      ...jsonDomain(CHAIN_ID, TARGET_GATEWAY),
      nameHash: keccak256(stringToHex(GATEWAY_DOMAIN_NAME)),
      versionHash: keccak256(stringToHex(GATEWAY_DOMAIN_VERSION)),
      separator: gatewayDomainSeparator(CHAIN_ID, TARGET_GATEWAY),
    },
    messages,
    batch: {
      messages: batchMessages.map(messageToJson),
      ids: batch.ids,
      leaves: batch.ids.map(messageLeaf),
      tree: batch.tree.dump().tree,
      root: batch.root,
      domain: jsonDomain(CHAIN_ID, TARGET_GATEWAY),
      digest: batchDigest(batch.root, batch.dstChainId, TARGET_GATEWAY),
      ...batchSignature,
      multiproofs: [
        { name: `members ${SUBSET.join(", ")}`, ...multiproof(SUBSET.map((i) => batchMessages[i]!)) },
        { name: "every member", ...multiproof(batchMessages) },
      ],
    },
    relayRotation: {
      newRelay: rotation.newRelay,
      nonce: rotation.nonce.toString(),
      deadline: rotation.deadline.toString(),
      domain: jsonDomain(CHAIN_ID, TARGET_GATEWAY),
      digest: relayRotationDigest(rotation, CHAIN_ID, TARGET_GATEWAY),
      ...rotationSignature,
    },
  };
  return `${JSON.stringify(vectors, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mkdir(path.dirname(wireVectorsPath), { recursive: true });
  await writeFile(wireVectorsPath, await renderWireVectors());
  console.log(`wrote ${path.relative(root, wireVectorsPath)}`);
}
