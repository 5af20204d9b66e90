/** The signer node's configuration file (JSON), validated on load. */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { allowedRelaysSchema, nodeChainsSchema } from "./chain/config.ts";
import { bindHostSchema, isLoopbackHost, peerAddressSchema, rpcUrlSchema } from "../shared/addresses.ts";
import type { RelayTransactionLimits } from "./chain/relay-transactions.ts";
import { keyIdSchema, partyIndexSchema } from "./frames.ts";

const peerIdSchema = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{40,128}$/, "a libp2p peer id (base58)");

const stakingSchema = z
  .object({
    rpcUrl: rpcUrlSchema,
    contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    /** The operator key: a file holding the hex private key (mode 600), or the name of an env var holding it. */
    operatorKeyFile: z.string().min(1).optional(),
    operatorKeyEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/)
      .optional(),
    /** Network address of each member, by libp2p peer id (the contract stores identities, not addresses). */
    peerAddresses: z.record(peerIdSchema, peerAddressSchema).default({}),
    /** The key this node submits as each epoch's cluster key once READY; default `epoch-<n>` for epoch n. */
    keyId: keyIdSchema.optional(),
    /** How often the committee, cluster key and own absence records are looked at. */
    pollMs: z.number().int().min(100).max(600_000).default(2_000),
    /** Own absence records of a member, within a window, before this node proposes or signs its slash. */
    minAbsences: z.number().int().min(1).max(10_000).default(3),
    /** How long a proposer waits for the other members' signatures. */
    proposalTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
  })
  .strict()
  .refine((s) => (s.operatorKeyFile === undefined) !== (s.operatorKeyEnv === undefined), "staking needs exactly one of operatorKeyFile, operatorKeyEnv");

export type StakingConfig = z.infer<typeof stakingSchema>;

const wei = z.string().regex(/^\d{1,78}$/, "a decimal amount of wei");

/**
 * Each node keeps its own budget, charged for every request it validates: a signature needs t members,
 * at least one of them honest, so t-1 colluding members can spend at most (n-t+1) x budgetWei per
 * period across the network.
 */
const relayTransactionPolicySchema = z
  .object({
    /** Most one transaction may pay (gas * maxFeePerGas). */
    maxFeeWei: wei.default("100000000000000000"),
    /** Most the transactions signed within periodS may pay together (each charged its most when signed; kept in dataDir). */
    budgetWei: wei.default("1000000000000000000"),
    periodS: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(3_600),
    /** Most transactions signed within periodS (bounds the budget file too). */
    maxTransactions: z.number().int().min(1).max(10_000).default(3_600),
  })
  .strict();

