/**
 * End-to-end benchmark on a real devnet (two hardhat chains with 1-second
 * blocks, a 3-of-5 MPC network, the relayer; all separate processes):
 *  - latency: sendMessage mined -> MessageDelivered seen on the target, single
 *    mode, 1 confirmation, messages both ways at a steady pace; p50 and p95;
 *  - burst throughput: batch mode; a burst of messages mined in one block on the
 *    source, delivered messages per second from that block to the last delivery
 *    (dominated by fixed latency: 1 confirmation + the next target block);
 *  - sustained throughput: batch mode; chunks of messages sent back to back
 *    into consecutive source blocks, delivered messages per second over the
 *    steady-state window from the first delivery seen to the last one.
 * The last line printed is one JSON object with the headline figures.
 * `--staking` adds RelayStaking and the nodes' staking agents: every protocol
 * message then carries an operator signature, as in a staked deployment.
 *   npm run bench:e2e [-- --latency-messages 20 --batch-messages 300 --sustained-messages 1600 --sustained-chunk 200 --staking]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mineBlocks, setMining } from "../relayer/devnet/chains.ts";
import { freePort } from "../relayer/shared/ports.ts";
import { defaultDevnetOptions, Devnet, type DevnetChain } from "../relayer/devnet/devnet.ts";
import { deployProbeReceiver, sendMessages, waitForAll, type SentMessage } from "../relayer/devnet/traffic.ts";
import { percentile, round1 } from "./stats.ts";

const { values } = parseArgs({
  options: {
    "latency-messages": { type: "string", default: "20" },
    "batch-messages": { type: "string", default: "300" },
    "sustained-messages": { type: "string", default: "1600" },
    "sustained-chunk": { type: "string", default: "200" },
    "block-time": { type: "string", default: "1000" },
    "log-level": { type: "string", default: "warn" },
    keep: { type: "boolean", default: false },
    staking: { type: "boolean", default: false },
  },
});
const latencyMessages = Number(values["latency-messages"]);
const batchMessages = Number(values["batch-messages"]);
const sustainedMessages = Number(values["sustained-messages"]);
const sustainedChunk = Number(values["sustained-chunk"]);
const blockTimeMs = Number(values["block-time"]);
for (const [name, value] of [
  ["--latency-messages", latencyMessages],
  ["--batch-messages", batchMessages],
  ["--sustained-messages", sustainedMessages],
  ["--sustained-chunk", sustainedChunk],
  ["--block-time", blockTimeMs],
] as const)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);

function logLevel(text: string): "debug" | "info" | "warn" | "error" {
  if (text === "debug" || text === "info" || text === "warn" || text === "error") return text;
  throw new Error("--log-level must be debug, info, warn or error");
}

const say = (line: string): void => void process.stdout.write(line + "\n");

/** Sends one message every `paceMs`, alternating directions; returns each one's mined -> delivered latency. */
async function measureLatency(a: DevnetChain, b: DevnetChain, probes: Map<DevnetChain, `0x${string}`>, count: number, paceMs: number): Promise<number[]> {
  const inFlight: Promise<number>[] = [];
  for (let i = 0; i < count; i++) {
    const [src, dst] = i % 2 === 0 ? [a, b] : [b, a];
    inFlight.push(
      sendMessages(src, dst, probes.get(dst)!, 1).then(async ([sent]) => {
        const seen = await waitForAll(dst, [sent!.messageId], 60_000, 25);
        return seen.get(sent!.messageId)!.seenAt - sent!.minedAt;
      }),
    );
    await new Promise((r) => setTimeout(r, paceMs));
  }
  return Promise.all(inFlight);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mpc-bench-e2e-"));
  const devnet = new Devnet({
    ...defaultDevnetOptions,
    dir,
    chains: [
      { name: "a", chainId: 31337, port: await freePort() },
      { name: "b", chainId: 31338, port: await freePort() },
    ],
    nodes: 5,
    threshold: 3,
    blockTimeMs,
    automine: false,
    confirmations: 1,
    relayerPollMs: 100,
    // By default the message path only: no staking contract, no staking agents polling beside it.
    staking: values.staking,
    batch: { enabled: false, maxMessages: 100, maxWaitMs: 250 },
    logLevel: logLevel(values["log-level"]),
    report: (line) => say(`  ${line}`),
  });
  const stopOnSignal = (): void => void devnet.stop().then(() => process.exit(130));
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);
  process.once("exit", () => devnet.supervisor.killAllNow());
  try {
    say(`devnet: 2 chains (${blockTimeMs} ms blocks, 1 confirmation), 3-of-5 MPC network, relayer${values.staking ? ", staking (signed protocol messages)" : ""}`);
    await devnet.start();
    const [a, b] = devnet.chains as [DevnetChain, DevnetChain];
    const probes = new Map<DevnetChain, `0x${string}`>();
    for (const chain of devnet.chains) probes.set(chain, await deployProbeReceiver(chain));

    say("warm-up: 2 messages (presignature pools fill)");
    await measureLatency(a, b, probes, 2, 0);

    say(`latency: ${latencyMessages} single messages, alternating a->b and b->a, one every 500 ms`);
    const latencies = (await measureLatency(a, b, probes, latencyMessages, 500)).sort((x, y) => x - y);
    const p50 = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    say(`  p50 ${p50} ms   p95 ${p95} ms   min ${latencies[0]} ms   max ${latencies.at(-1)} ms`);

    say(`throughput: batch mode, ${batchMessages} messages a->b mined in one block`);
    await devnet.stopRelayer();
    await devnet.setBatchMode({ enabled: true, maxMessages: 500, maxWaitMs: 100 });
    await devnet.startRelayer();
    await setMining(a.rpcUrl, { automine: false, intervalMs: 0 });
    const submitStarted = Date.now();
    const burst: Promise<SentMessage[]> = sendMessages(a, b, probes.get(b)!, batchMessages);
    // Every submission first, then blocks until the mempool is empty (one block unless the gas limit splits it).
    await mineWhenPending(a, batchMessages);
    say(`  ${batchMessages} transactions submitted in ${Date.now() - submitStarted} ms`);
    const sent = await burst;
    await setMining(a.rpcUrl, { automine: false, intervalMs: blockTimeMs });
    const blocks = new Set(sent.map((m) => m.blockNumber));
    const minedAt = Math.min(...sent.map((m) => m.minedAt));
    const seen = await waitForAll(
      b,
      sent.map((m) => m.messageId),
      180_000,
      50,
    );
    const lastDelivery = Math.max(...[...seen.values()].map((s) => s.seenAt));
    const deliveryTxs = new Set([...seen.values()].map((s) => s.record.txHash));
    const burstPerSecond = Math.round((batchMessages / ((lastDelivery - minedAt) / 1000)) * 10) / 10;
    say(`  ${batchMessages} messages (in ${blocks.size} source block(s)) delivered in ${lastDelivery - minedAt} ms by ${deliveryTxs.size} batch transaction(s): ${burstPerSecond} messages/s`);
    say(`  burst messages/s = messages / (burst block mined -> last delivery seen); includes the fixed latency`);

    const sustained = await measureSustained(a, b, probes.get(b)!);

    await devnet.stop();
    if (!values.keep) await rm(dir, { recursive: true, force: true });
    else say(`devnet folder kept: ${dir}`);
    say(JSON.stringify({ latency_p50_ms: p50, latency_p95_ms: p95, batch_msgs_per_s: sustained, batch_burst_msgs_per_s: burstPerSecond }));
  } catch (error) {
    await devnet.stop();
    say(`benchmark failed; devnet logs in ${dir}`);
    throw error;
  }
}

