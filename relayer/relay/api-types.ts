/**
 * The relayer API's JSON answers that the explorer shows as they are: the message list
 * (GET /v1/messages), the nodes as the relayer sees them (GET /v1/nodes) and the performance
 * series (GET /v1/stats). Plain JSON (no bigint); the explorer's page imports these types only.
 */

/** The relayer's record states (store.ts MessageState), restated so the page imports no server code. */
export type RelayState = "seen" | "final" | "attested" | "delivered" | "failed" | "retried" | "dropped" | "abandoned";

/** One row of the message list (the relayer's record). */
export interface MessageSummary {
  messageId: string;
  srcChainId: number;
  dstChainId: number;
  sender: string;
  receiver: string;
  nonce: string;
  sourceTxHash: string;
  blockNumber: number;
  state: RelayState;
  attempts: number;
  deliveryTxHash: string | null;
  lastError: string | null;
  /** When the relayer first saw the message (epoch ms). */
  seenAt: number;
  updatedAt: number;
}

/** GET /v1/messages?q=&route=<src>-<dst>&state=&page=&pageSize= (the explorer's /api/messages). */
export interface MessagePage {
  items: MessageSummary[];
  /** Messages matching the query and filters, over all pages. */
  total: number;
  /** 1-based. */
  page: number;
  pageSize: number;
  /** Every route and state the relayer has records of, for the filters. */
  routes: { srcChainId: number; dstChainId: number }[];
  states: RelayState[];
}

/** One signer node as its relayer sees it (the node's GET /v1/status, asked by the relayer). */
export interface NodeView {
  /** How the relayer names the node (its API URL or peer id). */
  name: string;
  reachable: boolean;
  error: string | null;
  index: number | null;
  peerId: string | null;
  /** Committee members in the node's directory, and those it has a live connection to. */
  peers: number;
  connectedPeers: number;
  activeSessions: number;
  /** Ready presignatures per key. */
  presignPool: Record<string, number>;
  keys: NodeKey[];
  rssBytes: number | null;
}

export interface NodeKey {
  keyId: string;
  status: string;
  threshold: number;
  participants: number[];
  address: string | null;
  generation: string | null;
  /** What made the sharing it signs with, and how old that sharing is (a refresh renews it). */
  origin: string | null;
  shareAgeSeconds: number | null;
}

/** GET /v1/stats?window=<ms> (the explorer's /api/performance). Series are over the window, oldest first. */
export interface PerformanceView {
  from: number;
  to: number;
  bucketMs: number;
  /** Exact over the window, whatever the series below were thinned to. */
  summary: { deliveries: number; p50Ms: number | null; p95Ms: number | null; seen: number; gasTransactions: number; gasUsed: string; costWei: string };
  /** Delivered messages: when, and how long from first seen to delivered (at most MAX_POINTS, evenly thinned). */
  deliveries: { at: number; latencyMs: number; srcChainId: number; dstChainId: number }[];
  /** Delivery latency distribution: deliveries with latency up to upperMs and above the bucket before (the last bucket has no upper bound: null). */
  latencyHistogram: { upperMs: number | null; count: number }[];
  /** Attestations: when, and how long from final to the network's checked signature (at most MAX_POINTS, evenly thinned). */
  signing: { at: number; latencyMs: number }[];
  /** Per bucket: messages first seen and messages delivered. */
  throughput: { at: number; seen: number; delivered: number }[];
  /** Per route ("<srcChainId>-<dstChainId>"), messages not yet delivered at the end of each bucket. */
  backlog: { route: string; points: { at: number; count: number }[] }[];
  /** Per bucket: the delivery and retry transactions mined in it, their gas and cost (wei, decimal). */
  gas: { at: number; transactions: number; gasUsed: string; costWei: string }[];
}
