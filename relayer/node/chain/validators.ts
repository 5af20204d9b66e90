/**
 * The chain side of the node's signing validators: `SourceChainView` and `RotationAuthority`
 * (relayer/node/validators.ts) implemented over each configured chain's RPC quorum. A request names
 * messages only by source coordinates; the node re-derives them here, requires them final and from
 * the configured SourceGateway, and refuses with the precise reason (never sent, not final yet,
 * endpoints disagree) otherwise. registerChainValidators registers every request type a node signs.
 */
import { getAddress, type Address, type Hex } from "viem";
import type { Message } from "@mpc-relay/sdk";
import type { Logger } from "../../shared/log.ts";
import {
  batchAttestationValidator,
  messageAttestationValidator,
  relayRotationValidator,
  RequestRejected,
  type MessageHint,
  type RotationAuthority,
  type SignRequest,
  type SignValidator,
  type SourceChainView,
  type ValidatorRegistry,
} from "../validators.ts";
import { describeFinality, type NodeChainConfig } from "./config.ts";
import { FeeBudget } from "./fee-budget.ts";
import { summarize } from "./endpoints.ts";
import { ChainReader, describeObservation, type MessageObservation, type QuorumResult } from "./reader.ts";
import { relayTransactionValidator, type RelayTransactionLimits } from "./relay-transactions.ts";

/**
 * Longest a relay-rotation signature may stay valid. Short, because a node signs one new relay per
 * nonce until the recorded rotation's deadline: a coordinator that gets different members to record
 * different relays delays the rotation by at most this long.
 */
const MAX_ROTATION_WINDOW_S = 3600n;

interface PendingLookup {
  ids: Set<Hex>;
  waiters: { id: Hex; resolve: (message: Message) => void; reject: (error: unknown) => void }[];
}

export class ChainViews implements SourceChainView {
  private readonly readers = new Map<number, ChainReader>();
  /** Lookups by id asked in the same tick (a batch's members) go to the endpoints as one query. */
  private readonly pending = new Map<string, PendingLookup>();

  constructor(chains: readonly NodeChainConfig[]) {
    for (const chain of chains) this.readers.set(chain.chainId, new ChainReader(chain));
  }

  reader(chainId: number): ChainReader {
    const reader = this.readers.get(chainId);
    if (reader === undefined) throw new RequestRejected(`chain ${chainId} is not configured on this node`);
    return reader;
  }

  targetGateway(chainId: number): Address | null {
    return this.readers.get(chainId)?.targetGateway ?? null;
  }

  /** The final message, or RequestRejected saying why not (this view never answers null). */
  async finalizedMessage(srcChainId: number, id: Hex, hint: MessageHint): Promise<Message> {
    const reader = this.reader(srcChainId);
    const messageIdLower = id.toLowerCase() as Hex;
    if (hint.txHash !== undefined) {
      const coordinates = { txHash: hint.txHash, ...(hint.logIndex === undefined ? {} : { logIndex: hint.logIndex }) };
      const result = (await reader.observeMessages([messageIdLower], coordinates)).get(messageIdLower);
      return finalOrRefuse(messageIdLower, reader, result);
    }
    const range = { ...(hint.fromBlock === undefined ? {} : { fromBlock: hint.fromBlock }), ...(hint.toBlock === undefined ? {} : { toBlock: hint.toBlock }) };
    const key = `${srcChainId}:${range.fromBlock ?? ""}:${range.toBlock ?? ""}`;
    let lookup = this.pending.get(key);
    if (lookup === undefined) {
      const created: PendingLookup = { ids: new Set(), waiters: [] };
      this.pending.set(key, created);
      setImmediate(() => void this.flush(key, reader, range, created));
      lookup = created;
    }
    lookup.ids.add(messageIdLower);
    return new Promise<Message>((resolve, reject) => lookup.waiters.push({ id: messageIdLower, resolve, reject }));
  }

  private async flush(key: string, reader: ChainReader, range: { fromBlock?: number; toBlock?: number }, lookup: PendingLookup): Promise<void> {
    this.pending.delete(key);
    try {
      const results = await reader.observeMessages([...lookup.ids], undefined, range);
      for (const waiter of lookup.waiters) {
        try {
          waiter.resolve(finalOrRefuse(waiter.id, reader, results.get(waiter.id)));
        } catch (error) {
          waiter.reject(error);
        }
      }
    } catch (error) {
      for (const waiter of lookup.waiters) waiter.reject(error);
    }
  }
}

function finalOrRefuse(id: Hex, reader: ChainReader, result: QuorumResult<MessageObservation> | undefined): Message {
  const agreed = result?.agreed ?? null;
  if (agreed?.kind === "final") return agreed.message;
  if (agreed?.kind === "absent") throw new RequestRejected(`message ${id} was not sent by SourceGateway ${reader.sourceGateway} on chain ${reader.chainId}: ${agreed.detail}`);
  if (agreed?.kind === "pending")
    throw new RequestRejected(
      `message ${id} on chain ${reader.chainId} is not final yet: its block ${agreed.blockNumber} is past the final block ${agreed.finalBlock} (finality: ${describeFinality(reader.finality)})`,
    );
  const summary = summarize(result?.answers ?? [], describeObservation);
  throw new RequestRejected(`RPC endpoints of chain ${reader.chainId} do not agree on message ${id} (need ${reader.quorum}; saw ${summary})`);
}