/**
 * Sustained batch throughput: chunks of `--sustained-chunk` messages a->b, each
 * chunk sent as soon as the previous one is mined (about one chunk per 1-second
 * block), `--sustained-messages` in all. Delivery is seen by polling the target
 * every 100 ms. Steady-state rate = messages delivered after the first delivery
 * poll / (last delivery poll - first delivery poll): the fixed latency before
 * the first delivery is left out, so this is what the pipeline carries per second.
 */
async function measureSustained(a: DevnetChain, b: DevnetChain, probe: `0x${string}`): Promise<number> {
  say(`sustained throughput: batch mode, ${sustainedMessages} messages a->b in chunks of ${sustainedChunk}, each chunk sent once the previous one is mined`);
  const ids: `0x${string}`[] = [];
  const delivered = new Map<`0x${string}`, { seenAt: number; record: { txHash: `0x${string}` } }>();
  const sendStarted = Date.now();
  // Deliveries are watched from the start, so the first one is seen while chunks are still being sent.
  let watcher: Promise<void> = Promise.resolve();
  const sourceBlocks = new Set<bigint>();
  let lastMinedAt = 0;
  while (ids.length < sustainedMessages) {
    const sent = await sendMessages(a, b, probe, Math.min(sustainedChunk, sustainedMessages - ids.length));
    for (const m of sent) {
      ids.push(m.messageId);
      sourceBlocks.add(m.blockNumber);
      lastMinedAt = Math.max(lastMinedAt, m.minedAt);
    }
    const chunkIds = sent.map((m) => m.messageId);
    watcher = Promise.all([watcher, waitForAll(b, chunkIds, 180_000, 100).then((seen) => void seen.forEach((v, k) => delivered.set(k, v)))]).then(() => undefined);
  }
  const sendSeconds = (Date.now() - sendStarted) / 1000;
  await watcher;
  const seenTimes = [...delivered.values()].map((s) => s.seenAt);
  const first = Math.min(...seenTimes);
  const last = Math.max(...seenTimes);
  const afterFirst = seenTimes.filter((t) => t > first).length;
  const perSecond = round1(afterFirst / ((last - first) / 1000));
  const deliveryTxs = new Set([...delivered.values()].map((s) => s.record.txHash));
  say(`  sent ${ids.length} messages in ${sourceBlocks.size} source blocks over ${round1(sendSeconds)} s (offered ${round1(ids.length / sendSeconds)} messages/s)`);
  say(`  delivered by ${deliveryTxs.size} batch transactions; first delivery -> last delivery ${last - first} ms, ${afterFirst} messages delivered after the first: ${perSecond} messages/s`);
  say(`  sustained messages/s = messages delivered after the first delivery poll / (last delivery poll - first delivery poll)`);
  // A lag near the single-message latency means the relayer kept up: the rate is then bounded by the sender, not by delivery.
  say(`  last chunk mined -> last delivery seen: ${last - lastMinedAt} ms (near the single-message latency = delivery kept up with the offered rate)`);
  return perSecond;
}

/** Waits until `count` of the user's transactions sit in `chain`'s mempool, then mines until none is left. */
async function mineWhenPending(chain: DevnetChain, count: number): Promise<void> {
  const account = chain.userWallet.account.address;
  const nonce = (blockTag: "latest" | "pending") => chain.publicClient.getTransactionCount({ address: account, blockTag });
  const base = await nonce("latest");
  const deadline = Date.now() + 120_000;
  while ((await nonce("pending")) < base + count) {
    if (Date.now() > deadline) throw new Error("the burst's transactions did not all reach the mempool");
    await new Promise((r) => setTimeout(r, 50));
  }
  while ((await nonce("latest")) < base + count) await mineBlocks(chain.rpcUrl, 1);
}

await main();
