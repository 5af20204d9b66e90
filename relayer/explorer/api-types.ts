/**
 * The explorer's JSON API (GET /api/...): what the server answers and the page reads. Plain JSON
 * (no bigint: amounts and block numbers that may exceed 2^53 are decimal strings), so the page and
 * any script can use it as it is. The page imports these types only; nothing here runs.
 */
import type { NodeView } from "../relay/api-types.ts";

export type { MessagePage, MessageSummary, NodeKey, NodeView, PerformanceView, RelayState } from "../relay/api-types.ts";

/** The SDK's one status (packages/sdk status.ts MessageLifecycle). */
export type Lifecycle = "sent" | "final" | "attested" | "delivered" | "failed" | "retryable" | "abandoned";

/** GET /api/config */
export interface ExplorerConfig {
  chains: ChainInfo[];
  /** The relayer API the explorer reads (messages, nodes, statistics). */
  relayerApi: string;
  /** The staking contract, when the explorer was given one. */
  staking: { chainId: number; contract: string } | null;
}

export interface ChainInfo {
  chainId: number;
  name: string;
  sourceGateway: string;
  targetGateway: string;
  /** A block explorer's transaction URL with `{hash}` in it, when the config names one. */
  txUrl: string | null;
}

/** One step of a message's life, oldest first. `at` is null for a step known from a chain only (no time recorded). */
export interface TimelineStep {
  step: "sent" | "final" | "attested" | "delivered" | "failed" | "retried" | "retryable" | "abandoned" | "dropped";
  at: number | null;
  text: string;
  /** The transaction of this step and its chain, when there is one. */
  tx: { chainId: number; hash: string } | null;
  /** For `attested`: the committee members (party indices) whose shares signed. */
  signers: number[] | null;
}

/** What a person can do about a message that did not run. */
export interface Remedy {
  action: "add-gas" | "retry" | "abandon" | "wait";
  text: string;
  /** The command that does it (the mpc-relay CLI), when there is one. */
  command: string | null;
}

/** GET /api/messages/<messageId> */
export interface MessageDetail {
  messageId: string;
  /** The SDK's one status: chains first, the relayer adds `attested`. */
  state: Lifecycle;
  message: { nonce: string; srcChainId: number; srcGateway: string; sender: string; dstChainId: number; receiver: string; gasLimit: string; payload: string };
  source: { chainId: number; txHash: string; blockNumber: string; logIndex: number; final: boolean; finalBlock: string };
  target:
    | { kind: "not-configured"; chainId: number }
    | {
        kind: "read";
        chainId: number;
        state: "unreceived" | "delivered" | "failed" | "abandoned";
        txHash: string | null;
        reason: string | null;
        retry: { possible: boolean; error: string | null } | null;
      };
  relayer: { kind: "not-configured" | "unavailable" | "unknown" | "known"; state: string | null; reason: string | null; attempts: number | null; lastError: string | null };
  /** Which view lags the others and how (the SDK's `behind` / `note`). */
  behind: { view: string; note: string } | null;
  timeline: TimelineStep[];
  /** Why it has not run, in words (a decoded revert or the relayer's last error); null when it ran or is on its way. */
  failure: string | null;
  remedies: Remedy[];
}

/** GET /api/tx/<sourceTxHash>: the messages one source transaction sent. */
export interface TransactionMessages {
  txHash: string;
  chainId: number;
  messages: MessageDetail[];
}

/** A gateway's view of the relay key on one chain. */
export interface GatewayView {
  chainId: number;
  name: string;
  targetGateway: string;
  relay: string | null;
  /** During a rotation the old relay signs too, until expiresAt (epoch seconds). */
  previousRelay: { address: string; expiresAt: number } | null;
  /** Epoch seconds (the chain's clock) of the last relay change, null before any. */
  lastRotationAt: number | null;
  rotation: "stable" | "rotating";
  paused: boolean | null;
  error: string | null;
}

export interface StakingView {
  chainId: number;
  contract: string;
  activeEpoch: string;
  latestEpoch: string;
  threshold: number;
  relay: string | null;
  startBlock: string;
  endBlock: string;
  members: { operator: string; index: number; peerId: string; stake: string; unbonding: string; removed: boolean; identityVerified: boolean }[];
  slashes: { operator: string; amount: string; kind: "absence" | "removal" | "forgery" | "other"; txHash: string; blockNumber: string }[];
  /** The block the slash search has reached, and whether that is the chain's head (a long history is caught up over several reads). */
  slashesThrough: string;
  slashesComplete: boolean;
}

/** GET /api/network */
export interface NetworkView {
  /** The relayer's GET /health/ready: each check's outcome in words. */
  relayer: { url: string; ready: boolean; checks: Record<string, { ok: boolean; detail: string }> | null; error: string | null };
  nodes: NodeView[];
  gateways: GatewayView[];
  staking: StakingView | null;
  /** Parts that could not be read, in words. */
  errors: string[];
  readAt: number;
}
