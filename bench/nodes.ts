/**
 * Signer-node benchmark: N node processes on loopback, a T-of-N key, each
 * node behind a delay relay (delay-relay.ts, on a thread of its own:
 * relay-thread.ts) so that every connection between two nodes costs the
 * chosen round-trip time. For each RTT: keyGen time, full
 * signing (presign + online, node 1 has no pool) and signing from the
 * presignature pool (node 2) p50/p95, the pool's presign time, and network
 * bytes per operation; then round trips per operation, measured (latency
 * slope against RTT) and predicted from the session flow (wan-model.ts).
 * Prints a summary; the LAST line is one JSON object with every figure.
 *
 *   npm run bench:nodes                                  # 3-of-5 on loopback
 *   npm run bench:nodes -- --rtt 0,20,100                # the WAN sweep
 *   npm run bench:nodes -- --nodes 19 --threshold 13     # a committee the size of Wormhole's
 * Then, at RTT 0, R refreshes of the key one after another while node 2 keeps signing: each refresh's
 * duration and the signing latency while they run (the bench lifts the refresh rate limit).
 *
 *   options: --samples S  --keygens K  --refreshes R  --quick  --[no-]throughput
 *            --prepare-ms/--round-ms/--keygen-round-ms/--rpc-timeout-ms (default: the product's)
 *
 * Longer than our ~400-line rule: one script run top to bottom, each figure measured next to the
 * cluster it needs; the relays, CPU readings and the WAN model live in their own files.
 */
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { nodeConfigSchema } from "../relayer/node/config.ts";
import { Cluster, relayTx } from "../test/node/cluster.ts";
import { RelayThread } from "./relay-thread.ts";
import { cpuOf, cpuSpent, waitIdle } from "./process-cpu.ts";
import { protocolDepths } from "./protocol-depth.ts";
import { percentile, round1 } from "./stats.ts";
import { expectedRoundTrips, linearFit, type OperationName } from "./wan-model.ts";

class UsageError extends Error {
  override name = "UsageError";
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
  return value;
}

function parseOptions() {
  const { values } = parseArgs({
    allowNegative: true,
    options: {
      nodes: { type: "string", default: "5" },
      threshold: { type: "string", default: "3" },
      rtt: { type: "string", default: "0" },
      samples: { type: "string" },
      keygens: { type: "string" },
      quick: { type: "boolean", default: false },
      throughput: { type: "boolean" },
      refreshes: { type: "string" },
      "prepare-ms": { type: "string" },
      "round-ms": { type: "string" },
      "keygen-round-ms": { type: "string" },
      "rpc-timeout-ms": { type: "string" },
    },
  });
  const nodes = integer("nodes", values.nodes, 2, 64);
  const threshold = integer("threshold", values.threshold, 2, nodes);
  const rtts = values.rtt.split(",").map((text) => integer("rtt", text.trim(), 0, 10_000));
  if (new Set(rtts).size !== rtts.length) throw new UsageError("--rtt lists a value twice");
  const product = nodeConfigSchema.shape.timeouts.parse(undefined);
  const timeout = (name: string, text: string | undefined, fallback: number) => (text === undefined ? fallback : integer(name, text, 100, 600_000));
  return {
    nodes,
    threshold,
    rtts,
    quick: values.quick,
    /** Concurrent bursts at RTT 0; by default only for committees of up to 5 (larger ones on one machine starve the chains all nodes read). */
    throughput: values.throughput ?? (nodes <= 5 && !values.quick),
    samples: values.samples === undefined ? (values.quick ? 6 : 25) : integer("samples", values.samples, 3, 1000),
    keygens: values.keygens === undefined ? (values.quick ? 1 : 2) : integer("keygens", values.keygens, 1, 100),
    refreshes: values.refreshes === undefined ? (values.quick ? 1 : 3) : integer("refreshes", values.refreshes, 0, 100),
    /** null: the product's default. All nodes share the bench's in-process chains, unlike a real deployment. */
    rpcTimeoutMs: values["rpc-timeout-ms"] === undefined ? null : timeout("rpc-timeout-ms", values["rpc-timeout-ms"], 0),
    timeouts: {
      prepareMs: timeout("prepare-ms", values["prepare-ms"], product.prepareMs),
      roundMs: timeout("round-ms", values["round-ms"], product.roundMs),
      keygenRoundMs: timeout("keygen-round-ms", values["keygen-round-ms"], product.keygenRoundMs),
    },
  };
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { ms: performance.now() - started, value };
}

