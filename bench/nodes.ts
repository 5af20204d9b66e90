/**
 * Signer-node benchmark: 5 node processes on loopback, a 3-of-5 key.
 * Node 1 coordinates with no presignature pool (full signing: presign + online),
 * node 2 with a pool (one online round). Prints a summary; the LAST line is one
 * JSON object with the figures.
 */
import { Cluster, relayTx } from "../test/node/cluster.ts";

const SEQUENTIAL = 25;
const CONCURRENT = 60;
const POOL = CONCURRENT + SEQUENTIAL + 5;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { ms: performance.now() - started, value };
}

const cluster = await Cluster.create({ size: 5, presignPoolSizeFor: { 2: POOL }, logLevel: "warn" });
try {
  await cluster.startAll();
  const keygens: number[] = [];
  for (const keyId of ["bench-warmup", "bench"]) {
    await cluster.approve({ operation: "keygen", keyId, parties: [1, 2, 3, 4, 5], threshold: 3 });
    keygens.push((await timed(() => cluster.client(1).keygen(keyId, 3, [1, 2, 3, 4, 5]))).ms);
  }
  const keygenMs = keygens[keygens.length - 1]!;
  console.log(`keyGen 3-of-5: ${keygens.map((ms) => ms.toFixed(0)).join(" ms, ")} ms (first run includes JIT warm-up)`);

  let nonce = 0;
  const full: number[] = [];
  for (let i = 0; i < SEQUENTIAL + 3; i++) {
    const { ms, value } = await timed(() => cluster.client(1).sign("bench", relayTx(nonce++)));
    if (value.presigned) throw new Error("node 1 has no pool: expected full signing");
    if (i >= 3) full.push(ms);
  }
  console.log(`full signing (presign + online), sequential: p50 ${percentile(full, 50).toFixed(1)} ms, p95 ${percentile(full, 95).toFixed(1)} ms`);

  // Node 2's first request activates its pool; wait for the background refill.
  await cluster.client(2).sign("bench", relayTx(nonce++));
  const fillStarted = performance.now();
  for (;;) {
    const status = await cluster.client(2).status();
    const size = (status.presignPool as Record<string, number>)["bench"] ?? 0;
    if (size >= POOL) break;
    if (performance.now() - fillStarted > 180_000) throw new Error(`pool stuck at ${size}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const fillMs = performance.now() - fillStarted;
  console.log(`pool refill: ${POOL} presignatures in ${(fillMs / 1000).toFixed(1)} s (${((POOL * 1000) / fillMs).toFixed(1)}/s in the background)`);

  const presigned: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const { ms, value } = await timed(() => cluster.client(2).sign("bench", relayTx(nonce++)));
    if (!value.presigned) throw new Error("expected a pooled presignature");
    presigned.push(ms);
  }
  console.log(`presigned signing (one online round), sequential: p50 ${percentile(presigned, 50).toFixed(1)} ms, p95 ${percentile(presigned, 95).toFixed(1)} ms`);

  const burst = await timed(() => Promise.all(Array.from({ length: CONCURRENT }, () => cluster.client(2).sign("bench", relayTx(nonce++)))));
  const perSecond = (CONCURRENT * 1000) / burst.ms;
  console.log(
    `throughput: ${CONCURRENT} concurrent requests in ${burst.ms.toFixed(0)} ms = ${perSecond.toFixed(1)} signatures/s (${burst.value.filter((v) => v.presigned).length} presigned)`,
  );

  const fullBurst = await timed(() => Promise.all(Array.from({ length: 10 }, (_, i) => cluster.client(1 + (i % 5) === 2 ? 1 : 1 + (i % 5)).sign("bench", relayTx(nonce++)))));
  console.log(`throughput without presignatures: 10 concurrent in ${fullBurst.ms.toFixed(0)} ms = ${((10 * 1000) / fullBurst.ms).toFixed(1)} signatures/s`);

  const rss = await Promise.all([1, 2, 3, 4, 5].map(async (i) => Number((await cluster.client(i).status()).rssBytes) / 2 ** 20));
  console.log(`RSS per node: ${rss.map((mb) => mb.toFixed(0)).join(", ")} MB`);

  console.log(
    JSON.stringify({
      sign_p50_ms: Number(percentile(full, 50).toFixed(1)),
      sign_p95_ms: Number(percentile(full, 95).toFixed(1)),
      presigned_p50_ms: Number(percentile(presigned, 50).toFixed(1)),
      sign_per_s: Number(perSecond.toFixed(1)),
      keygen_ms: Number(keygenMs.toFixed(0)),
      rss_mb: Number(Math.max(...rss).toFixed(0)),
    }),
  );
} finally {
  await cluster.destroy();
}
