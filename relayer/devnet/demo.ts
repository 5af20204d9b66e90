/**
 * The devnet's demo: a PingPong ping from chain a to chain b, whose delivery
 * makes PingPong on b send a pong back to a: one message each way, both
 * followed from the sending transaction to the delivering one.
 */
import { parseEventLogs, type Hex } from "viem";
import { pingPongAbi } from "@mpc-relay/sdk";
import type { Devnet, DevnetChain } from "./devnet.ts";
import { failedMessages, waitForAll } from "./traffic.ts";

export interface Delivery {
  txHash: Hex;
  blockNumber: bigint;
  /** MessageFailed events seen for the message before it was delivered (receiver reverted, later retried). */
  failures: number;
}

/**
 * Waits until `dst`'s TargetGateway emits MessageDelivered for `messageId`
 * (read from the chain itself, not from the relayer's word).
 */
export async function waitForDelivery(dst: DevnetChain, messageId: Hex, timeoutMs = 60_000): Promise<Delivery> {
  const { record } = (await waitForAll(dst, [messageId], timeoutMs)).get(messageId)!;
  const failures = (await failedMessages(dst)).filter((f) => f.messageId === messageId).length;
  return { txHash: record.txHash, blockNumber: record.blockNumber, failures };
}

export interface SentPing {
  messageId: Hex;
  txHash: Hex;
  blockNumber: bigint;
  /** When the sending transaction's receipt was seen. */
  minedAt: number;
}

/** The demo user pings PingPong on `dst` from PingPong on `src`, paying the quoted fee. */
export async function sendPing(src: DevnetChain, dst: DevnetChain): Promise<SentPing> {
  const pingPong = src.deployment.contracts.PingPong;
  const fee = await src.publicClient.readContract({ address: pingPong, abi: pingPongAbi, functionName: "quotePing", args: [BigInt(dst.chainId)] });
  const txHash = await src.userWallet.writeContract({ address: pingPong, abi: pingPongAbi, functionName: "ping", args: [BigInt(dst.chainId)], value: fee });
  const receipt = await src.publicClient.waitForTransactionReceipt({ hash: txHash, pollingInterval: 50 });
  const minedAt = Date.now();
  if (receipt.status !== "success") throw new Error(`ping on chain ${src.name} reverted (${txHash})`);
  const [sent] = parseEventLogs({ abi: pingPongAbi, eventName: "PingSent", logs: receipt.logs });
  if (sent === undefined) throw new Error(`ping transaction ${txHash} emitted no PingSent`);
  return { messageId: sent.args.messageId, txHash, blockNumber: receipt.blockNumber, minedAt };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
/** The relayer's record of a delivered message as one line: each state with its time after the first. */
async function relayerTrail(devnet: Devnet, messageId: Hex): Promise<string> {
  // The relayer records the delivery once it has the receipt, which may be a moment after the chain shows it.
  let status = await devnet.relayerStatus(messageId);
  for (let waited = 0; status?.state !== "delivered" && waited < 5_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    status = await devnet.relayerStatus(messageId);
  }
  if (status === null) return "relayer has no record";
  const start = status.history[0]?.at ?? 0;
  return "relayer: " + status.history.map((h) => `${h.state} +${seconds(h.at - start)}${h.state === "attested" && h.detail !== undefined ? ` (${h.detail})` : ""}`).join(" -> ");
}

const retried = (delivery: Delivery): string => (delivery.failures > 0 ? `, after ${delivery.failures} failed execution(s)` : "");

/** Ping a -> b, pong b -> a; reports every step with its transaction hash. */
export async function runDemo(devnet: Devnet, report: (line: string) => void): Promise<void> {
  const [a, b] = devnet.chains;
  if (a === undefined || b === undefined) throw new Error("the demo needs two chains");
  report(`demo: PingPong on chain ${a.name} pings PingPong on chain ${b.name}; the ping's delivery sends a pong back`);
  const ping = await sendPing(a, b);
  report(`  ${a.name} -> ${b.name}  ping message ${ping.messageId}`);
  report(`      sent       tx ${ping.txHash} (block ${ping.blockNumber})`);
  const pingDelivery = await waitForDelivery(b, ping.messageId);
  report(`      delivered  tx ${pingDelivery.txHash} (chain ${b.name} block ${pingDelivery.blockNumber}) ${seconds(Date.now() - ping.minedAt)} after it was mined${retried(pingDelivery)}`);

  report(`      ${await relayerTrail(devnet, ping.messageId)}`);

  const receipt = await b.publicClient.getTransactionReceipt({ hash: pingDelivery.txHash });
  const [received] = parseEventLogs({ abi: pingPongAbi, eventName: "PingReceived", logs: receipt.logs });
  if (received === undefined) throw new Error(`the ping's delivery ${pingDelivery.txHash} did not reach PingPong`);
  const pongSentAt = Date.now();
  report(`  ${b.name} -> ${a.name}  pong message ${received.args.pongMessageId}`);
  report(`      sent       tx ${pingDelivery.txHash} (by PingPong on ${b.name}, inside the ping's delivery)`);
  const pongDelivery = await waitForDelivery(a, received.args.pongMessageId);
  report(`      delivered  tx ${pongDelivery.txHash} (chain ${a.name} block ${pongDelivery.blockNumber}) ${seconds(Date.now() - pongSentAt)} later${retried(pongDelivery)}`);

  report(`      ${await relayerTrail(devnet, received.args.pongMessageId)}`);

  const pongs = await a.publicClient.readContract({ address: a.deployment.contracts.PingPong, abi: pingPongAbi, functionName: "pongsReceived" });
  report(`demo done: PingPong on ${a.name} has received ${pongs} pong(s); both messages were signed by the ${devnet.options.threshold}-of-${devnet.options.nodes} relay key ${devnet.relayAddress}`);
}