const options = parseOptions();
const { nodes: n, threshold: t, samples } = options;
const parties = Array.from({ length: n }, (_, i) => i + 1);
const COORDINATOR = 1;
const POOLED = 2;
/** Full: after filling, S samples leave the pool above half, so no refill runs while they are measured (pool.ts). */
const POOL = 2 * samples + 2;
/** How often the pool looks at its size (relayer/node/pool.ts). */
const POOL_TICK_MS = 100;

const depths = protocolDepths();
const expected = expectedRoundTrips(depths);
const relays = RelayThread.start();

interface Level {
  rtt_ms: number;
  keygen_ms: number;
  keygen_runs_ms: number[];
  /** How long the nodes stayed busy after keyGen answered (commit and certificates). */
  keygen_tail_ms: number | null;
  keygen_bytes: number;
  /** CPU of all nodes per keyGen (tail included), and of the busiest node. */
  keygen_cpu_ms: number | null;
  keygen_cpu_max_node_ms: number | null;
  sign_p50_ms: number;
  sign_p95_ms: number;
  sign_bytes: number;
  sign_cpu_ms: number | null;
  sign_cpu_max_node_ms: number | null;
  presigned_p50_ms: number;
  presigned_p95_ms: number;
  presigned_bytes: number;
  presigned_cpu_ms: number | null;
  /** One pooled presign session, from the refill rate (the pool refills one at a time, on a 100 ms tick). */
  presign_ms: number;
}

console.log(
  `${t}-of-${n}, RTT ${options.rtts.join(", ")} ms, ${samples} samples per figure, timeouts prepare ${options.timeouts.prepareMs} / round ${options.timeouts.roundMs} / keyGen round ${options.timeouts.keygenRoundMs}` +
    ` / chain RPC ${options.rpcTimeoutMs ?? "default"} ms`,
);
const cluster = await Cluster.create({
  size: n,
  presignPoolSizeFor: { [POOLED]: POOL },
  logLevel: "warn",
  ...options.timeouts,
  peerAddress: async (listenPort) => `/ip4/127.0.0.1/tcp/${await relays.add(listenPort, 0)}`,
}).catch(async (error: unknown) => {
  await relays.close();
  throw error;
});
const errors: string[] = [];
const levels: Level[] = [];
let throughput: { presigned_per_s: number; presigned_burst: number; full_per_s: number } | null = null;
let refresh: { refresh_p50_ms: number; refresh_max_ms: number; sign_during_p50_ms: number; sign_during_p95_ms: number; signatures_during: number; signatures_failed: number } | null = null;
let rss: number[] = [];
let nonce = 0;
let keyCount = 0;

async function keygen(keyId: string): Promise<number> {
  await cluster.approve({ operation: "keygen", keyId, parties, threshold: t });
  return (await timed(() => cluster.client(COORDINATOR).keygen(keyId, t, parties))).ms;
}

async function poolSize(): Promise<number> {
  const status = await cluster.client(POOLED).status();
  return (status.presignPool as Record<string, number>)["bench"] ?? 0;
}

/**
 * Fills node 2's pool at the current RTT: presigned requests (unmeasured) until the pool is at half,
 * which starts a refill to full (pool.ts), then waits for it. Returns ms per presign session.
 */
