/**
 * ethers v6 in, the SDK's viem clients out: a dapp on ethers hands MpcRelayClient its Provider and
 * Signer as they are. Reads and JSON-RPC signers (a browser wallet, a node's unlocked account) go
 * through the provider's own `send`; a local ethers Wallet signs through ethers itself, so its key
 * never leaves it.
 *
 *   const relay = new MpcRelayClient({ source: { ...(await fromEthers(signer)), gateway }, ... });
 *
 * Only ethers' types are imported: the SDK does not load ethers, the caller's copy does the work.
 */
import type { Provider, Signer, TypedDataDomain, TypedDataField } from "ethers";
import {
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  getAddress,
  type Account,
  type Chain,
  type CustomTransport,
  type Hex,
  type PublicClient,
  type TransactionSerializable,
  type WalletClient,
} from "viem";
import { toAccount } from "viem/accounts";
import { MpcRelayError } from "./errors.ts";

/** A provider that forwards JSON-RPC calls: ethers' JsonRpcProvider, BrowserProvider, Hardhat's provider. */
interface JsonRpcForwarder {
  send(method: string, params: unknown[]): Promise<unknown>;
}

function forwarder(provider: Provider | null | undefined): JsonRpcForwarder {
  const candidate = provider as unknown as Partial<JsonRpcForwarder> | null | undefined;
  if (typeof candidate?.send !== "function") throw new MpcRelayError("the ethers provider cannot forward JSON-RPC calls (it has no send()): use a JsonRpcProvider or BrowserProvider");
  return candidate as JsonRpcForwarder;
}

/** A viem transport over an ethers provider's JSON-RPC connection. */
export function ethersTransport(provider: Provider): CustomTransport {
  const rpc = forwarder(provider);
  return custom({ request: ({ method, params }: { method: string; params?: unknown }) => rpc.send(method, (params as unknown[] | undefined) ?? []) });
}

/** Whether the signer holds its key here (ethers Wallet: signs locally) rather than behind JSON-RPC. */
function signsLocally(signer: Signer): boolean {
  const s = signer as Signer & { signingKey?: unknown };
  return s.signingKey !== undefined && typeof s.signTransaction === "function";
}

/** A viem account that asks the ethers Wallet to sign: messages, typed data and transactions. */
function localAccount(signer: Signer, address: Hex): Account {
  return toAccount({
    address,
    signMessage: async ({ message }) => (await signer.signMessage(typeof message === "string" ? message : (message.raw as Uint8Array | string))) as Hex,
    signTypedData: async (typedData) => {
      const { domain, types, message } = typedData as { domain: TypedDataDomain; types: Record<string, TypedDataField[]>; message: Record<string, unknown> };
      // ethers derives EIP712Domain from the domain itself and refuses it among the types.
      const { EIP712Domain: _domain, ...fields } = types;
      return (await signer.signTypedData(domain, fields, message)) as Hex;
    },
    signTransaction: async (transaction) => {
      // viem has filled in every field; ethers signs them as they are.
      const tx = transaction as TransactionSerializable;
      return (await signer.signTransaction({
        type: tx.type === "legacy" ? 0 : tx.type === "eip2930" ? 1 : 2,
        to: tx.to ?? null,
        data: tx.data,
        value: tx.value,
        nonce: tx.nonce,
        gasLimit: tx.gas,
        gasPrice: tx.gasPrice,
        maxFeePerGas: tx.maxFeePerGas,
        maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
        chainId: tx.chainId,
        accessList: tx.accessList as never,
      })) as Hex;
    },
  });
}

/**
 * viem clients for an ethers Signer (or a bare Provider, which gives a reader only), on the signer's own
 * provider: `{ publicClient, walletClient }` as MpcRelayClient's source and destinations take them.
 */
export async function fromEthers(runner: Signer | Provider): Promise<{ publicClient: PublicClient; walletClient?: WalletClient<CustomTransport, Chain | undefined, Account> }> {
  const signer = "getAddress" in runner && typeof runner.getAddress === "function" ? (runner as Signer) : null;
  const provider = signer === null ? (runner as Provider) : signer.provider;
  if (provider === null || provider === undefined) throw new MpcRelayError("the ethers signer is not connected to a provider: signer.connect(provider) first");
  const transport = ethersTransport(provider);
  // viem signs and sends for a known chain: the one the provider is on.
  const { chainId } = await provider.getNetwork();
  const chain = defineChain({ id: Number(chainId), name: `chain ${chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [] } } });
  const publicClient = createPublicClient({ chain, transport }) as PublicClient;
  if (signer === null) return { publicClient };
  const address = getAddress(await signer.getAddress());
  const account = signsLocally(signer) ? localAccount(signer, address) : toJsonRpcAccount(address);
  return { publicClient, walletClient: createWalletClient({ account, chain, transport }) };
}

/** A JSON-RPC account: the provider's node or wallet signs (eth_sendTransaction, eth_signTypedData_v4). */
function toJsonRpcAccount(address: Hex): Account {
  return { address, type: "json-rpc" };
}
