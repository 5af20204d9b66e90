/**
 * Starts the web explorer over a relayer's config: its chains (RPC URLs, gateways, fromBlock), its
 * API, and optionally a RelayStaking contract on one of those chains. Used by `mpc-relay explorer`
 * and the devnet.
 */
import { join } from "node:path";
import { getAddress, type Address } from "viem";
import { chainClients, configChains } from "../relay/chain-clients.ts";
import { relayerApiUrl, type RelayerConfig } from "../relay/config.ts";
import { projectRoot } from "../shared/project.ts";
import { startExplorer, type Explorer } from "./server.ts";

export type { Explorer } from "./server.ts";

export interface ExplorerSetup {
  host: string;
  port: number;
  /** How the suggested commands name the config (the path the operator passed). */
  configPath: string;
  /** The relayer API; default: the config's api. */
  relayerApi?: string;
  /** A RelayStaking contract on the chain `chainId` of the config, searched for slashes from `fromBlock`. */
  staking?: { chainId: number; contract: Address; fromBlock?: bigint };
  /** The built page; default: dist/explorer-web of this installation. */
  webDir?: string;
  onError?(error: unknown): void;
}

export async function startExplorerFor(config: RelayerConfig, setup: ExplorerSetup): Promise<Explorer> {
  const relayerApi = setup.relayerApi ?? (config.api === undefined ? undefined : relayerApiUrl(config.api));
  if (relayerApi === undefined) throw new Error("the explorer reads the relayer's API: give its URL, or an api section in the relayer config");
  // One set of viem clients per chain, for the SDK's status and the explorer's own reads.
  const built = configChains(config);
  const chains = built.map(({ c, publicClient }) => ({
    chainId: c.chainId,
    name: c.name,
    client: publicClient,
    sourceGateway: getAddress(c.sourceGateway),
    targetGateway: getAddress(c.targetGateway),
    maxBlockRange: c.maxBlockRange,
    blockExplorer: c.blockExplorer ?? null,
  }));
  let staking = null;
  if (setup.staking !== undefined) {
    const { chainId, contract, fromBlock } = setup.staking;
    const chain = chains.find((c) => c.chainId === chainId);
    if (chain === undefined) throw new Error(`the staking contract's chain ${chainId} is not in the relayer config (chains: ${chains.map((c) => c.chainId).join(", ")})`);
    staking = { chain, contract: getAddress(contract), fromBlock: fromBlock ?? BigInt(config.chains.find((c) => c.chainId === chainId)!.fromBlock) };
  }
  return startExplorer({
    host: setup.host,
    port: setup.port,
    relayerApi,
    // One client per chain of the config, in its order.
    clients: new Map((await chainClients(config, { api: relayerApi }, built)).map((client, i) => [config.chains[i]!.chainId, client])),
    chains,
    staking,
    commands: { configPath: setup.configPath },
    webDir: setup.webDir ?? join(projectRoot, "dist", "explorer-web"),
    onError: setup.onError ?? (() => undefined),
  });
}
