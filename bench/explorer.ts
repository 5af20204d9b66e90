/**
 * What the explorer costs the relayer: a LevelDB store of N message records (and one gas entry per
 * delivery) behind the relayer's real API, asked for the explorer's list (first page, a search, a
 * status filter) and its statistics (1 h and 7 d), each `--rounds` times (latency and answer size); plus the size of the page
 * the browser loads (dist/explorer-web, `npm run build` first). Prints a summary; the LAST line is
 * one JSON object.
 *
 *   npm run bench:explorer [-- --records 20000 --rounds 20]
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { keccak256, toHex, type Hex } from "viem";
import { startRelayerApi } from "../relayer/relay/api.ts";
import { RelayMetrics } from "../relayer/relay/metrics.ts";
import { listMessages, performance as stats } from "../relayer/relay/queries.ts";
import { RelayStore, type MessageRecord, type MessageState } from "../relayer/relay/store.ts";
import { projectRoot } from "../relayer/shared/project.ts";
import { percentile, round1 } from "./stats.ts";

const { values } = parseArgs({ options: { records: { type: "string", default: "20000" }, rounds: { type: "string", default: "20" } } });
const RECORDS = Number(values.records);
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(RECORDS) || RECORDS < 1 || !Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error("--records and --rounds must be positive integers");

/** Records spread over the last 7 days, two routes; 1 in 50 failed, the newest 1 % still on their way. */
function record(i: number, now: number): MessageRecord {
  const seen = now - Math.floor(((RECORDS - i) / RECORDS) * 7 * 24 * 3600_000);
  const open = i > RECORDS * 0.99;
  const states: [MessageState, number][] = [
    ["seen", seen],
    ["final", seen + 1_000],
    ["attested", seen + 1_400],
  ];
  if (!open) states.push(i % 50 === 0 ? ["failed", seen + 2_000] : ["delivered", seen + 2_000 + (i % 7) * 100]);
  const [src, dst] = i % 2 === 0 ? [1, 2] : [2, 1];
  return {
    messageId: keccak256(toHex(`m${i}`)),
    srcChainId: src,
    dstChainId: dst,
    message: {
      nonce: String(i),
      srcChainId: String(src),
      srcGateway: `0x${"11".repeat(20)}`,
      sender: `0x${(i % 97).toString(16).padStart(40, "0")}`,
      dstChainId: String(dst),
      receiver: `0x${"22".repeat(20)}`,
      gasLimit: "100000",
      payload: "0x",
    },
    txHash: keccak256(toHex(`t${i}`)),
    logIndex: 0,
    blockNumber: i,
    blockHash: keccak256(toHex(`b${i}`)),
    state: states.at(-1)![0],
    signers: [1, 2, 3],
    extraGas: "0",
    attempts: 0,
    nextAttemptAt: 0,
    history: states.map(([state, at]) => ({ state, at })),
    updatedAt: states.at(-1)![1],
  };
}

const dir = await mkdtemp(join(tmpdir(), "bench-explorer-"));
const store = await RelayStore.open(join(dir, "db"));
try {
  const now = Date.now();
  const all = Array.from({ length: RECORDS }, (_, i) => record(i + 1, now));
  for (let i = 0; i < all.length; i += 1_000) await store.commit(all.slice(i, i + 1_000));
  for (const r of all.filter((r) => r.state === "delivered"))
    await store.putGas({ at: r.updatedAt, chainId: r.dstChainId, txHash: keccak256(toHex(`d${r.message.nonce}`)) as Hex, gasUsed: "90000", costWei: "90000000000000" });
  // With --expose-gc (npm run bench:explorer) the heap figure is what stays live, not garbage awaiting collection.
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  collect();
  const heapBefore = process.memoryUsage().heapUsed;
  const server = await startRelayerApi({
    host: "127.0.0.1",
    port: 0,
    status: (id) => store.get(id),
    messages: async (q) => listMessages(await store.digests(), q),
    stats: async (windowMs) => stats(await store.digests(), await store.gasSince(Date.now() - windowMs), windowMs),
    nodes: () => Promise.resolve([]),
    readiness: () => ({ ready: true, checks: {} }),
    metrics: new RelayMetrics(),
    onError: (error) => console.error(error),
  });
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  const queries = {
    firstPage: "/v1/messages",
    search: `/v1/messages?q=${all[RECORDS >> 1]!.messageId.slice(0, 10)}`,
    failed: "/v1/messages?state=failed&page=2",
    stats1h: "/v1/stats?window=3600000",
    stats7d: `/v1/stats?window=${7 * 24 * 3600_000}`,
  };
  const figures: Record<string, { p50Ms: number; p95Ms: number; kiB: number }> = {};
  for (const [name, path] of Object.entries(queries)) {
    const times: number[] = [];
    let bytes = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      const response = await fetch(base + path);
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
      bytes = (await response.arrayBuffer()).byteLength;
      times.push(performance.now() - started);
    }
    figures[name] = { p50Ms: round1(percentile(times, 50)), p95Ms: round1(percentile(times, 95)), kiB: round1(bytes / 1024) };
    console.log(`${name.padEnd(10)} ${path.padEnd(60)} p50 ${figures[name].p50Ms} ms  p95 ${figures[name].p95Ms} ms  ${figures[name].kiB} KiB`);
  }
  collect();
  const heapRetainedMb = round1((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const web = join(projectRoot, "dist", "explorer-web");
  const kib = async (file: string) => round1((await stat(join(web, file))).size / 1024);
  const page = { appJsKiB: await kib("app.js"), styleCssKiB: await kib("style.css"), indexHtmlKiB: await kib("index.html") };
  console.log(`heap kept after answering (the records' digests): ${heapRetainedMb} MB; page: app.js ${page.appJsKiB} KiB, style.css ${page.styleCssKiB} KiB`);
  console.log(JSON.stringify({ bench: "explorer", records: RECORDS, rounds: ROUNDS, ...figures, heapRetainedMb, page }));
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
