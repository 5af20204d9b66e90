/**
 * The chain-backed signing validators. A request names messages only by source coordinates; each node
 * re-derives the messages from its own RPC quorum, requires them final and bound for a target it
 * knows, and signs the digest of what it derived — never anything the requester supplied as bytes.
 */
import { getAddress, hexToBytes, type Address, type Hex } from "viem";
import { batchDigest, MessageBatch, messageDigest, relayRotationDigest, type Message } from "../../sdk/message.ts";
import type { Logger } from "../log.ts";
import { RequestRejected, type SignRequest, type SignValidator, type ValidatorRegistry } from "../validators.ts";
import type { NodeChainConfig } from "./config.ts";
import { ChainReader, type MessageObservation, type QuorumResult } from "./reader.ts";

/** Longest a relay-rotation signature may stay valid. */
const MAX_ROTATION_WINDOW_S = 24n * 3600n;

export class ChainViews {
  private readonly readers = new Map<number, ChainReader>();

  constructor(chains: readonly NodeChainConfig[]) {
    for (const chain of chains) this.readers.set(chain.chainId, new ChainReader(chain));
  }

  source(chainId: number): ChainReader {
    const reader = this.readers.get(chainId);
    if (reader === undefined) throw new RequestRejected(`source chain ${chainId} is not configured on this node`);
    return reader;
  }

  /** The reader of a destination chain, after checking the requested target gateway is the configured one. */
  target(chainId: number, targetGateway: string): ChainReader {
    const reader = this.readers.get(chainId);
    if (reader === undefined) throw new RequestRejected(`destination chain ${chainId} is not configured on this node`);
    if (getAddress(targetGateway) !== reader.targetGateway)
      throw new RequestRejected(`target gateway ${targetGateway} is not the configured TargetGateway ${reader.targetGateway} of chain ${chainId}`);
    return reader;
  }
}

/** Why a quorum did not vouch for a final message, in words an operator can act on. */
function refusalReason(id: Hex, reader: ChainReader, result: QuorumResult<MessageObservation>): string {
  const agreed = result.agreed;
  if (agreed?.kind === "absent") return `message ${id} was not sent by SourceGateway ${reader.sourceGateway} on chain ${reader.chainId}: ${agreed.detail}`;
  if (agreed?.kind === "pending") return `message ${id} on chain ${reader.chainId} is not final yet (${agreed.depth} of ${reader.confirmations} confirmations)`;
  const summary = result.answers.map((a) => (a instanceof Error ? `error: ${a.message.split("\n")[0]}` : a.kind)).join(", ");
  return `RPC endpoints of chain ${reader.chainId} do not agree on message ${id} (need ${reader.quorum}; saw ${summary})`;
}

/** Derives the final messages for `ids` from `reader` or throws RequestRejected naming the first bad one. */
async function deriveFinalMessages(
  reader: ChainReader,
  ids: readonly Hex[],
  coordinates?: { txHash: Hex; logIndex?: number },
  range?: { fromBlock?: number; toBlock?: number },
): Promise<Message[]> {
  const observed = await reader.observeMessages(ids, coordinates, range);
  return ids.map((id) => {
    const result = observed.get(id);
    if (result === undefined || result.agreed?.kind !== "final") throw new RequestRejected(refusalReason(id, reader, result ?? { agreed: null, answers: [] }));
    return result.agreed.message;
  });
}

function checkRoute(message: Message, request: { srcChainId: number; dstChainId: number }, reader: ChainReader): void {
  if (message.srcChainId !== BigInt(request.srcChainId)) throw new RequestRejected(`message claims source chain ${message.srcChainId}, not ${request.srcChainId}`);
  if (getAddress(message.srcGateway) !== reader.sourceGateway) throw new RequestRejected(`message srcGateway ${message.srcGateway} is not the configured SourceGateway`);
  if (message.dstChainId !== BigInt(request.dstChainId)) throw new RequestRejected(`message goes to chain ${message.dstChainId}, not ${request.dstChainId}`);
}