async function fillPool(): Promise<number> {
  // The first request also makes the key active in the pool.
  await cluster.client(POOLED).sign("bench", relayTx(nonce++));
  while ((await poolSize()) > Math.floor(POOL / 2)) await cluster.client(POOLED).sign("bench", relayTx(nonce++));
  const from = await poolSize();
  const started = performance.now();
  const deadline = started + 60_000 + POOL * 3 * options.timeouts.roundMs;
  let filledMs: number | null = null;
  for (;;) {
    const size = await poolSize();
    if (size >= POOL) {
      filledMs ??= performance.now() - started;
      // The pool stops refilling only once a tick saw it full: a request before that would start another refill.
      if (performance.now() - started - filledMs > 3 * POOL_TICK_MS) return filledMs / Math.max(1, POOL - from);
    }
    if (performance.now() > deadline) throw new Error(`pool stuck at ${size} of ${POOL}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pids = () => parties.map((i) => cluster.node(i).process?.pid ?? -1);

/** Runs `work` and returns its result with the CPU the nodes spent meanwhile: in total and on the busiest node. */
async function withCpu<T>(work: () => Promise<T>): Promise<{ value: T; cpu: { total: number; max: number } | null }> {
  const before = await cpuOf(pids());
  const value = await work();
  const spent = cpuSpent(before, await cpuOf(pids()));
  return { value, cpu: spent === null ? null : { total: spent.reduce((a, b) => a + b, 0), max: Math.max(...spent) } };
}

async function series(count: number, node: number, presigned: boolean): Promise<{ ms: number[]; bytes: number; cpu: { total: number; max: number } | null }> {
  const ms: number[] = [];
  const bytesBefore = await relays.bytes();
  const { cpu } = await withCpu(async () => {
    for (let i = 0; i < count; i++) {
      const { ms: took, value } = await timed(() => cluster.client(node).sign("bench", relayTx(nonce++)));
      if (value.presigned !== presigned) throw new Error(`node ${node} signed ${value.presigned ? "from" : "without"} a presignature, expected the opposite`);
      ms.push(took);
    }
  });
  const perOp = cpu === null ? null : { total: cpu.total / count, max: cpu.max / count };
  return { ms, bytes: ((await relays.bytes()) - bytesBefore) / count, cpu: perOp };
}

const perOpCpu = (value: number | undefined) => (value === undefined ? null : Math.round(value));

async function measureLevel(rtt: number): Promise<Level> {
  await relays.setRtt(rtt);
  const keygens: number[] = [];
  const tails: (number | null)[] = [];
  const keygenBytesBefore = await relays.bytes();
  const keygenCpu = await withCpu(async () => {
    for (let i = 0; i < options.keygens; i++) {
      keygens.push(await keygen(`bench-${++keyCount}`));
      tails.push(await waitIdle(pids()));
    }
  });
  const keygenBytes = ((await relays.bytes()) - keygenBytesBefore) / options.keygens;
  // One unmeasured request per path at the new RTT (and connections to every signer).
  await cluster.client(COORDINATOR).sign("bench", relayTx(nonce++));
  const full = await series(samples, COORDINATOR, false);
  const presignMs = await fillPool();
  await waitIdle(pids());
  const pooled = await series(samples, POOLED, true);
  const known = tails.filter((ms): ms is number => ms !== null);
  const level: Level = {
    rtt_ms: rtt,
    keygen_ms: Math.round(percentile(keygens, 50)),
    keygen_runs_ms: keygens.map(Math.round),
    keygen_tail_ms: known.length === tails.length ? Math.round(percentile(known, 50)) : null,
    keygen_bytes: Math.round(keygenBytes),
    keygen_cpu_ms: perOpCpu(keygenCpu.cpu === null ? undefined : keygenCpu.cpu.total / options.keygens),
    keygen_cpu_max_node_ms: perOpCpu(keygenCpu.cpu === null ? undefined : keygenCpu.cpu.max / options.keygens),
    sign_p50_ms: round1(percentile(full.ms, 50)),
    sign_p95_ms: round1(percentile(full.ms, 95)),
    sign_bytes: Math.round(full.bytes),
    sign_cpu_ms: perOpCpu(full.cpu?.total),
    sign_cpu_max_node_ms: perOpCpu(full.cpu?.max),
    presigned_p50_ms: round1(percentile(pooled.ms, 50)),
    presigned_p95_ms: round1(percentile(pooled.ms, 95)),
    presigned_bytes: Math.round(pooled.bytes),
    presigned_cpu_ms: perOpCpu(pooled.cpu?.total),
    presign_ms: round1(presignMs),
  };
  console.log(
    `RTT ${String(rtt).padStart(3)} ms | keyGen ${level.keygen_ms} ms (${level.keygen_runs_ms.join(", ")}; busy ${level.keygen_tail_ms} ms after)` +
      ` | full signing p50 ${level.sign_p50_ms} p95 ${level.sign_p95_ms} ms | presigned p50 ${level.presigned_p50_ms} p95 ${level.presigned_p95_ms} ms | pool presign ${level.presign_ms} ms`,
  );
  console.log(
    `          network KiB per op: keyGen ${(keygenBytes / 1024).toFixed(0)}, full ${(full.bytes / 1024).toFixed(0)}, presigned ${(pooled.bytes / 1024).toFixed(1)}` +
      ` | node CPU ms per op (all nodes / busiest): keyGen ${level.keygen_cpu_ms} / ${level.keygen_cpu_max_node_ms}, full ${level.sign_cpu_ms} / ${level.sign_cpu_max_node_ms}, presigned ${level.presigned_cpu_ms}`,
  );
  return level;
}

/** Concurrent requests at RTT 0: presigned from a full pool, then full signing spread over the other nodes. */
async function measureThroughput(): Promise<NonNullable<typeof throughput>> {
  await relays.setRtt(0);
  await fillPool();
  const burst = await timed(() => Promise.all(Array.from({ length: samples }, () => cluster.client(POOLED).sign("bench", relayTx(nonce++)))));
  const others = parties.filter((p) => p !== POOLED);
  const fullBurst = await timed(() => Promise.all(Array.from({ length: 10 }, (_, i) => cluster.client(others[i % others.length]!).sign("bench", relayTx(nonce++)))));
  const result = {
    presigned_per_s: round1((samples * 1000) / burst.ms),
    presigned_burst: burst.value.filter((v) => v.presigned).length,
    full_per_s: round1((10 * 1000) / fullBurst.ms),
  };
  console.log(`throughput at RTT 0: ${samples} concurrent = ${result.presigned_per_s} signatures/s (${result.presigned_burst} presigned); 10 concurrent full = ${result.full_per_s} signatures/s`);
  return result;
}

/** Refreshes one after another at RTT 0 while node 2 signs without pause: refresh time, and signing latency meanwhile. */
async function measureRefresh(): Promise<NonNullable<typeof refresh>> {
  await relays.setRtt(0);
  const durations: number[] = [];
  const during: number[] = [];
  let refreshing = true;
  const failed: string[] = [];
  const signing = (async () => {
    while (refreshing) {
      try {
        during.push((await timed(() => cluster.client(POOLED).sign("bench", relayTx(nonce++)))).ms);
      } catch (error) {
        failed.push(String(error));
      }
    }
  })();
  try {
    for (let i = 0; i < options.refreshes; i++) {
      // A member still closing the previous refresh, or not yet on its sharing, refuses the next: asked again shortly, not timed.
      for (let tries = 1; ; tries++) {
        try {
          durations.push((await timed(() => cluster.client(COORDINATOR).refresh("bench"))).ms);
          break;
        } catch (error) {
          if (tries >= 50 || !/busy|holds no share of generation/.test(String(error))) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  } finally {
    refreshing = false;
    await signing;
  }
  const result = {
    refresh_p50_ms: Math.round(percentile(durations, 50)),
    refresh_max_ms: Math.round(Math.max(...durations)),
    sign_during_p50_ms: round1(percentile(during, 50)),
    sign_during_p95_ms: round1(percentile(during, 95)),
    signatures_during: during.length,
    signatures_failed: failed.length,
  };
  console.log(
    `refresh at RTT 0: p50 ${result.refresh_p50_ms} ms, max ${result.refresh_max_ms} ms (${durations.length}) | signing meanwhile p50 ${result.sign_during_p50_ms} p95 ${result.sign_during_p95_ms} ms (${during.length} signatures, ${failed.length} failed${failed.length > 0 ? `: ${failed[0]}` : ""})`,
  );
  return result;
}

/** Sets every node's chain RPC timeout (when asked) and refresh rate limit in its config file before it starts. */
async function configureNodes(rpcTimeoutMs: number | null): Promise<void> {
  for (const node of cluster.nodes.values()) {
    const config = JSON.parse(await readFile(node.configPath, "utf8")) as { chains: { rpcTimeoutMs?: number }[]; limits?: { minRefreshIntervalMs?: number } };
    if (rpcTimeoutMs !== null) for (const chain of config.chains) chain.rpcTimeoutMs = rpcTimeoutMs;
    config.limits = { ...config.limits, minRefreshIntervalMs: 0 };
    await writeFile(node.configPath, JSON.stringify(config, null, 2));
  }
}

try {
  await configureNodes(options.rpcTimeoutMs);
  await cluster.startAll();
  // JIT warm-up and the key every signature uses; connections are opened here, at RTT 0.
  const warmup = await keygen("bench");
  await waitIdle(pids());
  for (let i = 0; i < 3; i++) await cluster.client(COORDINATOR).sign("bench", relayTx(nonce++));
  console.log(`keyGen warm-up (JIT, connections): ${warmup.toFixed(0)} ms`);
  for (const rtt of options.rtts) {
    try {
      levels.push(await measureLevel(rtt));
    } catch (error) {
      errors.push(`RTT ${rtt}: ${String(error)}`);
      console.log(`RTT ${rtt} ms failed: ${String(error)}`);
    }
  }
  if (options.throughput && options.rtts.includes(0)) {
    try {
      throughput = await measureThroughput();
    } catch (error) {
      errors.push(`throughput: ${String(error)}`);
    }
  }
  if (options.refreshes > 0) {
    try {
      refresh = await measureRefresh();
    } catch (error) {
      errors.push(`refresh: ${String(error)}`);
    }
  }
  rss = await Promise.all(parties.map(async (i) => Number((await cluster.client(i).status()).rssBytes) / 2 ** 20));
  console.log(`RSS per node: max ${Math.max(...rss).toFixed(0)} MB, mean ${(rss.reduce((a, b) => a + b, 0) / rss.length).toFixed(0)} MB (${rss.map((mb) => mb.toFixed(0)).join(", ")})`);
} catch (error) {
  errors.push(String(error));
  console.log(`failed: ${String(error)}`);
} finally {
  await cluster.destroy();
  await relays.close();
}

const figure: Record<OperationName, keyof Level> = { keygen: "keygen_ms", sign: "sign_p50_ms", presigned: "presigned_p50_ms", presign: "presign_ms" };
const hundredths = (value: number) => Math.round(value * 100) / 100;
const byRtt = [...levels].sort((a, b) => a.rtt_ms - b.rtt_ms);
const roundTrips = Object.fromEntries(
  (Object.keys(figure) as OperationName[]).map((op) => {
    const points = byRtt.map((level) => ({ x: level.rtt_ms, y: level[figure[op]] as number }));
    const fit = linearFit(points);
    // Compute overlaps with waiting at small RTTs on a busy machine; between the two largest RTTs it does less.
    const top = linearFit(points.slice(-2));
    return [op, { expected: expected[op], measured: fit && hundredths(fit.slope), measured_top: top && hundredths(top.slope), compute_ms: fit && round1(fit.intercept) }];
  }),
);
if (levels.length >= 2) {
  console.log(`round trips per operation (protocol depth in one-way delays: ${JSON.stringify(depths)}):`);
  for (const [op, rt] of Object.entries(roundTrips)) {
    console.log(
      `  ${op.padEnd(9)} expected ${rt.expected} (session flow) | measured ${rt.measured} (least-squares slope of ${figure[op as OperationName]} vs RTT),` +
        ` ${rt.measured_top} (slope between the two largest RTTs) | compute ${rt.compute_ms} ms`,
    );
  }
}
const first = levels[0];
const rssMax = rss.length > 0 ? Math.round(Math.max(...rss)) : null;
console.log(
  JSON.stringify({
    nodes: n,
    threshold: t,
    samples,
    timeouts: { ...options.timeouts, rpcTimeoutMs: options.rpcTimeoutMs },
    // The figures of the first RTT level under the names earlier runs used.
    sign_p50_ms: first?.sign_p50_ms ?? null,
    sign_p95_ms: first?.sign_p95_ms ?? null,
    presigned_p50_ms: first?.presigned_p50_ms ?? null,
    presigned_p95_ms: first?.presigned_p95_ms ?? null,
    keygen_ms: first?.keygen_ms ?? null,
    sign_per_s: throughput?.presigned_per_s ?? null,
    rss_mb: rssMax,
    rss_mb_mean: rss.length > 0 ? Math.round(rss.reduce((a, b) => a + b, 0) / rss.length) : null,
    levels,
    round_trips: roundTrips,
    protocol_depth: depths,
    throughput,
    refresh,
    errors,
  }),
);
if (errors.length > 0) process.exitCode = 1;
