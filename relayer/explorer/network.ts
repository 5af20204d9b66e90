/**
 * The network page's chain facts, read by the explorer itself: each TargetGateway's relay address and
 * rotation state, and (when given a RelayStaking contract) the serving committee, its members' stakes
 * and every slash. Each part that cannot be read becomes a line of `errors`, not a failed page.
 */
import { getAddress, type Address, type PublicClient } from "viem";
import { refusesRange, relayStakingAbi, scanLogs, targetGatewayAbi } from "@mpc-relay/sdk";
import { readCommittee } from "../staking/directory.ts";
import type { GatewayView, StakingView } from "./api-types.ts";

export interface ExplorerChain {
  chainId: number;
  name: string;
  client: PublicClient;
  targetGateway: Address;
  maxBlockRange: number;
}

export interface StakingSource {
  chain: ExplorerChain;
  contract: Address;
  /** The contract's deployment block: slashes are searched from here. */
  fromBlock: bigint;
}

const ZERO = "0x0000000000000000000000000000000000000000";
/** eth_getLogs calls one read of the slashes makes at most: a long history is caught up over several reads. */
const MAX_LOG_CALLS = 50;

export async function readGateway(chain: ExplorerChain): Promise<GatewayView> {
  const read = <T>(functionName: "relay" | "previousRelay" | "lastRotationAt" | "paused"): Promise<T> =>
    chain.client.readContract({ address: chain.targetGateway, abi: targetGatewayAbi, functionName }) as Promise<T>;
  try {
    const [relay, [previous, expiresAt], lastRotationAt, paused, block] = await Promise.all([
      read<Address>("relay"),
      read<readonly [Address, bigint]>("previousRelay"),
      read<bigint>("lastRotationAt"),
      read<boolean>("paused"),
      chain.client.getBlock({ blockTag: "latest" }),
    ]);
    // The old relay still signs until expiresAt, by the chain's clock.
    const rotating = previous !== ZERO && expiresAt > block.timestamp;
    return {
      chainId: chain.chainId,
      name: chain.name,
      targetGateway: chain.targetGateway,
      relay: relay === ZERO ? null : getAddress(relay),
      previousRelay: previous === ZERO ? null : { address: getAddress(previous), expiresAt: Number(expiresAt) },
      lastRotationAt: lastRotationAt === 0n ? null : Number(lastRotationAt),
      rotation: rotating ? "rotating" : "stable",
      paused,
      error: null,
    };
  } catch (error) {
    return {
      chainId: chain.chainId,
      name: chain.name,
      targetGateway: chain.targetGateway,
      relay: null,
      previousRelay: null,
      lastRotationAt: null,
      rotation: "stable",
      paused: null,
      error: oneLine(error),
    };
  }
}

/** Reads the staking contract; `slashes` carries the slashes found so far, so each read scans only new blocks. */
export async function readStaking(source: StakingSource, slashes: SlashIndex = new SlashIndex(source)): Promise<StakingView> {
  const { client, chainId } = source.chain;
  const address = source.contract;
  const [activeEpoch, latestEpoch] = await Promise.all([
    client.readContract({ address, abi: relayStakingAbi, functionName: "activeEpoch" }),
    client.readContract({ address, abi: relayStakingAbi, functionName: "latestEpoch" }),
  ]);
  const epoch = activeEpoch === 0n ? latestEpoch : activeEpoch;
  const committee = await readCommittee(client, address, epoch, {}, chainId);
  const members = await Promise.all(
    committee.members.map(async (m) => {
      const node = await client.readContract({ address, abi: relayStakingAbi, functionName: "getNode", args: [m.operator] });
      return { operator: m.operator, index: m.index, peerId: m.peerId, stake: node.stake.toString(), unbonding: node.unbonding.toString(), removed: m.removed, identityVerified: m.identityVerified };
    }),
  );
  return {
    chainId,
    contract: address,
    activeEpoch: activeEpoch.toString(),
    latestEpoch: latestEpoch.toString(),
    threshold: committee.threshold,
    relay: committee.relay,
    startBlock: committee.startBlock.toString(),
    endBlock: committee.endBlock.toString(),
    members,
    ...(await slashes.read()),
  };
}

type SlashKind = StakingView["slashes"][number]["kind"];
type SlashesRead = Pick<StakingView, "slashes" | "slashesThrough" | "slashesComplete">;
const KIND_OF_EVENT: Record<string, SlashKind> = { AbsenceSlashed: "absence", NodeRemoved: "removal", ForgeryProven: "forgery", ConflictingRotationsProven: "forgery" };

/**
 * Every Slashed event, each named by the court event of its transaction (absence, removal, forgery),
 * kept between reads: a read scans only the blocks after the last one it scanned, so a page polling
 * every few seconds costs one eth_getLogs call, not a scan from the contract's deployment.
 */
export class SlashIndex {
  private readonly found: StakingView["slashes"] = [];
  private nextBlock: bigint;
  private readonly span: { value: number };
  private reading: Promise<SlashesRead> | null = null;

  constructor(private readonly source: StakingSource) {
    this.nextBlock = source.fromBlock;
    this.span = { value: source.chain.maxBlockRange };
  }

  /** Concurrent reads share one scan. */
  read(): Promise<SlashesRead> {
    this.reading ??= this.scan().finally(() => (this.reading = null));
    return this.reading;
  }

  private async scan(): Promise<SlashesRead> {
    const { client } = this.source.chain;
    const contract = this.source.contract;
    const head = await client.getBlockNumber();
    if (head < this.nextBlock) return this.result(head);
    // Within what MAX_LOG_CALLS calls of the current span cover, so each read ends having moved on.
    const to = BigInt(Math.min(Number(head), Number(this.nextBlock) + MAX_LOG_CALLS * this.span.value - 1));
    const logs = await scanLogs({
      from: Number(this.nextBlock),
      to: Number(to),
      span: this.span,
      maxCalls: MAX_LOG_CALLS,
      splits: refusesRange,
      fail: (message) => new Error(`searching slashes of ${contract}: ${message}`),
      getLogs: (from, to) => client.getContractEvents({ address: contract, abi: relayStakingAbi, fromBlock: BigInt(from), toBlock: BigInt(to), strict: false }),
    });
    const kindOfTx = new Map<string, SlashKind>();
    for (const log of logs) {
      const kind = KIND_OF_EVENT[log.eventName];
      if (kind !== undefined && log.transactionHash !== null) kindOfTx.set(log.transactionHash, kind);
    }
    for (const log of logs) {
      if (log.eventName !== "Slashed" || log.transactionHash === null) continue;
      const args = log.args as { operator?: Address; amount?: bigint };
      this.found.push({
        operator: args.operator === undefined ? "?" : getAddress(args.operator),
        amount: (args.amount ?? 0n).toString(),
        kind: kindOfTx.get(log.transactionHash) ?? "other",
        txHash: log.transactionHash,
        blockNumber: (log.blockNumber ?? 0n).toString(),
      });
    }
    // Only after the whole range was read: a failed scan is retried from the same block.
    this.nextBlock = to + 1n;
    return this.result(head);
  }

  private result(head: bigint): SlashesRead {
    return { slashes: [...this.found], slashesThrough: (this.nextBlock - 1n).toString(), slashesComplete: this.nextBlock > head };
  }
}

export function oneLine(error: unknown): string {
  const text = error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error);
  return text.split("\n")[0]!.slice(0, 300);
}
