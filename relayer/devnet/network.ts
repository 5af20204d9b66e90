/** The devnet's MPC network: identities, config files and `mpc-relay node start` processes. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NodeClient } from "../node/api/client.ts";
import { p2pChannel } from "../node/api/channel.ts";
import type { P2pApiClient } from "../node/api/p2p.ts";
import { tcpMultiaddr, type Placement } from "./placement.ts";
import type { z } from "zod";
import type { nodeChainSchema } from "../node/chain/config.ts";
import type { NodeConfig } from "../node/config.ts";
import { createIdentity, saveIdentity } from "../node/identity.ts";
import { compiledCli } from "./runtime.ts";
import type { ManagedProcess, ProcessSupervisor } from "./supervisor.ts";

export interface NetworkSecrets {
  /** Bearer token of every node's HTTP API (one token: a single operator runs the devnet). */
  apiToken: string;
  /** Unlocks each node's key store. */
  passphrase: string;
}

export interface DevnetNode {
  index: number;
  peerId: string;
  /** Where members and the relayer dial it. */
  address: string;
  configPath: string;
  /** The operator's HTTP API, on loopback of the node's own host (the CLI's --api). */
  apiUrl: string;
  /** The devnet's client of the node's API, over libp2p as the node's admitted operator. */
  client: NodeClient;
  process: ManagedProcess | null;
}

export interface NetworkLayout {
  size: number;
  /** As written to the config file (defaults filled in by the node). */
  chains: z.input<typeof nodeChainSchema>[];
  presignPoolSize: number;
  logLevel: NodeConfig["logLevel"];
  /** Peer ids the nodes admit to their API over libp2p: the relayer, and the devnet itself as their operator. */
  apiPeers: { peerId: string; role: "relayer" | "operator"; name: string }[];
}

/**
 * Writes identities and config files for nodes 1..size under `dir`, each listening where the
 * placement puts it; `operator` (the devnet's own libp2p client) gets each node admitted.
 */
export async function writeNetwork(dir: string, layout: NetworkLayout, placement: Placement, operator: P2pApiClient): Promise<DevnetNode[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const nodes: DevnetNode[] = [];
  const peers: NodeConfig["peers"] = [];
  const ports = new Map<number, { listenPort: number; httpPort: number }>();
  for (let index = 1; index <= layout.size; index++) {
    const site = { kind: "node", index } as const;
    const identity = await createIdentity();
    await saveIdentity(join(dir, `node${index}.key`), identity);
    const listenPort = await placement.port(site, `node ${index} libp2p`);
    // The HTTP API stays on the node's own loopback: the devnet speaks to nodes over libp2p.
    const httpPort = await placement.port(site, `node ${index} API`);
    ports.set(index, { listenPort, httpPort });
    const address = tcpMultiaddr(placement.host(site), listenPort);
    peers.push({ index, peerId: identity.peerId, address });
    operator.admit({ peerId: identity.peerId, address });
    const client = new NodeClient(p2pChannel(operator, { peerId: identity.peerId, address }));
    nodes.push({ index, peerId: identity.peerId, address, configPath: join(dir, `node${index}.json`), apiUrl: `http://127.0.0.1:${httpPort}`, client, process: null });
  }
  for (const node of nodes) {
    const { httpPort } = ports.get(node.index)!;
    const config = {
      index: node.index,
      dataDir: `./data${node.index}`,
      identityKeyFile: `./node${node.index}.key`,
      listen: [node.address],
      httpPort,
      peers,
      apiPeers: layout.apiPeers,
      // Generous rounds: a devnet shares a laptop's cores between every node and both chains.
      timeouts: { prepareMs: 2_000, roundMs: 10_000, keygenRoundMs: 20_000 },
      // A devnet may refresh soon after its keyGen; production spaces refreshes out (default 30 s).
      limits: { minRefreshIntervalMs: 5_000 },
      presignPoolSize: layout.presignPoolSize,
      // A devnet trades key-store KDF cost for start-up time and memory; production keeps the default 2^17.
      kdfLog2N: 14,
      logLevel: layout.logLevel,
      // Relay-address transactions on every devnet chain, within what the devnet funds the relay address with (10 ETH).
      policy: {
        relayTransactions: Object.fromEntries(layout.chains.map((chain) => [String(chain.chainId), { maxFeeWei: "1000000000000000000", budgetWei: "10000000000000000000", maxTransactions: 10_000 }])),
      },
      chains: layout.chains,
    };
    await writeFile(node.configPath, JSON.stringify(config, null, 2) + "\n");
  }
  return nodes;
}

/** Starts one node process through the compiled CLI and waits for its "listening" line. */
export async function startNodeProcess(supervisor: ProcessSupervisor, node: DevnetNode, secrets: NetworkSecrets, projectRoot: string, logDir: string, placement: Placement): Promise<ManagedProcess> {
  if (node.process?.running === true) throw new Error(`node ${node.index} is already running`);
  node.process = await supervisor.start({
    name: `node-${node.index}`,
    ...placement.command({ kind: "node", index: node.index }, process.execPath, [await compiledCli(), "node", "start", "--json", "--config", node.configPath]),
    cwd: projectRoot,
    env: { ...process.env, MPC_RELAY_PASSPHRASE: secrets.passphrase, MPC_RELAY_API_TOKEN: secrets.apiToken },
    logPath: join(logDir, `node${node.index}.log`),
    readyLine: (line) => line.includes('"event":"listening"'),
    readyTimeoutMs: 90_000,
  });
  return node.process;
}