function logged<T extends SignRequest["type"]>(log: Logger, validator: SignValidator<T>): SignValidator<T> {
  return {
    type: validator.type,
    async validate(request, context) {
      try {
        return await validator.validate(request, context);
      } catch (error) {
        log.warn("signing request refused", { request, reason: error instanceof Error ? error.message : String(error) });
        throw error instanceof RequestRejected ? error : new RequestRejected(`chain check failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  };
}

export function messageAttestationValidator(chains: ChainViews, log: Logger): SignValidator<"messageAttestation"> {
  return logged(log, {
    type: "messageAttestation",
    async validate(request) {
      const target = chains.target(request.dstChainId, request.targetGateway);
      const source = chains.source(request.srcChainId);
      const id = request.messageId.toLowerCase() as Hex;
      const coordinates = request.txHash === undefined ? undefined : { txHash: request.txHash as Hex, ...(request.logIndex === undefined ? {} : { logIndex: request.logIndex }) };
      const [message] = await deriveFinalMessages(source, [id], coordinates);
      checkRoute(message!, request, source);
      return hexToBytes(messageDigest(message!, target.targetGateway));
    },
  });
}

export function batchAttestationValidator(chains: ChainViews, log: Logger): SignValidator<"batchAttestation"> {
  return logged(log, {
    type: "batchAttestation",
    async validate(request) {
      const target = chains.target(request.dstChainId, request.targetGateway);
      const source = chains.source(request.srcChainId);
      const ids = request.messageIds.map((id) => id.toLowerCase() as Hex);
      if (new Set(ids).size !== ids.length) throw new RequestRejected("a batch names the same message twice");
      const range = { ...(request.fromBlock === undefined ? {} : { fromBlock: request.fromBlock }), ...(request.toBlock === undefined ? {} : { toBlock: request.toBlock }) };
      const messages = await deriveFinalMessages(source, ids, undefined, range);
      for (const message of messages) checkRoute(message, request, source);
      const batch = new MessageBatch(messages);
      return hexToBytes(batchDigest(batch.root, request.dstChainId, target.targetGateway));
    },
  });
}

/**
 * A rotation hands the target's trust from the signing key (which must be the target's current relay)
 * to `newRelay`, which must be one of this node's own READY keys or an operator-allowed address.
 */
export function relayRotationValidator(chains: ChainViews, readyAddresses: () => Promise<string[]>, allowedRelays: readonly string[], log: Logger): SignValidator<"relayRotation"> {
  return logged(log, {
    type: "relayRotation",
    async validate(request, context) {
      const target = chains.target(request.chainId, request.targetGateway);
      const newRelay = getAddress(request.newRelay);
      const known = new Set([...(await readyAddresses()), ...allowedRelays].map((a) => getAddress(a)));
      if (!known.has(newRelay)) throw new RequestRejected(`new relay ${newRelay} is neither a READY key of this node nor an allowed relay`);
      const state = await target.targetRelayState();
      if (state.agreed === null) throw new RequestRejected(`RPC endpoints of chain ${request.chainId} do not agree on the TargetGateway's relay state`);
      const { relay, rotationNonce } = state.agreed;
      if (context.address === "" || getAddress(context.address) !== relay) throw new RequestRejected(`key ${context.keyId} is not the current relay ${relay} of that gateway`);
      if (newRelay === relay) throw new RequestRejected("the new relay is already the current relay");
      if (BigInt(request.nonce) !== rotationNonce) throw new RequestRejected(`rotation nonce ${request.nonce} is not the gateway's current nonce ${rotationNonce}`);
      const deadline = BigInt(request.deadline);
      const now = BigInt(Math.floor(Date.now() / 1000));
      if (deadline <= now || deadline > now + MAX_ROTATION_WINDOW_S) throw new RequestRejected(`rotation deadline must lie within the next ${MAX_ROTATION_WINDOW_S} s`);
      return hexToBytes(relayRotationDigest({ newRelay: newRelay as Address, nonce: rotationNonce, deadline }, request.chainId, target.targetGateway));
    },
  });
}

/** Adds the chain-backed validators to `registry` (no-op without configured chains: those types stay refused). */
export function registerChainValidators(
  registry: ValidatorRegistry,
  p: { chains: readonly NodeChainConfig[]; allowedRelays: readonly string[]; readyAddresses: () => Promise<string[]>; log: Logger },
): ValidatorRegistry {
  if (p.chains.length === 0) return registry;
  const views = new ChainViews(p.chains);
  registry.register(messageAttestationValidator(views, p.log));
  registry.register(batchAttestationValidator(views, p.log));
  registry.register(relayRotationValidator(views, p.readyAddresses, p.allowedRelays, p.log));
  return registry;
}
