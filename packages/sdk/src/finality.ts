/** When a source block counts as final, and the highest such block: one rule for the SDK and the signer nodes. */
import type { PublicClient } from "viem";

/** A block tag the RPC answers, or a number of confirmations (the block's own included). */
export type SourceFinality = "finalized" | "safe" | { confirmations: number };

/** The highest block `client` considers final under `finality`; `cacheTime: 0` asks for a fresh head. */
export async function finalBlock(client: PublicClient, finality: SourceFinality, options: { cacheTime?: number } = {}): Promise<bigint> {
  if (typeof finality === "string") return (await client.getBlock({ blockTag: finality })).number;
  return (await client.getBlockNumber(options.cacheTime === undefined ? undefined : { cacheTime: options.cacheTime })) - BigInt(finality.confirmations) + 1n;
}
