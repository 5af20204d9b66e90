/**
 * The web explorer: the bundled page (dist/explorer-web, built by scripts/build-explorer.ts) and its
 * JSON API (api-types.ts), read-only. It trusts the chains' RPC endpoints of the relayer config for
 * chain facts and the relayer's API for its records, nodes and statistics, and answers anyone who
 * reaches its host: it holds no secret and nothing it serves changes state. Text from chains (revert
 * reasons, payloads) is data the page renders as text, never markup (docs/security.md).
 *   GET /api/config | /api/messages | /api/messages/<id> | /api/tx/<hash> | /api/network | /api/performance
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { isHash, type Address, type Hex } from "viem";
import { ApiError, ApiUnreachableError, fetchApi, type MpcRelayClient } from "@mpc-relay/sdk";
import { statusById, statusesOfTransaction } from "../relay/chain-clients.ts";
import { localHttpUrl } from "../shared/addresses.ts";
import { requestUrl } from "../shared/request-url.ts";
import type { ExplorerConfig, MessageDetail, NetworkView, TransactionMessages } from "./api-types.ts";
import { messageDetail, type CommandContext } from "./detail.ts";
import { oneLine, readGateway, readStaking, SlashIndex, type ExplorerChain, type StakingSource } from "./network.ts";

export interface ExplorerOptions {
  host: string;
  port: number;
  /** The relayer API's base URL (records, nodes, statistics, and the SDK's relayer view). */
  relayerApi: string;
  /** SDK clients by source chain id, every chain a destination. */
  clients: ReadonlyMap<number, MpcRelayClient>;
  chains: readonly (ExplorerChain & { sourceGateway: Address; blockExplorer: string | null })[];
  staking: StakingSource | null;
  commands: CommandContext;
  /** The built page's folder. */
  webDir: string;
  onError(error: unknown): void;
}

export interface Explorer {
  readonly url: string;
  close(): Promise<void>;
}

/** The page's files, read once at start: nothing else on disk is ever served. */
const WEB_FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Requests that read the chains (a message, a transaction), at once; of them, searches of every source chain for an id the relayer does not know (each may take many eth_getLogs calls). */
const MAX_CHAIN_READS = 4;
const MAX_CHAIN_SEARCHES = 2;
/** The network view is read at most this often, however many pages poll it. */
const NETWORK_TTL_MS = 3_000;

