/** The devnet's chains: one `hardhat node` process per chain, where the placement puts it (loopback by default). */
import { join } from "node:path";
import type { ManagedProcess, ProcessSupervisor } from "./supervisor.ts";
import { urlHost, type Placement } from "./placement.ts";

export interface ChainSpec {
  /** Short name, e.g. "a". */
  name: string;
  chainId: number;
  port: number;
}

export interface LocalChain extends ChainSpec {
  rpcUrl: string;
  process: ManagedProcess;
}

/** One JSON-RPC call; throws with the node's message on an error response. */
export async function rpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method} on ${url}: ${body.error.message}`);
  return body.result as T;
}

/**
 * Block production. `automine` mines a block per transaction; `intervalMs` > 0
 * also mines a block every interval (automine off + interval = real block times).
 */
export async function setMining(rpcUrl: string, mining: { automine: boolean; intervalMs: number }): Promise<void> {
  await rpc(rpcUrl, "evm_setAutomine", [mining.automine]);
  await rpc(rpcUrl, "evm_setIntervalMining", [mining.intervalMs]);
}

/** Mines `blocks` blocks at once. */
export async function mineBlocks(rpcUrl: string, blocks: number): Promise<void> {
  await rpc(rpcUrl, "hardhat_mine", [`0x${blocks.toString(16)}`]);
}

/** Starts `hardhat node` for one chain and waits until it answers with the expected chain id. */
export async function launchChain(supervisor: ProcessSupervisor, spec: ChainSpec, projectRoot: string, logDir: string, placement: Placement): Promise<LocalChain> {
  const site = { kind: "chain", name: spec.name } as const;
  const host = placement.host(site);
  const port = await placement.port(site, `chain ${spec.name} RPC`, spec.port);
  const rpcUrl = `http://${urlHost(host)}:${port}`;
  const hardhatCli = join(projectRoot, "node_modules", "hardhat", "dist", "src", "cli.js");
  const child = await supervisor.start({
    name: `chain-${spec.name}`,
    ...placement.command(site, process.execPath, [hardhatCli, "node", "--hostname", host, "--port", String(port), "--chain-id", String(spec.chainId)]),
    cwd: projectRoot,
    logPath: join(logDir, `chain-${spec.name}.log`),
    readyProbe: async () => Number(await rpc<string>(rpcUrl, "eth_chainId")) === spec.chainId,
    readyTimeoutMs: 120_000,
  });
  return { ...spec, port, rpcUrl, process: child };
}
