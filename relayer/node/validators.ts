/**
 * Typed signing requests and the validators every node runs before it signs.
 *
 * There is no "sign these 32 bytes" request: each node rebuilds the digest from a typed request after
 * its own checks, and every check needs a chain: message and batch attestations, relay rotations and
 * relay-address transactions are built here or in chain/ from the node's chain access
 * (SourceChainView, RotationAuthority) and registered by the daemon (chain/validators.ts). A node
 * without configured chains refuses every request.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { z } from "zod";
import { getAddress, type Address, type Hex } from "viem";
import { batchDigest, messageDigest, messageId, relayRotationDigest, type Message } from "@mpc-relay/sdk";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address");
const uint = z.string().regex(/^\d{1,78}$/, "a decimal integer");
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "32 bytes hex");

export const signRequestSchema = z.discriminatedUnion("type", [
  /** Attest one message a SourceGateway sent, for delivery on (dstChainId, targetGateway). */
  z.object({
    type: z.literal("messageAttestation"),
    srcChainId: z.number().int().positive(),
    messageId: bytes32,
    txHash: bytes32.optional(),
    logIndex: z.number().int().nonnegative().optional(),
    dstChainId: z.number().int().positive(),
    targetGateway: address,
  }),
  /** Attest a Merkle root over many sent messages bound for one target. */
  z.object({
    type: z.literal("batchAttestation"),
    srcChainId: z.number().int().positive(),
    messageIds: z.array(bytes32).min(1).max(10_000),
    dstChainId: z.number().int().positive(),
    targetGateway: address,
    /** Optional block range of the messages' logs: it only narrows where a node looks. */
    fromBlock: z.number().int().nonnegative().optional(),
    toBlock: z.number().int().nonnegative().optional(),
  }),
  /** Hand the target gateways' trust over to a new relay address (after a committee change). */
  z.object({
    type: z.literal("relayRotation"),
    chainId: z.number().int().positive(),
    targetGateway: address,
    newRelay: address,
    /** TargetGateway.rotationNonce() the rotation is for. */
    nonce: uint,
    /** Unix time after which the gateway refuses the rotation. */
    deadline: uint,
  }),
  /** An EIP-1559 transaction sent from the relay address itself: a TargetGateway call delivering messages (chain/relay-transactions.ts). */
  z.object({
    type: z.literal("relayTransaction"),
    chainId: z.number().int().positive(),
    nonce: z.number().int().nonnegative(),
    to: address,
    data: z
      .string()
      .regex(/^0x([0-9a-fA-F]{2})*$/)
      .max(2 + 2 * 128 * 1024),
    value: uint,
    gas: uint,
    maxFeePerGas: uint,
    maxPriorityFeePerGas: uint,
    /** Block range of the carried messages' logs on their source chain: it only narrows where a node looks. */
    sourceBlocks: z.object({ fromBlock: z.number().int().nonnegative(), toBlock: z.number().int().nonnegative() }).strict().optional(),
  }),
]);

export type SignRequest = z.infer<typeof signRequestSchema>;
export type SignRequestType = SignRequest["type"];

export interface ValidationContext {
  readonly keyId: string;
  /** The key's Ethereum address (the relay address). */
  readonly address: string;
}

/** A node-side check of one request type; async because it may consult chains. Returns the 32-byte digest to sign. */
export interface SignValidator<T extends SignRequestType = SignRequestType> {
  readonly type: T;
  validate(request: Extract<SignRequest, { type: T }>, context: ValidationContext): Promise<Uint8Array>;
}

export class RequestRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RequestRejected";
  }
}

export class ValidatorRegistry {
  private readonly validators = new Map<SignRequestType, SignValidator>();

  register<T extends SignRequestType>(validator: SignValidator<T>): void {
    this.validators.set(validator.type, validator as unknown as SignValidator);
  }