/** Where a node records the rotation it agreed to sign for each gateway nonce (the key store's journal). */
export interface RotationLedger {
  claimRotation(slot: string, claim: { newRelay: string; deadline: string }): Promise<{ newRelay: string; deadline: string } | null>;
}

/**
 * A rotation may hand the target's trust only to one of this node's own READY keys or an
 * operator-allowed address, at the gateway's current rotation nonce (read through the quorum),
 * with a deadline no further than a day away; and for one nonce, to one new relay only: the node
 * records the rotation durably before it signs and refuses another new relay for that nonce while
 * the recorded one can still land (two valid rotations of one nonce would let either be used).
 */
export class ChainRotationAuthority implements RotationAuthority {
  constructor(
    private readonly views: ChainViews,
    private readonly readyAddresses: () => Promise<string[]>,
    private readonly allowedRelays: readonly string[],
    private readonly ledger: RotationLedger,
  ) {}

  async rotationAuthorized(chainId: number, targetGateway: Address, rotation: { newRelay: Address; nonce: bigint; deadline: bigint }): Promise<boolean> {
    const known = new Set([...(await this.readyAddresses()), ...this.allowedRelays].map((a) => getAddress(a)));
    if (!known.has(getAddress(rotation.newRelay))) throw new RequestRejected(`new relay ${rotation.newRelay} is neither a READY key of this node nor an allowed relay`);
    if (rotation.deadline > BigInt(Math.floor(Date.now() / 1000)) + MAX_ROTATION_WINDOW_S) throw new RequestRejected(`rotation deadline more than ${MAX_ROTATION_WINDOW_S} s away`);
    const state = await this.views.reader(chainId).targetRelayState();
    if (state.agreed === null) throw new RequestRejected(`RPC endpoints of chain ${chainId} do not agree on the TargetGateway's relay state`);
    if (getAddress(rotation.newRelay) === state.agreed.relay) throw new RequestRejected("the new relay is already the current relay");
    if (rotation.nonce !== state.agreed.rotationNonce) throw new RequestRejected(`rotation nonce ${rotation.nonce} is not the gateway's current nonce ${state.agreed.rotationNonce}`);
    const slot = `${chainId}/${getAddress(targetGateway)}/${rotation.nonce}`;
    const other = await this.ledger.claimRotation(slot, { newRelay: getAddress(rotation.newRelay), deadline: rotation.deadline.toString() });
    if (other !== null) throw new RequestRejected(`this node already signs rotation nonce ${rotation.nonce} to ${other.newRelay} (valid until ${other.deadline}): one new relay per nonce`);
    return true;
  }
}

/** Longest excerpt of a refused request that goes into the log (a relay transaction's calldata can be 256 KB). */
const LOGGED_REQUEST_CHARS = 1_000;

/** Logs every refusal with (the start of) the request, then passes it on. */
function logged<T extends SignRequest["type"]>(log: Logger, validator: SignValidator<T>): SignValidator<T> {
  return {
    type: validator.type,
    async validate(request, context) {
      try {
        return await validator.validate(request, context);
      } catch (error) {
        log.warn("signing request refused", { type: request.type, request: JSON.stringify(request).slice(0, LOGGED_REQUEST_CHARS), reason: error instanceof Error ? error.message : String(error) });
        throw error instanceof RequestRejected ? error : new RequestRejected(`chain check failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  };
}

/**
 * Adds every validator to `registry` (no-op without configured chains: every type stays refused).
 * `relayTransactions` holds the operator's limits per chain id; `feeBudgetPath` is where the fees
 * charged to relay transactions are kept (the node's dataDir).
 */
export function registerChainValidators(
  registry: ValidatorRegistry,
  p: {
    chains: readonly NodeChainConfig[];
    relayTransactions: ReadonlyMap<number, RelayTransactionLimits>;
    feeBudgetPath: string;
    allowedRelays: readonly string[];
    readyAddresses: () => Promise<string[]>;
    rotations: RotationLedger;
    log: Logger;
  },
): ValidatorRegistry {
  if (p.chains.length === 0) return registry;
  const views = new ChainViews(p.chains);
  registry.register(logged(p.log, messageAttestationValidator(views)));
  registry.register(logged(p.log, batchAttestationValidator(views)));
  registry.register(logged(p.log, relayRotationValidator(views, new ChainRotationAuthority(views, p.readyAddresses, p.allowedRelays, p.rotations))));
  registry.register(logged(p.log, relayTransactionValidator(views, p.relayTransactions, new FeeBudget(p.feeBudgetPath))));
  return registry;
}
