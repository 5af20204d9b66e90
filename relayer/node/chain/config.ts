/**
 * INTERFACE (node side): what a signer node needs to check chain-dependent signing requests.
 * These keys sit at the top level of the node config file (relayer/node/config.ts):
 *
 *   "chains": [{ "chainId": 31337, "rpcUrls": ["http://127.0.0.1:8545", ...], "quorum": 1,
 *                "confirmations": 1, "sourceGateway": "0x..", "targetGateway": "0x..", "fromBlock": 0 }],
 *   "allowedRelays": ["0x.."]      // optional: relay addresses a rotation may hand over to besides
 *                                  // the node's own READY keys (e.g. a key confirmed on the staking contract)
 *
 * A chain listed here is both a source (its SourceGateway's MessageSent logs are attested) and a
 * destination (its TargetGateway is a target the node signs for). With several rpcUrls, `quorum` of
 * them must return the same answer before the node signs. Without "chains" the node refuses every
 * messageAttestation, batchAttestation and relayRotation request.
 */
import { z } from "zod";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address");

export const nodeChainSchema = z
  .object({
    chainId: z.number().int().positive(),
    name: z.string().min(1).optional(),
    rpcUrls: z.array(z.string().regex(/^https?:\/\/(127\.0\.0\.1|localhost)(:\d{1,5})?(\/.*)?$/, "RPC URLs must point at 127.0.0.1")).min(1).max(16),
    /** How many of rpcUrls must agree; defaults to all of them. */
    quorum: z.number().int().min(1).optional(),
    confirmations: z.number().int().min(1).max(1000).default(1),
    sourceGateway: address,
    targetGateway: address,
    /** First block to search for a message named by id only (the gateway's deployment block). */
    fromBlock: z.number().int().nonnegative().default(0),
    /** Largest eth_getLogs block range per call when searching for messages by id (default 10000). */
    maxLogRange: z.number().int().min(1).max(1_000_000).optional(),
    /** Timeout of one RPC call. */
    rpcTimeoutMs: z.number().int().positive().default(5_000),
  })
  .strict()
  .refine((chain) => chain.quorum === undefined || chain.quorum <= chain.rpcUrls.length, "quorum exceeds the number of rpcUrls");

export const nodeChainsSchema = z
  .array(nodeChainSchema)
  .default([])
  .refine((chains) => new Set(chains.map((c) => c.chainId)).size === chains.length, "chain ids must be unique");

export const allowedRelaysSchema = z.array(address).default([]);

export type NodeChainConfig = z.infer<typeof nodeChainSchema>;