  /** Parses the request, runs its validator and returns the digest; throws RequestRejected with the reason. */
  async digestFor(request: unknown, context: ValidationContext): Promise<{ request: SignRequest; digest: Uint8Array }> {
    const parsed = signRequestSchema.safeParse(request);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RequestRejected(`invalid signing request: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
    }
    const validator = this.validators.get(parsed.data.type);
    if (validator === undefined) throw new RequestRejected(`no validator configured for ${parsed.data.type} requests on this node`);
    const digest = await validator.validate(parsed.data as never, context);
    if (digest.length !== 32) throw new RequestRejected(`validator for ${parsed.data.type} returned a ${digest.length}-byte digest`);
    return { request: parsed.data, digest };
  }
}

export const toBytes = (hex: Hex): Uint8Array => new Uint8Array(Buffer.from(hex.slice(2), "hex"));

/** Where a request says a message's log is; it only narrows where a node looks. */
export interface MessageHint {
  txHash?: Hex;
  logIndex?: number;
  fromBlock?: number;
  toBlock?: number;
}

/** What a node reads from chains, through its own RPC endpoints, to attest (chain/validators.ts implements it with viem). */
export interface SourceChainView {
  /**
   * The message a SourceGateway on `srcChainId` emitted with this id, once its block is final under
   * the chain's finality rule; null when unknown or not final yet.
   */
  finalizedMessage(srcChainId: number, id: Hex, hint: MessageHint): Promise<Message | null>;
  /** The TargetGateway this network serves on `chainId`, or null. */
  targetGateway(chainId: number): Address | null;
}

/** Whether governance authorised a relay rotation (e.g. the staking contract's new committee key). */
export interface RotationAuthority {
  rotationAuthorized(chainId: number, targetGateway: Address, rotation: { newRelay: Address; nonce: bigint; deadline: bigint }): Promise<boolean>;
}

export function servedTarget(chains: Pick<SourceChainView, "targetGateway">, chainId: number, requested: string): Address {
  const target = chains.targetGateway(chainId);
  if (target === null || getAddress(target) !== getAddress(requested)) {
    throw new RequestRejected(`${requested} is not the target gateway this network serves on chain ${chainId}`);
  }
  return getAddress(target);
}

/**
 * The final message and its id as re-derived by this node (hashed once here, reused by callers): the
 * check every message passes before anything carrying it is signed.
 */
export async function finalMessage(chains: SourceChainView, srcChainId: number, id: Hex, dstChainId: number, hint: MessageHint): Promise<{ message: Message; id: Hex }> {
  // A SourceGateway never emits a message to its own chain, whatever endpoints claim.
  if (srcChainId === dstChainId) throw new RequestRejected(`message ${id} would go from chain ${srcChainId} to itself: no gateway sends such a message`);
  const message = await chains.finalizedMessage(srcChainId, id, hint);
  if (message === null) throw new RequestRejected(`message ${id} on chain ${srcChainId} is not seen final by this node`);
  // The node re-derives the id and the route from what it read itself.
  const derivedId = messageId(message);
  if (derivedId.toLowerCase() !== id.toLowerCase()) throw new RequestRejected(`message ${id} does not hash to its id`);
  if (message.srcChainId !== BigInt(srcChainId) || message.dstChainId !== BigInt(dstChainId)) {
    throw new RequestRejected(`message ${id} goes from chain ${message.srcChainId} to ${message.dstChainId}, not ${srcChainId} to ${dstChainId}`);
  }
  return { message, id: derivedId };
}

/** One message: final on its source chain, bound for the target this network serves; EIP-712 digest from the SDK. */
export function messageAttestationValidator(chains: SourceChainView): SignValidator<"messageAttestation"> {
  return {
    type: "messageAttestation",
    async validate(request) {
      const target = servedTarget(chains, request.dstChainId, request.targetGateway);
      const hint = { ...(request.txHash ? { txHash: request.txHash as Hex } : {}), ...(request.logIndex !== undefined ? { logIndex: request.logIndex } : {}) };
      const { message } = await finalMessage(chains, request.srcChainId, request.messageId as Hex, request.dstChainId, hint);
      return toBytes(messageDigest(message, target));
    },
  };
}

/** The Merkle root MessageBatch commits to (StandardMerkleTree over ["bytes32"] ids, in order), from already derived ids. */
function batchRoot(ids: readonly Hex[]): Hex {
  return StandardMerkleTree.of(
    ids.map((id) => [id] as [Hex]),
    ["bytes32"],
  ).root as Hex;
}

/**
 * Every message of a batch final and bound for `dstChainId`, none twice; returns the ids finalMessage
 * derived (the root is built from them, as MessageBatch would, without hashing each message again).
 */
export async function finalBatch(chains: SourceChainView, srcChainId: number, ids: readonly Hex[], dstChainId: number, hint: MessageHint): Promise<Hex[]> {
  if (new Set(ids.map((id) => id.toLowerCase())).size !== ids.length) throw new RequestRejected("bad batch: a batch cannot hold the same message twice");
  const finals = await Promise.all(ids.map((id) => finalMessage(chains, srcChainId, id, dstChainId, hint)));
  return finals.map((f) => f.id);
}

/** A batch: every message final and bound for the same target; the digest signs the batch's Merkle root. */
export function batchAttestationValidator(chains: SourceChainView): SignValidator<"batchAttestation"> {
  return {
    type: "batchAttestation",
    async validate(request) {
      const target = servedTarget(chains, request.dstChainId, request.targetGateway);
      const hint = { ...(request.fromBlock !== undefined ? { fromBlock: request.fromBlock } : {}), ...(request.toBlock !== undefined ? { toBlock: request.toBlock } : {}) };
      const ids = await finalBatch(chains, request.srcChainId, request.messageIds as Hex[], request.dstChainId, hint);
      return toBytes(batchDigest(batchRoot(ids), request.dstChainId, target));
    },
  };
}

/** A relay rotation: not expired, authorised by governance on chain; EIP-712 digest from the SDK. */
export function relayRotationValidator(chains: Pick<SourceChainView, "targetGateway">, authority: RotationAuthority, now: () => number = Date.now): SignValidator<"relayRotation"> {
  return {
    type: "relayRotation",
    async validate(request) {
      const target = servedTarget(chains, request.chainId, request.targetGateway);
      const rotation = { newRelay: getAddress(request.newRelay), nonce: BigInt(request.nonce), deadline: BigInt(request.deadline) };
      if (rotation.deadline * 1000n <= BigInt(now())) throw new RequestRejected("the rotation's deadline has passed");
      if (!(await authority.rotationAuthorized(request.chainId, target, rotation))) throw new RequestRejected("the rotation is not authorised on chain");
      return toBytes(relayRotationDigest(rotation, request.chainId, target));
    },
  };
}
