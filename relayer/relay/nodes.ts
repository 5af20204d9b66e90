/**
 * The signer nodes as the relayer sees them, for its GET /v1/nodes: each node's own GET /v1/status
 * (a route the node admits its relayer to), reduced to the public facts the explorer shows. A node
 * that does not answer, or answers something else, is a row that says so, never an error of the whole.
 */
import type { ApiChannel } from "../node/api/channel.ts";
import type { NodeKey, NodeView } from "./api-types.ts";

const NODE_STATUS_TIMEOUT_MS = 5_000;
/** What one node's row may carry: a node that sends more is cut to this, not passed on whole. */
const MAX_KEYS = 64;
const MAX_PARTIES = 256;
const MAX_TEXT = 200;

interface NodeStatusBody {
  index?: unknown;
  peerId?: unknown;
  peers?: unknown;
  connectedPeers?: unknown;
  activeSessions?: unknown;
  presignPool?: unknown;
  keys?: unknown;
  sharings?: unknown;
  rssBytes?: unknown;
}

export async function nodeViews(channels: readonly ApiChannel[]): Promise<NodeView[]> {
  return Promise.all(
    channels.map(async (channel): Promise<NodeView> => {
      try {
        const response = await channel.request("GET", "/v1/status", undefined, AbortSignal.timeout(NODE_STATUS_TIMEOUT_MS));
        if (response.status !== 200) {
          const error = (response.body as { error?: unknown } | null)?.error;
          return unreachable(channel.name, `answered ${response.status}${typeof error === "string" ? `: ${error}` : ""}`);
        }
        return fromStatus(channel.name, response.body as NodeStatusBody);
      } catch (error) {
        return unreachable(channel.name, error instanceof Error ? error.message.split("\n")[0]! : String(error));
      }
    }),
  );
}

function unreachable(name: string, error: string): NodeView {
  return { name, reachable: false, error, index: null, peerId: null, peers: 0, connectedPeers: 0, activeSessions: 0, presignPool: {}, keys: [], rssBytes: null };
}

/** The node's status body is another process's answer: every field is checked for its type. */
function fromStatus(name: string, body: NodeStatusBody): NodeView {
  const sharings = new Map<string, { origin: string; ageSeconds: number }>();
  for (const s of array(body.sharings)) {
    const sharing = s as { keyId?: unknown; origin?: unknown; ageSeconds?: unknown };
    if (typeof sharing.keyId === "string") sharings.set(sharing.keyId, { origin: text(sharing.origin) ?? "unknown", ageSeconds: number(sharing.ageSeconds) ?? 0 });
  }
  const keys = array(body.keys)
    .slice(0, MAX_KEYS)
    .flatMap((k): NodeKey[] => {
      const key = k as { keyId?: unknown; status?: unknown; threshold?: unknown; participants?: unknown; address?: unknown; generation?: unknown };
      if (typeof key.keyId !== "string") return [];
      const sharing = sharings.get(key.keyId);
      return [
        {
          keyId: key.keyId.slice(0, MAX_TEXT),
          status: text(key.status) ?? "unknown",
          threshold: number(key.threshold) ?? 0,
          participants: array(key.participants)
            .slice(0, MAX_PARTIES)
            .filter((p): p is number => typeof p === "number"),
          address: text(key.address),
          generation: text(key.generation),
          origin: sharing?.origin ?? null,
          shareAgeSeconds: sharing?.ageSeconds ?? null,
        },
      ];
    });
  const pool = new Map<string, number>();
  if (typeof body.presignPool === "object" && body.presignPool !== null)
    for (const [keyId, size] of Object.entries(body.presignPool).slice(0, MAX_KEYS)) if (typeof size === "number") pool.set(keyId.slice(0, MAX_TEXT), size);
  return {
    name,
    reachable: true,
    error: null,
    index: number(body.index),
    peerId: text(body.peerId),
    peers: array(body.peers).length,
    connectedPeers: Array.isArray(body.connectedPeers) ? body.connectedPeers.length : (number(body.connectedPeers) ?? 0),
    activeSessions: Array.isArray(body.activeSessions) ? body.activeSessions.length : (number(body.activeSessions) ?? 0),
    // Own properties whatever the key ids are named (even __proto__).
    presignPool: Object.fromEntries(pool),
    keys,
    rssBytes: number(body.rssBytes),
  };
}

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value.slice(0, MAX_TEXT) : null;
}

function number(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
