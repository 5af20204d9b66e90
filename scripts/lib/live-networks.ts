/**
 * Stand-ins for live networks, for fork tests: one `hardhat node` process per network on loopback (the
 * devnet's own chain launcher), with the gateways and PingPong deployed by the project's own deploy path
 * and every route between them open, as operators leave a testnet.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "viem";
import { configureRoute, deployAll, type Deployment } from "../../relayer/deploy/deploy.ts";
import { launchChain } from "../../relayer/devnet/chains.ts";
import { loopback } from "../../relayer/devnet/placement.ts";
import { ProcessSupervisor } from "../../relayer/devnet/supervisor.ts";
import { freePort } from "../../relayer/shared/ports.ts";
import { projectRoot } from "../../relayer/shared/project.ts";

export interface LiveNetwork {
  name: string;
  url: string;
  deployment: Deployment;
}

export interface LiveNetworks {
  networks: LiveNetwork[];
  stop(): Promise<void>;
}

/** Starts the networks, deploys on each (trusting `relayAddress`) and opens every route; `stop` ends them. */
export async function startLiveNetworks(specs: readonly { name: string; chainId: number }[], relayAddress: Address): Promise<LiveNetworks> {
  const supervisor = new ProcessSupervisor();
  const logDir = await mkdtemp(join(tmpdir(), "mpc-relay-live-"));
  const stop = async () => {
    await supervisor.stopAll();
    await rm(logDir, { recursive: true, force: true });
  };
  try {
    const networks: LiveNetwork[] = [];
    for (const { name, chainId } of specs) {
      const chain = await launchChain(supervisor, { name, chainId, port: await freePort() }, projectRoot, logDir, loopback);
      networks.push({ name, url: chain.rpcUrl, deployment: await deployAll({ rpcUrl: chain.rpcUrl, networkName: name, relayAddress, outDir: null }) });
    }
    for (const from of networks) {
      for (const to of networks) if (to !== from) await configureRoute({ rpcUrl: from.url, deployment: from.deployment, remote: to.deployment });
    }
    return { networks, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