/** A request the explorer refuses (400) or a thing it cannot find (404), with the reason in words. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startExplorer(o: ExplorerOptions): Promise<Explorer> {
  const files = new Map<string, Buffer>();
  for (const { file } of Object.values(WEB_FILES)) {
    if (files.has(file)) continue;
    try {
      files.set(file, await readFile(join(o.webDir, file)));
    } catch (error) {
      throw new Error(`the explorer's page is not built (${join(o.webDir, file)}: ${(error as NodeJS.ErrnoException).code ?? oneLine(error)}); run npm run build`, { cause: error });
    }
  }
  const config: ExplorerConfig = {
    chains: o.chains.map((c) => ({
      chainId: c.chainId,
      name: c.name,
      sourceGateway: c.sourceGateway,
      targetGateway: c.targetGateway,
      txUrl: c.blockExplorer === null ? null : `${c.blockExplorer.replace(/\/+$/, "")}/tx/{hash}`,
    })),
    relayerApi: o.relayerApi,
    staking: o.staking === null ? null : { chainId: o.staking.chain.chainId, contract: o.staking.contract },
  };

  const reads: Reads = { chainReads: 0, searches: 0, network: null, slashes: o.staking === null ? null : new SlashIndex(o.staking) };
  const api = async (path: string, search: URLSearchParams): Promise<unknown> => {
    if (path === "/api/config") return config;
    if (path === "/api/messages") return relayerJson(o.relayerApi, `/v1/messages?${search}`);
    if (path === "/api/performance") {
      const window = search.get("window");
      return relayerJson(o.relayerApi, `/v1/stats${window === null ? "" : `?window=${encodeURIComponent(window)}`}`);
    }
    if (path === "/api/network") return cachedNetwork(o, reads);
    const message = /^\/api\/messages\/([^/]+)$/.exec(path);
    if (message !== null) {
      const id = hashArg(message[1]!, "message id");
      return limited(reads, "chainReads", MAX_CHAIN_READS, "reading the chains for other requests", () => detailOf(o, reads, id));
    }
    const tx = /^\/api\/tx\/([^/]+)$/.exec(path);
    if (tx !== null) {
      const hash = hashArg(tx[1]!, "transaction hash");
      return limited(reads, "chainReads", MAX_CHAIN_READS, "reading the chains for other requests", () => transaction(o, hash));
    }
    throw new HttpError(404, `no API route ${path}`);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = requestUrl(req);
    const send = (status: number, type: string, body: string | Buffer): void => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...SECURITY_HEADERS });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    const json = (status: number, body: unknown): void => send(status, "application/json", JSON.stringify(body));
    if (req.method !== "GET" && req.method !== "HEAD") return json(405, { error: "the explorer only reads: use GET" });
    if (url === null) return json(400, { error: "the request's path is not a valid URL path" });
    if (url.pathname.startsWith("/api/")) {
      api(url.pathname, url.searchParams).then(
        (body) => json(200, body),
        (error: unknown) => {
          if (error instanceof HttpError) return json(error.status, { error: error.message });
          if (error instanceof ApiError) return json(error.status >= 500 ? 502 : error.status, { error: `relayer API: ${error.message}` });
          if (!(error instanceof ApiUnreachableError)) o.onError(error);
          json(502, { error: oneLine(error) });
        },
      );
      return;
    }
    const page = WEB_FILES[url.pathname];
    if (page === undefined) return json(404, { error: `not found: ${url.pathname} (the explorer's pages are under /#/...)` });
    send(200, page.type, files.get(page.file)!);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : o.port;
  return {
    url: `${localHttpUrl(o.host, port)}/`,
    close: () => closeServer(server),
  };
}

function hashArg(text: string, what: string): Hex {
  if (!isHash(text)) throw new HttpError(400, `a ${what} is 0x and 64 hex digits, not ${JSON.stringify(text.slice(0, 80))}`);
  return text.toLowerCase() as Hex;
}

/** What the explorer keeps between requests: running chain searches, the last network view, the slashes found. */
interface Reads {
  chainReads: number;
  searches: number;
  network: { at: number; view: Promise<NetworkView> } | null;
  slashes: SlashIndex | null;
}

/**
 * A message's detail. The relayer's record, when it has one, names the source transaction: the SDK then
 * reads that transaction's receipt (and checks the id is in it), which costs a few calls. Only an id the
 * relayer does not know is searched for across every source chain, and only a few such searches run at once.
 */
async function detailOf(o: ExplorerOptions, reads: Reads, id: Hex): Promise<MessageDetail> {
  const hint = await relayerRecord(o.relayerApi, id);
  const client = hint === null ? undefined : o.clients.get(hint.srcChainId);
  if (hint !== null && client !== undefined) {
    // A hint the chain does not bear out (no such transaction, or not this message) is dropped, not an error.
    const inTransaction = await statusesOfTransaction([client], hint.sourceTxHash).catch(() => null);
    const status = inTransaction?.find((s) => s.messageId.toLowerCase() === id);
    if (status !== undefined) return messageDetail(status, o.commands);
  }
  return limited(reads, "searches", MAX_CHAIN_SEARCHES, "searching the chains for messages the relayer does not know", async () => {
    const status = await statusById([...o.clients.values()], id);
    if (status === null) throw new HttpError(404, `message ${id} was not sent by a source gateway of the configured chains (searched from each chain's fromBlock)`);
    return messageDetail(status, o.commands);
  });
}

