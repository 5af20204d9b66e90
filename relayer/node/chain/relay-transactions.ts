/**
 * Relay-address transactions: EIP-1559 transactions the network signs as the relay address itself,
 * for the relayer's `relayAddress` delivery mode (relay/submitter.ts). That mode needs three calls,
 * all to the TargetGateway this node serves on the transaction's chain: `receiveMessage` and
 * `receiveBatch` (deliveries) and `retryMessage` (a message whose receiver failed). The node signs
 * nothing else. Every message a call carries passes the same check as an attestation of it
 * (validators.ts finalBatch: final on its source through the RPC quorum, routed to this chain, none twice);
 * the signature embedded in a delivery is not trusted, the gateway checks it. The calldata must be
 * exactly the canonical ABI encoding of the call, no value moves, and every transaction is charged
 * against the chain's fee limits (fee-budget.ts) before it is signed.
 */
import { decodeFunctionData, encodeFunctionData, isAddress, keccak256, serializeTransaction, type Hex } from "viem";
import { targetGatewayAbi, messageId, type Message } from "@mpc-relay/sdk";
import { finalBatch, RequestRejected, servedTarget, toBytes, type MessageHint, type SignRequest, type SignValidator, type SourceChainView } from "../validators.ts";
import type { FeeBudget, FeeLimits } from "./fee-budget.ts";

type RelayTransaction = Extract<SignRequest, { type: "relayTransaction" }>;

/** The messages a TargetGateway call carries, if it is one the relayer needs and canonically encoded. */
export function carriedMessages(data: Hex): readonly Message[] {
  let decoded;
  try {
    decoded = decodeFunctionData({ abi: targetGatewayAbi, data });
  } catch {
    throw new RequestRejected(`calldata is not a TargetGateway call (selector ${data.slice(0, 10)})`);
  }
  let messages: readonly Message[];
  switch (decoded.functionName) {
    case "receiveMessage":
    case "retryMessage":
      messages = [decoded.args[0]];
      break;
    case "receiveBatch":
      messages = decoded.args[0];
      break;
    default:
      throw new RequestRejected(`TargetGateway.${decoded.functionName} is not a call the relayer sends from the relay address`);
  }
  if (messages.length === 0) throw new RequestRejected("receiveBatch carries no message");
  // Re-encoding must give the same bytes: no trailing data, no dirty high bits, no odd offsets.
  let canonical: Hex | null;
  try {
    canonical = encodeFunctionData({ abi: targetGatewayAbi, functionName: decoded.functionName, args: decoded.args } as never) as Hex;
  } catch {
    canonical = null; // e.g. a uint64 word with high bits set decodes to a value no uint64 holds
  }
  if (canonical?.toLowerCase() !== data.toLowerCase()) throw new RequestRejected(`calldata is not the canonical encoding of TargetGateway.${decoded.functionName}`);
  return messages;
}

/** The operator's limits for relay transactions on one chain. */
export interface RelayTransactionLimits extends FeeLimits {
  /** Most one transaction may pay (gas * maxFeePerGas). */
  maxFeeWei: bigint;
}

/**
 * `limits` holds the operator's fee limits per chain id; a chain without them gets no relay
 * transactions. The digest is the transaction's EIP-1559 signing hash.
 */
export function relayTransactionValidator(chains: SourceChainView, limits: ReadonlyMap<number, RelayTransactionLimits>, budget: FeeBudget): SignValidator<"relayTransaction"> {
  return {
    type: "relayTransaction",
    async validate(request, context) {
      if (!isAddress(context.address, { strict: false })) throw new RequestRejected(`key ${context.keyId} has no address to send relay transactions from`);
      const chainLimits = limits.get(request.chainId);
      if (chainLimits === undefined) throw new RequestRejected(`relay transactions on chain ${request.chainId} are not allowed by this node's policy`);
      const target = servedTarget(chains, request.chainId, request.to);
      if (BigInt(request.value) !== 0n) throw new RequestRejected("relay transactions may not transfer value");
      const gas = BigInt(request.gas);
      const maxFeePerGas = BigInt(request.maxFeePerGas);
      const maxPriorityFeePerGas = BigInt(request.maxPriorityFeePerGas);
      if (gas === 0n) throw new RequestRejected("relay transactions need gas");
      if (maxPriorityFeePerGas > maxFeePerGas) throw new RequestRejected("maxPriorityFeePerGas exceeds maxFeePerGas");
      const fee = gas * maxFeePerGas;
      if (fee > chainLimits.maxFeeWei) throw new RequestRejected(`fee gas*maxFeePerGas ${fee} wei exceeds the ${chainLimits.maxFeeWei} wei a relay transaction on chain ${request.chainId} may pay`);

      await checkCarried(chains, request);
      const digest = toBytes(
        keccak256(
          serializeTransaction({
            type: "eip1559",
            chainId: request.chainId,
            nonce: request.nonce,
            to: target,
            data: request.data as Hex,
            value: 0n,
            gas,
            maxFeePerGas,
            maxPriorityFeePerGas,
          }),
        ),
      );
      // Last: a request refused for any other reason costs nothing.
      await budget.charge(request.chainId, context.address, request.nonce, fee, chainLimits);
      return digest;
    },
  };
}

/** Every carried message final on its source and bound for this chain, none twice (checked as a batch per source chain). */
async function checkCarried(chains: SourceChainView, request: RelayTransaction): Promise<void> {
  const bySource = new Map<bigint, Hex[]>();
  for (const message of carriedMessages(request.data as Hex)) {
    const ids = bySource.get(message.srcChainId) ?? [];
    ids.push(messageId(message));
    bySource.set(message.srcChainId, ids);
  }
  const hint: MessageHint = request.sourceBlocks ?? {};
  await Promise.all(
    [...bySource].map(([srcChainId, ids]) => {
      if (srcChainId > BigInt(Number.MAX_SAFE_INTEGER)) throw new RequestRejected(`message ${ids[0]} names source chain ${srcChainId}, which no node serves`);
      return finalBatch(chains, Number(srcChainId), ids, request.chainId, hint);
    }),
  );
}