export const nodeConfigSchema = z
  .object({
    /** This node's party index (its Shamir evaluation point in every key it holds). */
    index: partyIndexSchema,
    dataDir: z.string().min(1),
    identityKeyFile: z.string().min(1),
    /** Where the node listens for members (and admitted relayers): libp2p multiaddrs. */
    listen: z.array(peerAddressSchema).min(1).default(["/ip4/0.0.0.0/tcp/4001"]),
    /** What the node tells peers to dial instead of its listen addresses (behind NAT or a load balancer). */
    announce: z.array(peerAddressSchema).default([]),
    /** The operator's HTTP API: host and port; a host other than loopback needs `httpTls`, so the token never travels in clear text. */
    httpHost: bindHostSchema.default("127.0.0.1"),
    httpPort: z.number().int().min(0).max(65535),
    httpTls: z
      .object({ certFile: z.string().min(1), keyFile: z.string().min(1) })
      .strict()
      .optional(),
    /**
     * Peers admitted to the API over libp2p (api/p2p.ts), by peer id: a `relayer` may read keys and status and ask
     * for signatures; an `operator` may do what the bearer token allows (remote administration without TLS).
     */
    apiPeers: z.array(z.object({ peerId: peerIdSchema, role: z.enum(["relayer", "operator"]), name: z.string().max(64).optional() }).strict()).default([]),
    /** Bearer token for the HTTP API; the env var MPC_RELAY_API_TOKEN overrides it. */
    apiToken: z.string().min(16).optional(),
    /** The committee when it is fixed by configuration; with `staking` the contract states it and this may be empty. */
    peers: z.array(z.object({ index: partyIndexSchema, peerId: peerIdSchema, address: peerAddressSchema }).strict()).default([]),
    /** Committee, cluster key and slashing from a RelayStaking contract (relayer/staking). */
    staking: stakingSchema.optional(),
    timeouts: z
      .object({
        prepareMs: z.number().int().positive().default(2_000),
        roundMs: z.number().int().positive().default(5_000),
        keygenRoundMs: z.number().int().positive().default(15_000),
      })
      .default({ prepareMs: 2_000, roundMs: 5_000, keygenRoundMs: 15_000 }),
    /** What one member may make the others do (a member that coordinates is not trusted). */
    limits: z
      .object({
        /** A key is refreshed at most this often: each refresh costs every member a dealing. */
        minRefreshIntervalMs: z
          .number()
          .int()
          .min(0)
          .max(7 * 24 * 3_600_000)
          .default(30_000),
        /** Unused presignatures one coordinator may have this node keep per key. */
        maxPresignaturesPerOwner: z.number().int().min(1).max(10_000).default(256),
      })
      .default({ minRefreshIntervalMs: 30_000, maxPresignaturesPerOwner: 256 }),
    /**
     * Scheduled refresh of every READY key this node holds (session/schedule.ts): slots of `periodMs` aligned to
     * the Unix epoch (default a day; 0 turns it off), each coordinated by the members in turn, `graceMs` each.
     */
    refreshSchedule: z
      .object({
        periodMs: z
          .number()
          .int()
          .min(0)
          .max(30 * 86_400_000)
          .default(86_400_000),
        graceMs: z.number().int().min(100).max(3_600_000).default(60_000),
      })
      .strict()
      .refine((s) => s.periodMs === 0 || s.periodMs >= 2 * s.graceMs, "periodMs must be 0 or at least twice graceMs")
      .default({ periodMs: 86_400_000, graceMs: 60_000 }),
    /** Presignatures this node keeps ready per key for the signing tasks it coordinates (0 disables the pool). */
    presignPoolSize: z.number().int().min(0).max(1000).default(8),
    signAttempts: z.number().int().min(1).max(10).default(3),
    /** Signing sessions this node coordinates at once; more requests queue. */
    maxConcurrentSigns: z.number().int().min(1).max(256).default(2),
    /** scrypt cost exponent for the key store (17 = 128 MiB); only lower it in tests. */
    kdfLog2N: z.number().int().min(10).max(20).default(17),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
    policy: z
      .object({
        /**
         * Chains (ids from `chains`) on which this node signs relay-address transactions (calls to the
         * chain's TargetGateway carrying final messages, see chain/relay-transactions.ts), with the fees
         * they may cost. A chain not listed gets none.
         */
        relayTransactions: z.record(z.string().regex(/^\d+$/, "a chain id"), relayTransactionPolicySchema).default({}),
      })
      .strict()
      .default({ relayTransactions: {} }),
    /** Chains this node reads to check every signing request (see chain/config.ts). */
    chains: nodeChainsSchema,
    /** Relay addresses a rotation may hand over to besides this node's own READY keys. */
    allowedRelays: allowedRelaysSchema,
  })
  .strict()
  .superRefine((config, ctx) => {
    if (!isLoopbackHost(config.httpHost) && config.httpTls === undefined) {
      ctx.addIssue({ code: "custom", path: ["httpTls"], message: `the API on ${config.httpHost} would carry its bearer token in clear text: set httpTls (certFile, keyFile) or bind a loopback host` });
    }
    const chainIds = new Set(config.chains.map((chain) => chain.chainId));
    for (const [chainId, limits] of Object.entries(config.policy.relayTransactions)) {
      if (!chainIds.has(Number(chainId)))
        ctx.addIssue({ code: "custom", path: ["policy", "relayTransactions", chainId], message: `chain ${chainId} is not in "chains": its TargetGateway and messages could not be checked` });
      if (BigInt(limits.maxFeeWei) > BigInt(limits.budgetWei))
        ctx.addIssue({ code: "custom", path: ["policy", "relayTransactions", chainId], message: "maxFeeWei exceeds budgetWei: no transaction at that fee could ever be signed" });
    }
    for (const [i, chain] of config.chains.entries()) {
      if (chain.rpcTimeoutMs >= config.timeouts.prepareMs)
        ctx.addIssue({
          code: "custom",
          path: ["chains", i, "rpcTimeoutMs"],
          message: `rpcTimeoutMs ${chain.rpcTimeoutMs} must be below timeouts.prepareMs ${config.timeouts.prepareMs}: a node checks a request within the prepare window`,
        });
    }
  });

/** The operator's limits for relay-address transactions on one chain; fees in wei. */
export function relayTransactionLimits(policy: NodeConfig["policy"]): Map<number, RelayTransactionLimits> {
  return new Map(
    Object.entries(policy.relayTransactions).map(([chainId, p]) => [
      Number(chainId),
      { maxFeeWei: BigInt(p.maxFeeWei), budgetWei: BigInt(p.budgetWei), periodMs: p.periodS * 1000, maxTransactions: p.maxTransactions },
    ]),
  );
}

export type NodeConfig = z.infer<typeof nodeConfigSchema>;

/** Reads and validates a config file; relative paths in it are resolved against its folder. */
export async function loadConfig(path: string): Promise<NodeConfig> {
  const raw: unknown = JSON.parse(await readFile(path, "utf8"));
  const parsed = nodeConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid config ${path}: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  const base = dirname(resolve(path));
  const config = parsed.data;
  if (config.staking === undefined && !config.peers.some((peer) => peer.index === config.index)) throw new Error(`config ${path}: own index ${config.index} is not among the peers`);
  const staking = config.staking?.operatorKeyFile === undefined ? config.staking : { ...config.staking, operatorKeyFile: resolve(base, config.staking.operatorKeyFile) };
  const httpTls = config.httpTls === undefined ? undefined : { certFile: resolve(base, config.httpTls.certFile), keyFile: resolve(base, config.httpTls.keyFile) };
  return { ...config, staking, httpTls, dataDir: resolve(base, config.dataDir), identityKeyFile: resolve(base, config.identityKeyFile) };
}
