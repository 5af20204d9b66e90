/**
 * The kit's chains: viem clients over a Hardhat connection's EIP-1193 provider (so viem and ethers
 * projects alike need no extra plugin), and the transactions the kit sends on them.
 */
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  custom,
  defineChain,
  getAddress,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TestClient,
  type Transport,
  type WalletClient,
} from "viem";
import { targetGatewayAbi } from "@mpc-relay/sdk";

type Wallet = WalletClient<Transport, Chain | undefined, Account>;

/** What the kit needs of each chain: a reader, a funded account that deploys and submits, and time travel. */
export interface KitChainClients<C = undefined> {
  publicClient: PublicClient;
  walletClient: Wallet;
  testClient: TestClient;
  /** The Hardhat network connection the chain runs in (fromHardhat, fromForks): its `viem`, `ethers`, `networkHelpers`, ... */
  connection: C;
}

/** A chain handed to `deploy`: its clients, and its connection if it has one. */
export type KitChainInput<C = undefined> = Omit<KitChainClients<C>, "connection"> & { connection?: C };

/** Thrown for a message id no kit chain's source gateway sent, or one already delivered. */
export class TestKitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TestKitError";
  }
}

/** A Hardhat 3 network connection, as far as the kit uses it: its EIP-1193 provider (no viem or ethers plugin needed). */
export interface HardhatConnection {
  provider: { request(args: { method: string; params?: unknown[] | object }): Promise<unknown> };
}

/** Hardhat 3's network manager (`import { network } from "hardhat"`), as far as the kit uses it. */
export interface HardhatNetworkManager<C extends HardhatConnection> {
  create(params: { override: { chainId: number; forking?: { url: string; blockNumber?: bigint } } }): Promise<C>;
}

/** viem clients over a connection's provider, sending from its first account. */
export async function clientsOf<C extends HardhatConnection>(connection: C, what: string): Promise<KitChainClients<C>> {
  const transport = custom(connection.provider);
  const chainId = Number(await connection.provider.request({ method: "eth_chainId" }));
  const chain = defineChain({ id: chainId, name: `kit chain ${chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [] } } });
  const [account] = (await connection.provider.request({ method: "eth_accounts" })) as Address[];
  if (account === undefined) throw new TestKitError(`${what} has no funded account`);
  return {
    publicClient: createPublicClient({ chain, transport }),
    walletClient: createWalletClient({ account, chain, transport }),
    testClient: createTestClient({ chain, mode: "hardhat", transport }),
    connection,
  };
}

export async function mined(chain: KitChainInput<unknown>, hash: Hex) {
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new TestKitError(`transaction ${hash} reverted`);
  return receipt;
}

export async function deployed(chain: KitChainInput<unknown>, hash: Hex): Promise<Address> {
  const receipt = await mined(chain, hash);
  if (receipt.contractAddress == null) throw new TestKitError(`deployment ${hash} created no contract`);
  return getAddress(receipt.contractAddress);
}

/** Makes `relay` the target's relay on a fork, as its owner (impersonated, funded for gas) would. */
export async function installRelay(chain: KitChainInput<unknown>, target: Address, relay: Address): Promise<void> {
  const owner = await chain.publicClient.readContract({ address: target, abi: targetGatewayAbi, functionName: "owner" });
  await chain.testClient.impersonateAccount({ address: owner });
  await chain.testClient.setBalance({ address: owner, value: 10n ** 18n });
  try {
    const hash = await chain.walletClient.writeContract({ address: target, abi: targetGatewayAbi, functionName: "setRelay", args: [relay], account: owner, chain: chain.walletClient.chain });
    await mined(chain, hash);
  } finally {
    await chain.testClient.stopImpersonatingAccount({ address: owner });
  }
}
