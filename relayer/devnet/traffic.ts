/** Message traffic on a running devnet, for the end-to-end tests and bench/e2e.ts. */
import { confirmSuccess } from "../shared/transactions.ts";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { getAddress, parseEventLogs, type Abi, type Address, type Hex } from "viem";
import { sourceGatewayAbi, targetGatewayAbi } from "@mpc-relay/sdk";
import type { DevnetChain } from "./devnet.ts";
import { projectRoot } from "../shared/project.ts";

/** A receiver that records deliveries and can be told to revert (contracts/examples/testing/ProbeReceiver.sol). */
export const probeReceiverAbi = [
  { type: "function", name: "setMode", stateMutability: "nonpayable", inputs: [{ name: "newMode", type: "uint8" }], outputs: [] },
  { type: "function", name: "received", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "uint256" }] },
] as const;

export const ProbeMode = { Accept: 0, Revert: 1, BurnGas: 2, CountOnly: 3, RevertWithText: 4 } as const;

/** Deploys a ProbeReceiver bound to `chain`'s TargetGateway, from the Hardhat artifact. */
export async function deployProbeReceiver(chain: DevnetChain): Promise<Address> {
  const file = join(projectRoot, "artifacts", "contracts", "examples", "testing", "ProbeReceiver.sol", "ProbeReceiver.json");
  const artifact = JSON.parse(await readFile(file, "utf8")) as { abi: Abi; bytecode: Hex };
  const hash = await chain.ownerWallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args: [chain.deployment.contracts.TargetGateway] });
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status !== "success" || receipt.contractAddress == null) throw new Error(`deploying ProbeReceiver on chain ${chain.name} failed (${hash})`);
  return getAddress(receipt.contractAddress);
}

export async function setProbeMode(chain: DevnetChain, probe: Address, mode: number): Promise<void> {
  const hash = await chain.ownerWallet.writeContract({ address: probe, abi: probeReceiverAbi, functionName: "setMode", args: [mode] });
  await confirmSuccess(chain.publicClient, hash, `setMode on ${probe}`, 50);
}

export interface SentMessage {
  messageId: Hex;
  txHash: Hex;
  blockNumber: bigint;
  /** When the sending transaction was seen mined (ms since the epoch). */
  minedAt: number;
}

/**
 * The demo user sends `count` messages src -> dst to `receiver`, all submitted
 * at once with consecutive nonces, then waits for their receipts.
 */
export async function sendMessages(src: DevnetChain, dst: DevnetChain, receiver: Address, count: number, gasLimit = 100_000n): Promise<SentMessage[]> {
  const gateway = src.deployment.contracts.SourceGateway;
  const account = src.userWallet.account.address;
  const payloads = Array.from({ length: count }, (_, i) => `0x${Date.now().toString(16).padStart(16, "0")}${i.toString(16).padStart(8, "0")}` as Hex);
  const fee = await src.publicClient.readContract({ address: gateway, abi: sourceGatewayAbi, functionName: "quoteFee", args: [BigInt(dst.chainId), 12n, gasLimit] });
  const firstNonce = await src.publicClient.getTransactionCount({ address: account, blockTag: "pending" });
  // Nonce, gas and fees fixed up front: each transaction is then signed locally and sent in one call.
  const fees = await src.publicClient.estimateFeesPerGas();
  const hashes: Hex[] = [];
  for (const [i, payload] of payloads.entries()) {
    hashes.push(
      await src.userWallet.writeContract({
        address: gateway,
        abi: sourceGatewayAbi,
        functionName: "sendMessage",
        args: [BigInt(dst.chainId), receiver, payload, gasLimit],
        value: fee,
        nonce: firstNonce + i,
        gas: 250_000n,
        maxFeePerGas: fees.maxFeePerGas * 2n,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      }),
    );
  }
  // One nonce poll instead of a receipt poller per transaction: bursts stay cheap for the chain.
  while ((await src.publicClient.getTransactionCount({ address: account, blockTag: "latest" })) < firstNonce + count) await new Promise((r) => setTimeout(r, 25));
  const minedAt = Date.now();
  return Promise.all(
    hashes.map(async (hash) => {
      const receipt = await src.publicClient.getTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`sendMessage on chain ${src.name} reverted (${hash})`);
      const [sent] = parseEventLogs({ abi: sourceGatewayAbi, eventName: "MessageSent", logs: receipt.logs });
      if (sent === undefined) throw new Error(`transaction ${hash} emitted no MessageSent`);
      return { messageId: sent.args.messageId, txHash: hash, blockNumber: receipt.blockNumber, minedAt };
    }),
  );
}

export interface DeliveryRecord {
  messageId: Hex;
  txHash: Hex;
  blockNumber: bigint;
}

/** Every MessageDelivered event of `dst`'s TargetGateway since its deployment. */
export async function deliveredMessages(dst: DevnetChain): Promise<DeliveryRecord[]> {
  const events = await dst.publicClient.getContractEvents({
    address: dst.deployment.contracts.TargetGateway,
    abi: targetGatewayAbi,
    eventName: "MessageDelivered",
    fromBlock: BigInt(dst.deployment.deployBlock),
  });
  return events.map((e) => ({ messageId: e.args.messageId!, txHash: e.transactionHash, blockNumber: e.blockNumber }));
}

/** Every MessageFailed event of `dst`'s TargetGateway since its deployment. */
export async function failedMessages(dst: DevnetChain): Promise<{ messageId: Hex; txHash: Hex }[]> {
  const events = await dst.publicClient.getContractEvents({
    address: dst.deployment.contracts.TargetGateway,
    abi: targetGatewayAbi,
    eventName: "MessageFailed",
    fromBlock: BigInt(dst.deployment.deployBlock),
  });
  return events.map((e) => ({ messageId: e.args.messageId!, txHash: e.transactionHash }));
}

/** Polls `dst` until every id in `ids` has been delivered; returns when each delivery was first seen. */
export async function waitForAll(dst: DevnetChain, ids: readonly Hex[], timeoutMs: number, pollMs = 100): Promise<Map<Hex, { seenAt: number; record: DeliveryRecord }>> {
  const pending = new Set(ids);
  const seen = new Map<Hex, { seenAt: number; record: DeliveryRecord }>();
  const deadline = Date.now() + timeoutMs;
  let fromBlock = BigInt(dst.deployment.deployBlock);
  while (pending.size > 0) {
    const latest = await dst.publicClient.getBlockNumber({ cacheTime: 0 });
    const events =
      latest < fromBlock
        ? []
        : await dst.publicClient.getContractEvents({
            address: dst.deployment.contracts.TargetGateway,
            abi: targetGatewayAbi,
            eventName: "MessageDelivered",
            fromBlock,
            toBlock: latest,
          });
    const now = Date.now();
    for (const e of events) {
      const id = e.args.messageId!;
      if (pending.delete(id)) seen.set(id, { seenAt: now, record: { messageId: id, txHash: e.transactionHash, blockNumber: e.blockNumber } });
    }
    if (latest >= fromBlock) fromBlock = latest + 1n;
    if (pending.size === 0) break;
    if (now > deadline) throw new Error(`${pending.size} of ${ids.length} messages not delivered on chain ${dst.name} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return seen;
}
