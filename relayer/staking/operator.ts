/**
 * The operator account (the EVM key a node signs staking transactions and
 * proposals with), the proof that a node's libp2p identity belongs to its
 * registration, and the cluster-key step of an epoch.
 *
 * The key never sits in a committed file: the node config names a key file
 * (one 0x-prefixed hex private key, readable by the owner only) or an
 * environment variable holding it.
 */
import { readSecret } from "../shared/secrets.ts";
import { peerIdFromString } from "@libp2p/peer-id";
import type { PrivateKey } from "@libp2p/interface";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, encodePacked, getAddress, hexToBytes, keccak256, type Address, type Chain, type Hex, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { relayStakingAbi } from "@mpc-relay/sdk";
import { confirmSuccess } from "../shared/transactions.ts";

export interface OperatorKeySource {
  /** Path of a file holding the hex private key. */
  keyFile?: string | undefined;
  /** Name of an environment variable holding the hex private key. */
  keyEnv?: string | undefined;
}

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

export async function loadOperatorAccount(source: OperatorKeySource, env: NodeJS.ProcessEnv = process.env): Promise<PrivateKeyAccount> {
  return privateKeyToAccount(await loadOperatorKey(source, env));
}

/** The operator's private key (for the libsecp256k1 signer of protocol messages, message-signer.ts). */
export async function loadOperatorKey(source: OperatorKeySource, env: NodeJS.ProcessEnv = process.env): Promise<Hex> {
  const text = await readSecret({ file: source.keyFile, env: source.keyEnv }, "operator key", env);
  if (!PRIVATE_KEY.test(text)) throw new Error("the operator key must be a 0x-prefixed 32-byte hex private key");
  return text as Hex;
}

/** The 64-byte x||y form RelayStaking.submitClusterKey takes, from a compressed or uncompressed public key. */
export function clusterKeyBytes(publicKey: string): Hex {
  const hex = publicKey.startsWith("0x") ? publicKey.slice(2) : publicKey;
  const point = secp256k1.Point.fromHex(hex);
  return bytesToHex(point.toBytes(false).subarray(1));
}

/** The EVM address of a cluster key, as the contract derives it. */
export function clusterKeyAddress(publicKey: string): Address {
  return getAddress(`0x${keccak256(clusterKeyBytes(publicKey)).slice(-40)}`);
}

/**
 * What a node's libp2p key signs so that its registration under `operator` proves it holds that identity
 * (RelayStaking.identityClaim: a tag, the chain, the contract and the operator). Nobody else can produce it,
 * so registering someone else's peer id gains nothing: governance and every node's directory check it.
 */
export function identityClaim(chainId: number | bigint, staking: Address, operator: Address): Hex {
  return encodePacked(["string", "uint256", "address", "address"], ["mpc-relay/operator-identity/v1", BigInt(chainId), staking, operator]);
}

/** The identity proof for a registration: the node's libp2p key's signature of identityClaim. */
export async function signIdentityClaim(identityKey: PrivateKey, claim: Hex): Promise<Hex> {
  return bytesToHex(await identityKey.sign(hexToBytes(claim)));
}

/** True when `proof` is the signature of `claim` by the key behind `peerId` (false for anything malformed). */
export async function verifyIdentityProof(peerId: string, claim: Hex, proof: Hex): Promise<boolean> {
  try {
    const key = peerIdFromString(peerId).publicKey;
    return key !== undefined && (await key.verify(hexToBytes(claim), hexToBytes(proof)));
  } catch {
    return false;
  }
}

export interface ClusterKeyStatus {
  /** The relay this operator submitted for the epoch, if any. */
  submitted: Address | null;
  /** The epoch's confirmed relay (every member submitted the same key), if any. */
  confirmed: Address | null;
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

export async function clusterKeyStatus(client: PublicClient, staking: Address, epoch: bigint, operator: Address): Promise<ClusterKeyStatus> {
  const [submitted, confirmed] = await Promise.all([
    client.readContract({ address: staking, abi: relayStakingAbi, functionName: "submittedRelay", args: [epoch, operator] }),
    client.readContract({ address: staking, abi: relayStakingAbi, functionName: "relayAddress", args: [epoch] }),
  ]);
  return {
    submitted: submitted === ZERO_ADDRESS ? null : getAddress(submitted),
    confirmed: confirmed === ZERO_ADDRESS ? null : getAddress(confirmed),
  };
}

/**
 * Submits this operator's cluster key for `epoch` unless it already did (same key);
 * returns the key's relay address and the transaction hash (null when nothing was sent).
 */
export async function submitClusterKey(p: {
  client: PublicClient;
  wallet: WalletClient;
  account: PrivateKeyAccount;
  chain: Chain | null;
  staking: Address;
  epoch: bigint;
  publicKey: string;
}): Promise<{ relay: Address; txHash: Hex | null }> {
  const relay = clusterKeyAddress(p.publicKey);
  const status = await clusterKeyStatus(p.client, p.staking, p.epoch, p.account.address);
  if (status.submitted === relay) return { relay, txHash: null };
  const txHash = await p.wallet.writeContract({
    address: p.staking,
    abi: relayStakingAbi,
    functionName: "submitClusterKey",
    args: [p.epoch, clusterKeyBytes(p.publicKey)],
    account: p.account,
    chain: p.chain,
  });
  await confirmSuccess(p.client, txHash, `submitClusterKey for epoch ${p.epoch}`);
  return { relay, txHash };
}
