/**
 * The multi-host scenario, run by multihost.test.ts inside the hub namespace of
 * an IsolatedNetwork (netns.ts): the real devnet, placed so that each chain,
 * each signer node and the relayer runs in its own namespace at its own
 * address, reaching the others only across the bridge. It reports each step as
 * one JSON line `{"step", "ok", "detail"}` on stdout.
 *
 * Usage: node --import tsx scenario.ts  (env MULTIHOST: the hosts as JSON, MULTIHOST_DIR: a work folder)
 */
import { appendFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultDevnetOptions, Devnet } from "../../relayer/devnet/devnet.ts";
import type { Placement, Site } from "../../relayer/devnet/placement.ts";
import { deliveredMessages, deployProbeReceiver, sendMessages, waitForAll } from "../../relayer/devnet/traffic.ts";

export interface HostMap {
  /** Host name -> its address and the pid holding its namespace. */
  hosts: Record<string, { address: string; pid: number; link: string }>;
  hub: { pid: number };
}

export const NODES = 5;
export const hostNames = (): string[] => ["chain-a", "chain-b", ...Array.from({ length: NODES }, (_, i) => `node${i + 1}`), "relayer"];

function siteName(site: Site): string {
  return site.kind === "chain" ? `chain-${site.name}` : site.kind === "node" ? `node${site.index}` : "relayer";
}

/** Each process in its host's namespace, at its host's address; fixed ports (each host has its own). */
function namespaced(map: HostMap): Placement {
  const host = (site: Site) => {
    const entry = map.hosts[siteName(site)];
    if (entry === undefined) throw new Error(`no host for ${siteName(site)}`);
    return entry;
  };
  return {
    host: (site) => host(site).address,
    port: async (_site, purpose, preferred) => preferred ?? (purpose.endsWith("libp2p") ? 4001 : purpose.endsWith("API") ? 8701 : 7600),
    command: (site, command, args) => ({ command: "nsenter", args: [`--net=/proc/${host(site).pid}/ns/net`, "--", command, ...args] }),
  };
}

function report(step: string, ok: boolean, detail: string): void {
  process.stdout.write(JSON.stringify({ step, ok, detail }) + "\n");
}

async function step(name: string, work: () => Promise<string>): Promise<void> {
  try {
    report(name, true, await work());
  } catch (error) {
    report(name, false, error instanceof Error ? (error.stack ?? error.message) : String(error));
    throw error;
  }
}

async function main(): Promise<void> {
  const map = JSON.parse(process.env.MULTIHOST!) as HostMap;
  const dir = process.env.MULTIHOST_DIR!;
  const devnet = new Devnet(
    {
      ...defaultDevnetOptions,
      dir: join(dir, "devnet"),
      compile: false,
      presignPoolSize: 2,
      report: (line) => appendFileSync(join(dir, "progress.log"), line + "\n"),
    },
    namespaced(map),
  );
  const cutOff = (name: string, connected: boolean) => {
    const link = map.hosts[name]!.link;
    // This process lives in the hub, where the bridge and the hosts' links are.
    return import("node:child_process").then(({ execFileSync }) => execFileSync("ip", ["link", "set", link, connected ? "up" : "down"]));
  };
  try {
    await step("keygen", async () => {
      await devnet.start();
      const config = JSON.parse(await readFile(devnet.node(1).configPath, "utf8")) as { listen: string[]; peers: { address: string }[] };
      const relayer = JSON.parse(await readFile(devnet.relayerConfigPath, "utf8")) as { mpc: { nodes: { address: string }[] }; chains: { rpcUrls: string[] }[] };
      return JSON.stringify({
        relay: devnet.relayAddress,
        listen: config.listen,
        peers: config.peers.map((p) => p.address),
        relayerNodes: relayer.mpc.nodes.map((n) => n.address),
        rpc: relayer.chains.map((c) => c.rpcUrls[0]),
      });
    });
    const [a, b] = devnet.chains as [(typeof devnet.chains)[0], (typeof devnet.chains)[0]];
    await step("deliver", async () => {
      const toB = await sendMessages(a, b, await deployProbeReceiver(b), 3);
      const toA = await sendMessages(b, a, await deployProbeReceiver(a), 3);
      await waitForAll(
        b,
        toB.map((m) => m.messageId),
        90_000,
      );
      await waitForAll(
        a,
        toA.map((m) => m.messageId),
        90_000,
      );
      return `${toB.length} messages a->b and ${toA.length} b->a delivered`;
    });
    await step("cut", async () => {
      const receiver = await deployProbeReceiver(b);
      const burst = sendMessages(a, b, receiver, 8);
      // Cut node 2 off while the network signs the burst: the others sign without it.
      await new Promise((r) => setTimeout(r, 1_500));
      await cutOff("node2", false);
      const sent = await burst;
      const more = await sendMessages(a, b, receiver, 4);
      const ids = [...sent, ...more].map((m) => m.messageId);
      await waitForAll(b, ids, 120_000);
      await cutOff("node2", true);
      const deliveries = (await deliveredMessages(b)).filter((d) => ids.includes(d.messageId));
      if (deliveries.length !== ids.length) throw new Error(`${deliveries.length} deliveries of ${ids.length} messages: not exactly once`);
      return `${ids.length} messages delivered exactly once with node 2's host cut off`;
    });
  } finally {
    await devnet.stop();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
