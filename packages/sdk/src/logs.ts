/**
 * The SDK's log look-ups, made for public RPCs: bounded eth_getLogs ranges (split further when the
 * provider refuses one, log-ranges.ts), from a starting block (the gateways' deployment
 * block), newest first for a look-up by id so a recent message costs one or two calls.
 */
import { formatLog, numberToHex, type Address, type Hex, type Log, type PublicClient, type RpcLog } from "viem";
import { refusesRange, scanLogs, type BlockSpan } from "./log-ranges.ts";
import { LogScanError } from "./errors.ts";

export const DEFAULT_MAX_BLOCK_RANGE = 10_000;
/** eth_getLogs calls one look-up may make: 2,000 x 10k blocks covers 20M blocks (Ethereum mainnet). */
export const DEFAULT_MAX_LOG_CALLS = 2_000;

export interface LogScanOptions {
  /** First block to search (the gateway's deployment block); default 0. */
  fromBlock?: bigint;
  /** Largest range asked for in one eth_getLogs call; default 10,000 blocks. */
  maxBlockRange?: number;
  /** eth_getLogs calls one look-up may make, splits included; default 2,000. */
  maxLogCalls?: number;
}

export class LogScanner {
  readonly fromBlock: bigint;
  /** Learnt across look-ups: once a provider refused a range, later scans ask for the smaller one. */
  private readonly span: BlockSpan;
  private readonly maxCalls: number;

  constructor(
    private readonly client: PublicClient,
    options: LogScanOptions = {},
  ) {
    this.fromBlock = options.fromBlock ?? 0n;
    this.span = { value: options.maxBlockRange ?? DEFAULT_MAX_BLOCK_RANGE };
    this.maxCalls = options.maxLogCalls ?? DEFAULT_MAX_LOG_CALLS;
  }

  /**
   * The newest logs of `address` matching `topics` (topic0 may list several events), searching
   * from the head down to fromBlock and stopping at the first range with a match. Also returns
   * the head it searched from.
   */
  async findNewest(address: Address, topics: readonly (Hex | readonly Hex[] | null)[], toBlock?: bigint): Promise<{ logs: Log[]; head: bigint }> {
    // Not viem's cached block number (kept for a polling interval): a message mined just now must be found.
    const head = toBlock ?? (await this.client.getBlockNumber({ cacheTime: 0 }));
    if (head < this.fromBlock) return { logs: [], head };
    const logs = await scanLogs<Log>({
      from: Number(this.fromBlock),
      to: Number(head),
      span: this.span,
      order: "descending",
      until: (chunk) => chunk.length > 0,
      getLogs: async (from, to) => {
        const raw = (await this.client.request({
          method: "eth_getLogs",
          params: [{ address, topics: topics as Hex[], fromBlock: numberToHex(from), toBlock: numberToHex(to) }],
        })) as RpcLog[];
        return raw.filter((log) => log.removed !== true).map((log) => formatLog(log));
      },
      splits: refusesRange,
      maxCalls: this.maxCalls,
      fail: (message) => new LogScanError(`${message}; give a later fromBlock (the gateway's deployment block) or a larger maxLogCalls`),
    });
    // Newest last within the range that matched.
    logs.sort((a, b) => (a.blockNumber! === b.blockNumber! ? a.logIndex! - b.logIndex! : a.blockNumber! < b.blockNumber! ? -1 : 1));
    return { logs, head };
  }
}
