/** Local chains for the devnet: one `hardhat node` process per chain on 127.0.0.1. */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { ManagedProcess, ProcessSupervisor } from "./supervisor.ts";

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

/** Fails with a clear message when something already listens on 127.0.0.1:port. */
export async function assertPortFree(port: number, purpose: string): Promise<void> {
  await new Promise<void>((resolveFree, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE")
        reject(new Error(`port ${port} on 127.0.0.1 (${purpose}) is already in use: stop what runs there or choose another port`));
      else reject(new Error(`cannot use port ${port} on 127.0.0.1 (${purpose}): ${error.message}`));
    });
    server.listen(port, "127.0.0.1", () => server.close(() => resolveFree()));
  });
}

/** Lowest port of the kernel's range for outgoing connections (Linux; 32768 elsewhere). */
function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 20_000) return first;
  } catch {
    // Not Linux: fall through to the common default.
  }
  return 32_768;
}

const PORT_RANGE_START = 20_000;
const handedOut = new Set<number>();

async function canListen(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once("error", () => resolveFree(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolveFree(true)));
  });
}

/**
 * An unused TCP port on 127.0.0.1 for a server that starts a moment later. It is
 * drawn below the ephemeral range: a port the OS picks (listen on 0) can be taken
 * by any outgoing connection before the server binds it, which on a busy machine
 * happens. Ports are not handed out twice by this process.
 */
export async function freePort(): Promise<number> {
  const end = ephemeralRangeStart();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_RANGE_START + Math.floor(Math.random() * (end - PORT_RANGE_START));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found on 127.0.0.1 between ${PORT_RANGE_START} and ${end}`);
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
export async function launchChain(supervisor: ProcessSupervisor, spec: ChainSpec, projectRoot: string, logDir: string): Promise<LocalChain> {
  await assertPortFree(spec.port, `chain ${spec.name} RPC`);
  const rpcUrl = `http://127.0.0.1:${spec.port}`;
  const hardhatCli = join(projectRoot, "node_modules", "hardhat", "dist", "src", "cli.js");
  const child = await supervisor.start({
    name: `chain-${spec.name}`,
    command: process.execPath,
    args: [hardhatCli, "node", "--hostname", "127.0.0.1", "--port", String(spec.port), "--chain-id", String(spec.chainId)],
    cwd: projectRoot,
    logPath: join(logDir, `chain-${spec.name}.log`),
    readyProbe: async () => Number(await rpc<string>(rpcUrl, "eth_chainId")) === spec.chainId,
    readyTimeoutMs: 120_000,
  });
  return { ...spec, rpcUrl, process: child };
}
