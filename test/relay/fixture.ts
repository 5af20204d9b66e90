/**
 * Test chains for the relayer tests: in-process Hardhat networks served over JSON-RPC on 127.0.0.1
 * (so signer-node processes can read them), with the gateways and a probe receiver deployed, plus an
 * RPC proxy that can lie (a "poisoned" endpoint).
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { resolve } from "node:path";
import { network } from "hardhat";
import { createPublicClient, createWalletClient, defineChain, http, parseEther, type Abi, type Address, type Chain, type Hex, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { sourceGatewayAbi, targetGatewayAbi } from "@mpc-relay/sdk";

const ARTIFACTS = resolve(import.meta.dirname, "../../artifacts/contracts");

async function artifact(path: string): Promise<{ abi: Abi; bytecode: Hex }> {
  const json = JSON.parse(await readFile(resolve(ARTIFACTS, path), "utf8")) as { abi: Abi; bytecode: Hex };
  return { abi: json.abi, bytecode: json.bytecode };
}

export const FEE = { baseFee: 10n ** 12n, gasPrice: 10n ** 6n, byteFee: 10n ** 9n, maxGasLimit: 2_000_000 };

export interface TestChain {
  chainId: number;
  rpcUrl: string;
  chain: Chain;
  publicClient: PublicClient;
  wallet: WalletClient;
  deployer: Address;
  source: Address;
  target: Address;
  probe: Address;
  deployBlock: number;
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  mine(blocks?: number): Promise<void>;
  fund(address: Address, ether?: string): Promise<void>;
  close(): Promise<void>;
}

/** `deployerKey` fixes the deployer, and so the contracts' addresses (source gateway, target gateway, probe: deployer nonces 0, 1, 2). */
export async function startChain(chainId: number, remoteChainId: number, initialRelay: Address, deployerKey: Hex = generatePrivateKey()): Promise<TestChain> {
  const server = await network.createServer({ override: { chainId } }, "127.0.0.1", 0);
  const { address, port } = await server.listen();
  const rpcUrl = `http://${address}:${port}`;
  const chain = defineChain({ id: chainId, name: `test-${chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 50 }) as PublicClient;
  const account = privateKeyToAccount(deployerKey);
  const rpc = (method: string, params: unknown[] = []): Promise<unknown> => publicClient.request({ method: method as never, params: params as never });
  await rpc("hardhat_setBalance", [account.address, `0x${parseEther("1000").toString(16)}`]);
  const wallet = createWalletClient({ chain, account, transport: http(rpcUrl) });

  const deploy = async (path: string, args: unknown[]): Promise<Address> => {
    const { abi, bytecode } = await artifact(path);
    const hash = await wallet.deployContract({ abi, bytecode, args, account, chain });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    return receipt.contractAddress!;
  };
  const deployBlock = Number(await publicClient.getBlockNumber());
  const source = await deploy("gateway/SourceGateway.sol/SourceGateway.json", [account.address, account.address, 4096]);
  const target = await deploy("gateway/TargetGateway.sol/TargetGateway.json", [account.address, initialRelay, 0n, 0n]);
  const probe = await deploy("examples/testing/ProbeReceiver.sol/ProbeReceiver.json", [target]);
  const hash = await wallet.writeContract({ address: source, abi: sourceGatewayAbi, functionName: "setDestination", args: [BigInt(remoteChainId), FEE], account, chain });
  await publicClient.waitForTransactionReceipt({ hash });

  return {
    chainId,
    rpcUrl,
    chain,
    publicClient,
    wallet,
    deployer: account.address,
    source,
    target,
    probe,
    deployBlock,
    rpc,
    async mine(blocks = 1) {
      await rpc("hardhat_mine", [`0x${blocks.toString(16)}`]);
    },
    async fund(to, ether = "100") {
      await rpc("hardhat_setBalance", [to, `0x${parseEther(ether).toString(16)}`]);
    },
    close: () => server.close(),
  };
}

export async function setRelay(chain: TestChain, relay: Address): Promise<void> {
  const hash = await chain.wallet.writeContract({ address: chain.target, abi: targetGatewayAbi, functionName: "setRelay", args: [relay], account: chain.wallet.account!, chain: chain.chain });
  await chain.publicClient.waitForTransactionReceipt({ hash });
}

export const probeAbi = [
  { type: "function", name: "setMode", stateMutability: "nonpayable", inputs: [{ name: "newMode", type: "uint8" }], outputs: [] },
  { type: "function", name: "received", stateMutability: "view", inputs: [], outputs: [{ type: "uint256" }] },
] as const;

export async function setProbeMode(chain: TestChain, mode: 0 | 1 | 2): Promise<void> {
  const hash = await chain.wallet.writeContract({ address: chain.probe, abi: probeAbi, functionName: "setMode", args: [mode], account: chain.wallet.account!, chain: chain.chain });
  await chain.publicClient.waitForTransactionReceipt({ hash });
}

export async function probeReceived(chain: TestChain): Promise<bigint> {
  return chain.publicClient.readContract({ address: chain.probe, abi: probeAbi, functionName: "received" });
}

/**
 * A JSON-RPC proxy in front of `upstream`; `rewrite` may replace the result of any call (a lying
 * endpoint). Without it the proxy is an honest second endpoint.
 */
export async function startRpcProxy(upstream: string, rewrite?: (method: string, params: unknown[], result: unknown) => unknown): Promise<{ url: string; close(): Promise<void> }> {
  const forward = async (request: { id: unknown; method: string; params?: unknown[] }): Promise<unknown> => {
    const response = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
    const body = (await response.json()) as { result?: unknown; error?: unknown };
    if (body.error !== undefined || rewrite === undefined) return body;
    return { ...body, result: rewrite(request.method, request.params ?? [], body.result) };
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: unknown; method: string; params?: unknown[] } | { id: unknown; method: string; params?: unknown[] }[];
      const work = Array.isArray(parsed) ? Promise.all(parsed.map(forward)) : forward(parsed);
      work.then(
        (body) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(body));
        },
        (error: unknown) => {
          res.writeHead(502);
          res.end(String(error));
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