/** Runs `work` unless `max` of its kind already run: then 429, so nobody can pile chain reads onto the operator's RPC quota. */
async function limited<T>(reads: Reads, kind: "chainReads" | "searches", max: number, busyWith: string, work: () => Promise<T>): Promise<T> {
  if (reads[kind] >= max) throw new HttpError(429, `the explorer is already ${busyWith} (${reads[kind]} at once); try again in a moment`);
  reads[kind]++;
  try {
    return await work();
  } finally {
    reads[kind]--;
  }
}

/** The relayer's record's source chain and transaction, or null when it has none or cannot be asked (a hint only). */
async function relayerRecord(base: string, id: Hex): Promise<{ srcChainId: number; sourceTxHash: Hex } | null> {
  try {
    const body = (await relayerJson(base, `/v1/messages/${id}`)) as { srcChainId?: unknown; sourceTxHash?: unknown };
    if (typeof body.srcChainId !== "number" || typeof body.sourceTxHash !== "string" || !isHash(body.sourceTxHash)) return null;
    return { srcChainId: body.srcChainId, sourceTxHash: body.sourceTxHash as Hex };
  } catch {
    return null;
  }
}

async function transaction(o: ExplorerOptions, hash: Hex): Promise<TransactionMessages> {
  const statuses = await statusesOfTransaction([...o.clients.values()], hash);
  if (statuses === null || statuses.length === 0) throw new HttpError(404, `transaction ${hash} is not on a configured source chain, or sent no message`);
  return { txHash: hash, chainId: statuses[0]!.source.chainId, messages: statuses.map((s) => messageDetail(s, o.commands)) };
}

/** One network read serves every request within NETWORK_TTL_MS (and concurrent ones share it). */
function cachedNetwork(o: ExplorerOptions, reads: Reads): Promise<NetworkView> {
  if (reads.network === null || Date.now() - reads.network.at > NETWORK_TTL_MS) reads.network = { at: Date.now(), view: network(o, reads.slashes) };
  return reads.network.view;
}

async function network(o: ExplorerOptions, slashes: SlashIndex | null): Promise<NetworkView> {
  const errors: string[] = [];
  const part = <T>(what: string, work: Promise<T>, fallback: T): Promise<T> =>
    work.catch((error: unknown) => {
      errors.push(`${what}: ${oneLine(error)}`);
      return fallback;
    });
  const [ready, nodes, gateways, staking] = await Promise.all([
    readiness(o.relayerApi),
    part(
      "relayer nodes",
      relayerJson(o.relayerApi, "/v1/nodes").then((body) => (body as { nodes: NetworkView["nodes"] }).nodes),
      [],
    ),
    Promise.all(o.chains.map(readGateway)),
    o.staking === null || slashes === null ? Promise.resolve(null) : part(`staking contract ${o.staking.contract}`, readStaking(o.staking, slashes), null),
  ]);
  for (const g of gateways) if (g.error !== null) errors.push(`gateway on ${g.name}: ${g.error}`);
  return { relayer: ready, nodes, gateways, staking, errors, readAt: Date.now() };
}

async function readiness(base: string): Promise<NetworkView["relayer"]> {
  try {
    const response = await fetchApi("relayer API", base, "/health/ready", { signal: AbortSignal.timeout(5_000), redirect: "error" });
    const body = (await response.json().catch(() => null)) as { ready?: unknown; checks?: NetworkView["relayer"]["checks"] } | null;
    return { url: base, ready: response.status === 200 && body?.ready === true, checks: body?.checks ?? null, error: null };
  } catch (error) {
    return { url: base, ready: false, checks: null, error: oneLine(error) };
  }
}

/** A relayer API answer as JSON; its error statuses become ApiError with the relayer's own reason. */
async function relayerJson(base: string, path: string): Promise<unknown> {
  // A redirect is refused: the relayer is asked for its own answers, never made to point the explorer elsewhere.
  const response = await fetchApi("relayer API", base, path, { signal: AbortSignal.timeout(10_000), redirect: "error" });
  const body = (await response.json().catch(() => null)) as { error?: unknown } | null;
  if (!response.ok) throw new ApiError("relayer API", base + path, response.status, typeof body?.error === "string" ? body.error : `answered ${response.status}`);
  return body;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
