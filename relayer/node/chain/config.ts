/**
 * INTERFACE (node side): what a signer node needs to check chain-dependent signing requests.
 * These keys sit at the top level of the node config file (relayer/node/config.ts):
 *
 *   "chains": [{ "chainId": 31337, "rpcUrls": ["http://127.0.0.1:8545", ...], "quorum": 2,
 *                "finality": "finalized", "sourceGateway": "0x..", "targetGateway": "0x..", "fromBlock": 0 }],
 *   "allowedRelays": ["0x.."]      // optional: relay addresses a rotation may hand over to besides
 *                                  // the node's own READY keys (e.g. a key confirmed on the staking contract)
 *
 * A chain listed here is both a source (its SourceGateway's MessageSent logs are attested) and a
 * destination (its TargetGateway is a target the node signs for). Without "chains" the node refuses
 * every signing request.
 *
 * Safety requirements an operator must not relax:
 * - `quorum` is more than half of `rpcUrls` (the default is the smallest such majority). An endpoint
 *   that fails casts no vote, so with a quorum at or below half a lone liar would win whenever the
 *   honest endpoints fail; a majority quorum also means two different answers can never both pass.
 * - `finality` says when a source block is final enough to attest its messages. The default,
 *   "finalized", is the only setting under which a reorg cannot turn an honest attestation into a
 *   provable "forgery" (and a slash). "safe" or `{ "confirmations": n }` trade that for latency; use
 *   them only on chains without a finalized tag, or on a devnet.
 */
import { z } from "zod";
import { rpcUrlSchema } from "../../shared/addresses.ts";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address");

/** When a source block counts as final: the endpoint's `finalized` / `safe` block, or n blocks deep (the head being the first). */
export const finalitySchema = z.union([z.enum(["finalized", "safe"]), z.object({ confirmations: z.number().int().min(1).max(10_000) }).strict()]);
export type Finality = z.infer<typeof finalitySchema>;

export function describeFinality(finality: Finality): string {
  return typeof finality === "string" ? `the "${finality}" block` : `${finality.confirmations} confirmation(s)`;
}

/** The smallest quorum that is more than half of `endpoints`: the one rule for how many RPC endpoints must agree. */
export function majorityOf(endpoints: number): number {
  return Math.floor(endpoints / 2) + 1;
}

export const nodeChainSchema = z
  .object({
    chainId: z.number().int().positive(),
    name: z.string().min(1).optional(),
    /** http(s) or ws(s), any host; plain text to another machine is warned about at start. */
    rpcUrls: z.array(rpcUrlSchema).min(1).max(16),
    /** How many of rpcUrls must give the same answer; more than half of them, by default the smallest majority. */
    quorum: z.number().int().min(1).optional(),
    finality: finalitySchema.default("finalized"),
    sourceGateway: address,
    targetGateway: address,
    /** First block to search for a message named by id only (the gateway's deployment block). */
    fromBlock: z.number().int().nonnegative().default(0),
    /** Largest eth_getLogs block range per call (the providers' limit; a refused range is split further). */
    maxLogRange: z.number().int().min(1).max(100_000).default(2_000),
    /** Most blocks searched for messages named without a transaction hash (below the agreed head, or within the request's range). */
    maxScanBlocks: z.number().int().min(1).max(1_000_000).default(20_000),
    /** Time one endpoint has to answer one question (all its calls); must fit well inside the prepare window. */
    rpcTimeoutMs: z.number().int().min(50).max(60_000).default(1_000),
  })
  .strict()
  .superRefine((chain, ctx) => {
    if (chain.quorum === undefined) return;
    const endpoints = chain.rpcUrls.length;
    if (chain.quorum > endpoints) ctx.addIssue({ code: "custom", path: ["quorum"], message: `quorum ${chain.quorum} exceeds the number of rpcUrls (${endpoints})` });
    else if (chain.quorum < majorityOf(endpoints))
      ctx.addIssue({
        code: "custom",
        path: ["quorum"],
        message: `quorum ${chain.quorum} of ${endpoints} endpoints is not a majority: it must be at least ${majorityOf(endpoints)}, or one lying endpoint decides whenever the honest ones fail`,
      });
  })
  .transform((chain) => ({ ...chain, quorum: chain.quorum ?? majorityOf(chain.rpcUrls.length) }));

export const nodeChainsSchema = z
  .array(nodeChainSchema)
  .default([])
  .refine((chains) => new Set(chains.map((c) => c.chainId)).size === chains.length, "chain ids must be unique");

export const allowedRelaysSchema = z.array(address).default([]);

export type NodeChainConfig = z.infer<typeof nodeChainSchema>;
