/**
 * The one TypeScript implementation of the mpc-relay message format and of every hash the MPC network
 * signs: message id, EIP-712 message digest, batch Merkle root and multiproof, relay-rotation digest.
 * contracts/gateway/MessageLib.sol is its Solidity twin; test/contracts/message-equivalence.test.ts keeps
 * the two equal. docs/wire-format.md specifies the format for other implementations (test vectors:
 * test/vectors/wire-format.json, from scripts/lib/gen-wire-vectors.ts).
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  decodeEventLog,
  encodeAbiParameters,
  getAddress,
  hashDomain,
  hashStruct,
  hashTypedData,
  isAddress,
  isHex,
  keccak256,
  compactSignatureToSignature,
  parseSignature,
  serializeSignature,
  signatureToCompactSignature,
  type Address,
  type Hex,
} from "viem";
import { sourceGatewayAbi } from "./abi.ts";

export const GATEWAY_DOMAIN_NAME = "MpcRelayGateway";
export const GATEWAY_DOMAIN_VERSION = "1";

const UINT64_MAX = (1n << 64n) - 1n;

/** A cross-chain message exactly as SourceGateway emits it and TargetGateway delivers it. */
export interface Message {
  /** Sequence number of the (source gateway, destination chain) channel. */
  nonce: bigint;
  srcChainId: bigint;
  srcGateway: Address;
  sender: Address;
  dstChainId: bigint;
  receiver: Address;
  /** Gas the target gateway forwards to receiver.onMessage. */
  gasLimit: bigint;
  payload: Hex;
}

export const messageTypes = {
  Message: [
    { name: "nonce", type: "uint64" },
    { name: "srcChainId", type: "uint64" },
    { name: "srcGateway", type: "address" },
    { name: "sender", type: "address" },
    { name: "dstChainId", type: "uint64" },
    { name: "receiver", type: "address" },
    { name: "gasLimit", type: "uint64" },
    { name: "payload", type: "bytes" },
  ],
} as const;

export const batchTypes = { Batch: [{ name: "root", type: "bytes32" }] } as const;

