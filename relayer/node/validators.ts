/**
 * Typed signing requests and the validators every node runs before it signs.
 *
 * There is no "sign these 32 bytes" request: each node rebuilds the digest
 * from a typed request after its own checks. Types whose check needs a chain
 * (message and batch attestations, relay rotation) get their validators from
 * the relayer, which registers them with chain access; until then the node
 * refuses those types. The relay-address transaction needs no chain: it is
 * checked against the operator's policy.
 */
import { z } from "zod";
import { getAddress, keccak256, serializeTransaction, type Hex } from "viem";
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

/** The validators that need no chain; the relayer adds the chain-backed ones. */
export function defaultValidators(config: NodeConfig): ValidatorRegistry {
  const registry = new ValidatorRegistry();
  registry.register(relayTransactionValidator(config.policy));
  return registry;
}
