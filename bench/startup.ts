/**
 * Start-up time and memory of one signer-node process, under the TypeScript
 * loader (`node --import tsx relayer/cli/main.ts`) and compiled (`node dist/…/main.js`).
 * Three nodes (2-of-3); per round and runtime each node is started alone and
 * timed from spawn to its "listening" line, then the three run a keyGen and
 * each reports its RSS. The runtimes alternate per round, so machine load hits
 * both alike. Prints a summary; the LAST line is one JSON object.
 *
 *   npm run bench:startup [-- --rounds 5]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { compiledCli } from "../relayer/devnet/runtime.ts";
import { Cluster } from "../test/node/cluster.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" } } });
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error("--rounds must be a positive integer");
const PARTIES = [1, 2, 3];

const runtimes = {
  loader: ["--import", "tsx", resolve(import.meta.dirname, "../relayer/cli/main.ts")],
  compiled: [await compiledCli()],
} as const;
type Runtime = keyof typeof runtimes;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Spawns `node start` and resolves with the child and the milliseconds until its "listening" line. */
function startNode(cluster: Cluster, index: number, runtime: Runtime): Promise<{ child: ChildProcess; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [...runtimes[runtime], "node", "start", "--config", cluster.node(index).configPath], {
    env: { ...process.env, MPC_RELAY_PASSPHRASE: cluster.passphrase, MPC_RELAY_API_TOKEN: cluster.token },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveStart, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.includes("listening")) resolveStart({ child, ms: performance.now() - started });
    });
    child.once("exit", (code) => reject(new Error(`node ${index} (${runtime}) exited with ${code}: ${stderr.trim()}`)));
  });
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

const samples: Record<Runtime, { startMs: number[]; rssMb: number[] }> = { loader: { startMs: [], rssMb: [] }, compiled: { startMs: [], rssMb: [] } };
const cluster = await Cluster.create({ size: PARTIES.length, logLevel: "warn" });
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order: Runtime[] = round % 2 === 0 ? ["loader", "compiled"] : ["compiled", "loader"];
    for (const runtime of order) {
      const children: ChildProcess[] = [];
      try {
        for (const index of PARTIES) {
          const { child, ms } = await startNode(cluster, index, runtime);
          children.push(child);
          samples[runtime].startMs.push(ms);
        }
        const keyId = `startup-${runtime}-${round}`;
        await Promise.all(PARTIES.map((i) => cluster.client(i).approve({ operation: "keygen", keyId, parties: PARTIES, threshold: 2 })));
        await cluster.client(1).keygen(keyId, 2, PARTIES);
        for (const index of PARTIES) samples[runtime].rssMb.push(Number((await cluster.client(index).status()).rssBytes) / 2 ** 20);
      } finally {
        await Promise.all(children.map(stopNode));
      }
    }
    console.log(`round ${round + 1}/${ROUNDS} done`);
  }
} finally {
  await cluster.destroy();
}

const figures = Object.fromEntries((Object.keys(samples) as Runtime[]).map((runtime) => [runtime, { startMs: median(samples[runtime].startMs), rssMb: median(samples[runtime].rssMb) }])) as Record<
  Runtime,
  { startMs: number; rssMb: number }
>;
for (const runtime of Object.keys(figures) as Runtime[]) {
  console.log(`${runtime.padEnd(8)} start to "listening" p50 ${figures[runtime].startMs.toFixed(0)} ms, RSS after keyGen p50 ${figures[runtime].rssMb.toFixed(1)} MB`);
}
console.log(
  JSON.stringify({
    rounds: ROUNDS,
    samples_per_runtime: ROUNDS * PARTIES.length,
    loader_start_ms: Number(figures.loader.startMs.toFixed(0)),
    compiled_start_ms: Number(figures.compiled.startMs.toFixed(0)),
    loader_rss_mb: Number(figures.loader.rssMb.toFixed(1)),
    compiled_rss_mb: Number(figures.compiled.rssMb.toFixed(1)),
  }),
);