export const relayRotationTypes = {
  RelayRotation: [
    { name: "newRelay", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** EIP-712 domain of a target gateway: signatures are valid on that gateway of that chain only. */
export function gatewayDomain(chainId: bigint | number, targetGateway: Address) {
  return {
    name: GATEWAY_DOMAIN_NAME,
    version: GATEWAY_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: getAddress(targetGateway),
  } as const;
}

const eip712DomainTypes = {
  EIP712Domain: [
    { name: "name", type: "string" },
    { name: "version", type: "string" },
    { name: "chainId", type: "uint256" },
    { name: "verifyingContract", type: "address" },
  ],
} as const;

/** EIP-712 domain separator of a target gateway (TargetGateway.domainSeparator on that chain). */
export function gatewayDomainSeparator(chainId: bigint | number, targetGateway: Address): Hex {
  return hashDomain({ domain: gatewayDomain(chainId, targetGateway), types: eip712DomainTypes });
}

/** Throws a clear error if a field is out of its Solidity type's range or malformed. */
export function assertValidMessage(message: Message): void {
  for (const field of ["nonce", "srcChainId", "dstChainId", "gasLimit"] as const) {
    const value = message[field];
    if (typeof value !== "bigint" || value < 0n || value > UINT64_MAX) {
      throw new RangeError(`message.${field} must be a uint64 bigint, got ${String(value)}`);
    }
  }
  for (const field of ["srcGateway", "sender", "receiver"] as const) {
    if (!isAddress(message[field], { strict: false })) {
      throw new TypeError(`message.${field} is not an address: ${String(message[field])}`);
    }
  }
  if (!isHex(message.payload, { strict: true }) || message.payload.length % 2 !== 0) {
    throw new TypeError("message.payload must be an even-length 0x-prefixed hex string");
  }
}

/** Message id: the EIP-712 struct hash of the message (MessageLib.messageId). */
export function messageId(message: Message): Hex {
  assertValidMessage(message);
  return hashStruct({ data: message, primaryType: "Message", types: messageTypes });
}

/** Typed data for signing one message for `targetGateway` (viem signTypedData input). */
export function messageTypedData(message: Message, targetGateway: Address) {
  assertValidMessage(message);
  return {
    domain: gatewayDomain(message.dstChainId, targetGateway),
    types: messageTypes,
    primaryType: "Message",
    message,
  } as const;
}

/** EIP-712 digest the relay key signs for one message (MessageLib.digest). */
export function messageDigest(message: Message, targetGateway: Address): Hex {
  return hashTypedData(messageTypedData(message, targetGateway));
}

/** StandardMerkleTree leaf of a message id with leaf encoding ["bytes32"] (MessageLib.leaf). */
export function messageLeaf(id: Hex): Hex {
  return keccak256(keccak256(encodeAbiParameters([{ type: "bytes32" }], [id])));
}

/** Messages for one target gateway, committed to by one Merkle root. */
export class MessageBatch {
  readonly messages: readonly Message[];
  readonly ids: readonly Hex[];
  readonly tree: StandardMerkleTree<[Hex]>;
  readonly dstChainId: bigint;

  constructor(messages: readonly Message[]) {
    const first = messages[0];
    if (first === undefined) throw new RangeError("a batch needs at least one message");
    const ids = messages.map(messageId);
    if (new Set(ids).size !== ids.length) throw new RangeError("a batch cannot hold the same message twice");
    for (const message of messages) {
      if (message.dstChainId !== first.dstChainId) {
        throw new RangeError("all messages of a batch must go to the same destination chain");
      }
    }
    this.messages = messages;
    this.ids = ids;
    this.dstChainId = first.dstChainId;
    this.tree = StandardMerkleTree.of(
      ids.map((id) => [id] as [Hex]),
      ["bytes32"],
    );
  }

  get root(): Hex {
    return this.tree.root as Hex;
  }

  /** Typed data the relay key signs for this batch on `targetGateway`. */
  typedData(targetGateway: Address) {
    return batchTypedData(this.root, this.dstChainId, targetGateway);
  }

  /**
   * Arguments for TargetGateway.receiveBatch covering `selected` (default: all) messages: the messages in
   * the multiproof's leaf order, the proof and its flags.
   */
  multiProof(selected: readonly Message[] = this.messages): { messages: Message[]; proof: Hex[]; proofFlags: boolean[] } {
    const byId = new Map<string, Message>();
    const indices = selected.map((message) => {
      const id = messageId(message);
      const index = this.ids.indexOf(id);
      if (index < 0) throw new RangeError(`message ${id} is not in this batch`);
      byId.set(id, message);
      return index;
    });
    const { leaves, proof, proofFlags } = this.tree.getMultiProof(indices);
    return {
      messages: leaves.map(([id]) => byId.get(id) as Message),
      proof: proof as Hex[],
      proofFlags,
    };
  }
}

/** Typed data of Batch(bytes32 root) under the target gateway's domain. */
export function batchTypedData(root: Hex, dstChainId: bigint | number, targetGateway: Address) {
  return {
    domain: gatewayDomain(dstChainId, targetGateway),
    types: batchTypes,
    primaryType: "Batch",
    message: { root },
  } as const;
}

/** EIP-712 digest of a batch root (MessageLib.batchDigest). */
export function batchDigest(root: Hex, dstChainId: bigint | number, targetGateway: Address): Hex {
  return hashTypedData(batchTypedData(root, dstChainId, targetGateway));
}

export interface RelayRotation {
  newRelay: Address;
  /** TargetGateway.rotationNonce() at signing time. */
  nonce: bigint;
  /** Unix time after which the rotation is refused. */
  deadline: bigint;
}

/** Typed data the current relay key signs to hand over to `rotation.newRelay` on `targetGateway`. */
export function relayRotationTypedData(rotation: RelayRotation, chainId: bigint | number, targetGateway: Address) {
  return {
    domain: gatewayDomain(chainId, targetGateway),
    types: relayRotationTypes,
    primaryType: "RelayRotation",
    message: rotation,
  } as const;
}

/** EIP-712 digest of a relay rotation (MessageLib.relayRotationDigest). */
export function relayRotationDigest(rotation: RelayRotation, chainId: bigint | number, targetGateway: Address): Hex {
  return hashTypedData(relayRotationTypedData(rotation, chainId, targetGateway));
}

export interface SentMessage {
  messageId: Hex;
  message: Message;
  fee: bigint;
}

/** Half the secp256k1 group order: the largest s TargetGateway (like OpenZeppelin's ECDSA) accepts. */
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * The EIP-2098 compact form [r, vs] TargetGateway.receiveMessage / receiveBatch take, from a 65-byte
 * (r, s, v) signature such as the MPC network returns. A high-s signature has no place there (the gateway
 * rejects it), so it is refused here with a clear error.
 */
export function toCompactSignature(signature: Hex): readonly [r: Hex, vs: Hex] {
  const parsed = parseSignature(signature);
  if (BigInt(parsed.s) > HALF_ORDER) throw new RangeError("high-s signature: TargetGateway accepts low-s signatures only");
  const { r, yParityAndS } = signatureToCompactSignature(parsed);
  return [r, yParityAndS];
}

/** The 65-byte (r, s, v) form of an EIP-2098 compact signature, e.g. one read back from delivery calldata. */
export function fromCompactSignature(r: Hex, vs: Hex): Hex {
  return serializeSignature(compactSignatureToSignature({ r, yParityAndS: vs }));
}

/**
 * Decodes a SourceGateway MessageSent log and checks that its indexed id is the id of its message
 * (a node re-derives what it signs instead of trusting the log's id).
 */
export function decodeMessageSent(log: { data: Hex; topics: readonly Hex[] }): SentMessage {
  const [signature, ...rest] = log.topics;
  if (signature === undefined) throw new TypeError("log has no topics");
  const decoded = decodeEventLog({
    abi: sourceGatewayAbi,
    eventName: "MessageSent",
    data: log.data,
    topics: [signature, ...rest],
  });
  const { message, fee } = decoded.args;
  const sent: Message = {
    nonce: message.nonce,
    srcChainId: message.srcChainId,
    srcGateway: message.srcGateway,
    sender: message.sender,
    dstChainId: message.dstChainId,
    receiver: message.receiver,
    gasLimit: message.gasLimit,
    payload: message.payload,
  };
  const id = messageId(sent);
  if (id !== decoded.args.messageId) {
    throw new Error(`MessageSent log id ${decoded.args.messageId} does not match its message (${id})`);
  }
  return { messageId: id, message: sent, fee };
}

/** A message in JSON: uint64 fields as decimal strings, since they do not fit a JSON number. */
export interface JsonMessage {
  nonce: string;
  srcChainId: string;
  srcGateway: Address;
  sender: Address;
  dstChainId: string;
  receiver: Address;
  gasLimit: string;
  payload: Hex;
}

export function messageToJson(message: Message): JsonMessage {
  return {
    nonce: message.nonce.toString(),
    srcChainId: message.srcChainId.toString(),
    srcGateway: message.srcGateway,
    sender: message.sender,
    dstChainId: message.dstChainId.toString(),
    receiver: message.receiver,
    gasLimit: message.gasLimit.toString(),
    payload: message.payload,
  };
}

export function messageFromJson(json: JsonMessage): Message {
  return {
    nonce: BigInt(json.nonce),
    srcChainId: BigInt(json.srcChainId),
    srcGateway: json.srcGateway,
    sender: json.sender,
    dstChainId: BigInt(json.dstChainId),
    receiver: json.receiver,
    gasLimit: BigInt(json.gasLimit),
    payload: json.payload,
  };
}
