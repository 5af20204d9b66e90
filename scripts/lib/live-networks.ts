/**
 * Stand-ins for live networks, for fork tests: one `hardhat node` process per network on loopback, with
 * the gateways and PingPong deployed by the project's own deploy path and every route between them
 * open, as operators leave a testnet.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createPublicClient, http, type Address } from "viem";
import { projectRoot } from "../../relayer/shared/project.ts";
import { freePort } from "../../relayer/shared/ports.ts";
import { configureRoute, deployAll, type Deployment } from "../../relayer/deploy/deploy.ts";

export interface LiveNetwork {
  name: string;
  url: string;
  deployment: Deployment;
}

export interface LiveNetworks {
  networks: LiveNetwork[];
  stop(): Promise<void>;
}

async function startNode(chainId: number, children: ChildProcess[]): Promise<string> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(projectRoot, "node_modules/hardhat/dist/src/cli.js"), "node", "--hostname", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId)], {
    cwd: projectRoot,
    stdio: "ignore",
  });
  children.push(child);
  const client = createPublicClient({ transport: http(url, { retryCount: 0 }) });
  for (let waited = 0; ; waited += 250) {
    if (child.exitCode !== null) throw new Error(`hardhat node for chain ${chainId} exited with code ${child.exitCode}`);
    try {
      if ((await client.getChainId()) === chainId) return url;
    } catch (error) {
      if (waited > 60_000) throw new Error(`hardhat node for chain ${chainId} did not answer at ${url}`, { cause: error });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts the networks, deploys on each (trusting `relayAddress`) and opens every route; `stop` ends them. */
export async function startLiveNetworks(specs: readonly { name: string; chainId: number }[], relayAddress: Address): Promise<LiveNetworks> {
  const children: ChildProcess[] = [];
  const stop = () => Promise.all(children.map((child) => new Promise((r) => (child.exitCode !== null ? r(null) : (child.once("exit", r), child.kill()))))).then(() => {});
  try {
    const networks: LiveNetwork[] = [];
    for (const { name, chainId } of specs) {
      const url = await startNode(chainId, children);
      networks.push({ name, url, deployment: await deployAll({ rpcUrl: url, networkName: name, relayAddress, outDir: null }) });
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
