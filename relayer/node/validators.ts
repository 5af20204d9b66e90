/**
 * Typed signing requests and the validators every node runs before it signs.
 *
 * There is no "sign these 32 bytes" request: each node rebuilds the digest
 * from a typed request after its own checks. Types whose check needs a chain
 * (message and batch attestations, relay rotation) get their validators from
 * the relayer, which builds them here from its chain access (SourceChainView,
 * RotationAuthority) and registers them; until then the node refuses those types. The relay-address transaction needs no chain: it is
 * checked against the operator's policy.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { z } from "zod";
import { getAddress, keccak256, serializeTransaction, type Address, type Hex } from "viem";
import { batchDigest, messageDigest, messageId, relayRotationDigest, type Message } from "../sdk/message.ts";
import type { NodeConfig } from "./config.ts";

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
  /** An EIP-1559 transaction sent from the relay address itself. */
  z.object({
    type: z.literal("relayTransaction"),
    chainId: z.number().int().positive(),
    nonce: z.number().int().nonnegative(),
    to: address,
    data: z.string().regex(/^0x([0-9a-fA-F]{2})*$/).max(2 + 2 * 128 * 1024),
    value: uint,
    gas: uint,
    maxFeePerGas: uint,
    maxPriorityFeePerGas: uint,
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

/**
 * Relay-address transactions: only to the policy's contracts on the policy's
 * chains, no value, bounded fee. The digest is the EIP-1559 signing hash.
 */
export function relayTransactionValidator(policy: NodeConfig["policy"]): SignValidator<"relayTransaction"> {
  const maxFee = BigInt(policy.maxFeeWei);
  return {
    type: "relayTransaction",
    async validate(request) {
      const allowed = policy.relayTransactionTargets[String(request.chainId)] ?? [];
      if (!allowed.some((target) => getAddress(target) === getAddress(request.to)))
        throw new RequestRejected(`relay transactions to ${request.to} on chain ${request.chainId} are not allowed by policy`);
      if (BigInt(request.value) !== 0n) throw new RequestRejected("relay transactions may not transfer value");
      const maxFeePerGas = BigInt(request.maxFeePerGas);
      const maxPriorityFeePerGas = BigInt(request.maxPriorityFeePerGas);
      if (maxPriorityFeePerGas > maxFeePerGas) throw new RequestRejected("maxPriorityFeePerGas exceeds maxFeePerGas");
      const gas = BigInt(request.gas);
      if (gas === 0n || gas * maxFeePerGas > maxFee) throw new RequestRejected(`fee gas*maxFeePerGas outside (0, ${maxFee}] wei`);
      const serialized = serializeTransaction({
        type: "eip1559",
        chainId: request.chainId,
        nonce: request.nonce,
        to: getAddress(request.to),
        data: request.data as Hex,
        value: 0n,
        gas,
        maxFeePerGas,
        maxPriorityFeePerGas,
      });
      return new Uint8Array(Buffer.from(keccak256(serialized).slice(2), "hex"));
    },
  };
}

const toBytes = (hex: Hex): Uint8Array => new Uint8Array(Buffer.from(hex.slice(2), "hex"));

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

function servedTarget(chains: Pick<SourceChainView, "targetGateway">, chainId: number, requested: string): Address {
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
async function finalMessage(chains: SourceChainView, srcChainId: number, id: Hex, dstChainId: number, hint: MessageHint): Promise<{ message: Message; id: Hex }> {
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

/** A batch: every message final and bound for the same target; the digest signs the batch's Merkle root. */
export function batchAttestationValidator(chains: SourceChainView): SignValidator<"batchAttestation"> {
  return {
    type: "batchAttestation",
    async validate(request) {
      const target = servedTarget(chains, request.dstChainId, request.targetGateway);
      const hint = { ...(request.fromBlock !== undefined ? { fromBlock: request.fromBlock } : {}), ...(request.toBlock !== undefined ? { toBlock: request.toBlock } : {}) };
      const finals = await Promise.all(request.messageIds.map((id) => finalMessage(chains, request.srcChainId, id as Hex, request.dstChainId, hint)));
      // finalMessage already checked every message goes to request.dstChainId; the root is built from the
      // ids it derived (as MessageBatch would, without hashing each message again).
      const ids = finals.map((f) => f.id);
      if (new Set(ids).size !== ids.length) throw new RequestRejected("bad batch: a batch cannot hold the same message twice");
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

/** The validators that need no chain; the relayer adds the chain-backed ones. */
export function defaultValidators(config: NodeConfig): ValidatorRegistry {
  const registry = new ValidatorRegistry();
  registry.register(relayTransactionValidator(config.policy));
  return registry;
}
