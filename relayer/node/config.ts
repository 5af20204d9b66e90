/** The signer node's configuration file (JSON), validated on load. */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { allowedRelaysSchema, nodeChainsSchema } from "./chain/config.ts";
import { partyIndexSchema } from "./frames.ts";

const loopbackAddress = z
  .string()
  .regex(/^\/ip4\/127\.0\.0\.1\/tcp\/\d{1,5}$/, "peer addresses must be /ip4/127.0.0.1/tcp/<port> (loopback only)");

export const nodeConfigSchema = z
  .object({
    /** This node's party index (its Shamir evaluation point in every key it holds). */
    index: partyIndexSchema,
    dataDir: z.string().min(1),
    identityKeyFile: z.string().min(1),
    listenPort: z.number().int().min(0).max(65535),
    httpPort: z.number().int().min(0).max(65535),
    /** Bearer token for the HTTP API; the env var MPC_RELAY_API_TOKEN overrides it. */
    apiToken: z.string().min(16).optional(),
    peers: z.array(z.object({ index: partyIndexSchema, peerId: z.string().min(10), address: loopbackAddress })).min(1),
    timeouts: z
      .object({
        prepareMs: z.number().int().positive().default(2_000),
        roundMs: z.number().int().positive().default(5_000),
        keygenRoundMs: z.number().int().positive().default(15_000),
      })
      .default({ prepareMs: 2_000, roundMs: 5_000, keygenRoundMs: 15_000 }),
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
        /** Relay-address transactions may only go to these contracts (target gateways), per chain id. */
        relayTransactionTargets: z.record(z.string().regex(/^\d+$/), z.array(z.string().regex(/^0x[0-9a-fA-F]{40}$/))).default({}),
        /** Largest fee a relay-address transaction may pay, in wei. */
        maxFeeWei: z.string().regex(/^\d+$/).default("100000000000000000"),
      })
      .default({ relayTransactionTargets: {}, maxFeeWei: "100000000000000000" }),
    /** Chains this node reads to check message/batch attestations and relay rotations (see chain/config.ts). */
    chains: nodeChainsSchema,
    /** Relay addresses a rotation may hand over to besides this node's own READY keys. */
    allowedRelays: allowedRelaysSchema,
  })
  .strict();

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
  if (!config.peers.some((peer) => peer.index === config.index)) throw new Error(`config ${path}: own index ${config.index} is not among the peers`);
  return { ...config, dataDir: resolve(base, config.dataDir), identityKeyFile: resolve(base, config.identityKeyFile) };
}
