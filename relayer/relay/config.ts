/**
 * INTERFACE (relayer configuration; other tools such as `mpc-relay devnet` write this file):
 *
 *   {
 *     "chains": [{ "chainId": 31337, "name": "a", "rpcUrls": ["http://127.0.0.1:8545"], "confirmations": 1,
 *                  "sourceGateway": "0x..", "targetGateway": "0x..", "fromBlock": 0, "pollIntervalMs": 1000 }],
 *     "mpc": { "keyId": "relay",
 *              "identityKeyFile": "./relayer.key",                                  // the relayer's libp2p identity (chmod 600)
 *              "nodes": [{ "peerId": "12D3Koo..", "address": "/dns4/node1.example.org/tcp/4001" },   // over libp2p, any host
 *                        { "apiUrl": "http://127.0.0.1:7001", "tokenEnv": "VAR" }],   // or the HTTP API: loopback, or https
 *              "requestTimeoutMs": 30000 },
 *     "delivery": { "mode": "permissionless" | "relayAddress",
 *                   "submitterKeyEnv": "RELAYER_KEY" | "submitterKeyFile": "./submitter.key" },   // permissionless only
 *     "batch": { "enabled": false, "maxMessages": 100, "maxWaitMs": 250, "maxGas": 12000000 },
 *     "retry": { "initialBackoffMs": 1000, "maxBackoffMs": 60000, "maxAttempts": 8 },
 *     "storePath": "./relayer-db",
 *     "api": { "host": "127.0.0.1", "port": 7600 },   // optional: status, health and metrics API (read-only)
 *     "logLevel": "info"
 *   }
 *
 * Entry points: `loadRelayerConfig(path)` (relative paths resolve against the file's folder),
 * `parseRelayerConfig(object, baseDir)`, and in ./index.ts
 *   startRelayer(config, { log? }): Promise<Relayer>, where Relayer = {
 *     stop(): Promise<void>;
 *     status(messageId): Promise<MessageStatus | null>;   // { messageId, state: "seen"|"final"|"attested"|"delivered"|"failed"|"retried"|"dropped", srcChainId, dstChainId, txHashes..., history[] }
 *     waitFor(messageId, states, timeoutMs): Promise<MessageStatus>;
 *     apiPort: number | null;                            // HTTP: GET /health, GET /v1/messages/<id>
 *   }
 * A "listening" JSON line {"event":"relayer-listening","apiPort":..} is printed by the CLI once started.
 * CLI: `mpc-relay relay start --config <file>` and `mpc-relay relay status <messageId> --api <url>`.
 * The submitter private key is never inline: it comes from an environment variable or a file.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { bindHostSchema, isLoopbackHost, localHttpUrl, peerAddressSchema, rpcUrlSchema } from "../shared/addresses.ts";
import { readSecret } from "../shared/secrets.ts";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address");

export const relayerChainSchema = z
  .object({
    chainId: z.number().int().positive(),
    name: z.string().min(1),
    rpcUrls: z.array(rpcUrlSchema).min(1),
    /** Blocks a log needs (its own included) before the relayer acts on it. */
    confirmations: z.number().int().min(1).max(1000).default(1),
    sourceGateway: address,
    targetGateway: address,
    /** First block to scan (the gateways' deployment block). */
    fromBlock: z.number().int().nonnegative().default(0),
    pollIntervalMs: z.number().int().min(20).max(600_000).default(1_000),
    /** Largest eth_getLogs block range per call. */
    maxBlockRange: z.number().int().min(1).max(100_000).default(2_000),
    /** A block explorer's base URL (e.g. https://sepolia.etherscan.io): the web explorer links transactions to <url>/tx/<hash>. */
    blockExplorer: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict();

/** A node's HTTP API: plain http only on a loopback host, so its bearer token never crosses a network in clear text. */
const nodeApiUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
  } catch {
    return false;
  }
}, "a node API URL is https, or http on a loopback host (the token must not travel in clear text; across machines use the node's peer id and address)");

const httpNodeSchema = z
  .object({
    apiUrl: nodeApiUrl,
    /** Bearer token of the node's HTTP API, inline (devnets) or from an environment variable. */
    token: z.string().min(16).optional(),
    tokenEnv: z.string().min(1).optional(),
  })
  .strict()
  .refine((node) => (node.token === undefined) !== (node.tokenEnv === undefined), "give exactly one of token, tokenEnv");

/** A node over libp2p: its peer id and a multiaddr to dial (its operator admits the relayer's peer id). */
const p2pNodeSchema = z.object({ peerId: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{40,128}$/, "a libp2p peer id"), address: peerAddressSchema }).strict();

export const mpcNodeSchema = z.union([p2pNodeSchema, httpNodeSchema]);

export const relayerConfigSchema = z
  .object({
    chains: z.array(relayerChainSchema).min(1),
    mpc: z
      .object({
        /** Key id of the relay key in the MPC network. */
        keyId: z.string().min(1).default("relay"),
        nodes: z.array(mpcNodeSchema).min(1),
        /** The relayer's libp2p identity (Ed25519, `mpc-relay node identity`), needed for nodes given by peer id. */
        identityKeyFile: z.string().min(1).optional(),
        requestTimeoutMs: z.number().int().positive().default(30_000),
      })
      .strict()
      .refine((mpc) => mpc.identityKeyFile !== undefined || mpc.nodes.every((n) => "apiUrl" in n), { message: "nodes given by peer id need mpc.identityKeyFile", path: ["identityKeyFile"] }),
    delivery: z
      .object({
        mode: z.enum(["permissionless", "relayAddress"]).default("permissionless"),
        submitterKeyEnv: z.string().min(1).optional(),
        submitterKeyFile: z.string().min(1).optional(),
        /** Gas estimate headroom, percent. */
        gasHeadroomPct: z.number().int().min(100).max(500).default(130),
        /** Fee increase per replacement of a stuck transaction, percent (>= 110 for node acceptance). */
        feeBumpPct: z.number().int().min(110).max(500).default(125),
        /** Wait this long for a receipt before replacing the transaction with a higher fee. */
        receiptTimeoutMs: z.number().int().positive().default(20_000),
        /** Upper bound on maxFeePerGas, in wei. */
        maxFeePerGasWei: z.string().regex(/^\d+$/).default("500000000000"),
      })
      .strict()
      .default({ mode: "permissionless", gasHeadroomPct: 130, feeBumpPct: 125, receiptTimeoutMs: 20_000, maxFeePerGasWei: "500000000000" }),
    batch: z
      .object({
        enabled: z.boolean().default(false),
        maxMessages: z.number().int().min(1).max(1_000).default(100),
        /** How long the first final message of a batch waits for company. */
        maxWaitMs: z.number().int().min(0).max(60_000).default(250),
        /** Bound on the destination gas one delivery transaction may need (sum of its messages' gas limits plus overhead); a signed batch is split into transactions within it. */
        maxGas: z.number().int().min(100_000).max(16_000_000).default(12_000_000),
      })
      .strict()
      .default({ enabled: false, maxMessages: 100, maxWaitMs: 250, maxGas: 12_000_000 }),
    retry: z
      .object({
        initialBackoffMs: z.number().int().positive().default(1_000),
        maxBackoffMs: z.number().int().positive().default(60_000),
        /** Attempts at attestation or submission before a message is parked as failed (still retried on addGas). */
        maxAttempts: z.number().int().min(1).max(100).default(8),
      })
      .strict()
      .default({ initialBackoffMs: 1_000, maxBackoffMs: 60_000, maxAttempts: 8 }),
    storePath: z.string().min(1),
    /** The read-only status API (message status, health, metrics): no secrets, so any host the operator chooses. */
    api: z
      .object({ host: bindHostSchema.default("127.0.0.1"), port: z.number().int().min(0).max(65535) })
      .strict()
      .optional(),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  })
  .strict()
  .superRefine((config, ctx) => {
    const ids = config.chains.map((c) => c.chainId);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: "custom", path: ["chains"], message: "chain ids must be unique" });
    const { mode, submitterKeyEnv, submitterKeyFile } = config.delivery;
    if (mode === "permissionless" && (submitterKeyEnv === undefined) === (submitterKeyFile === undefined))
      ctx.addIssue({ code: "custom", path: ["delivery"], message: "permissionless delivery needs exactly one of submitterKeyEnv, submitterKeyFile" });
  });

export type RelayerConfig = z.infer<typeof relayerConfigSchema>;
export type RelayerChainConfig = z.infer<typeof relayerChainSchema>;

/** Validates a config object; relative paths resolve against `baseDir`. */
export function parseRelayerConfig(raw: unknown, baseDir = process.cwd()): RelayerConfig {
  const parsed = relayerConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid relayer config: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  const config = parsed.data;
  return {
    ...config,
    mpc: { ...config.mpc, ...(config.mpc.identityKeyFile === undefined ? {} : { identityKeyFile: resolve(baseDir, config.mpc.identityKeyFile) }) },
    storePath: resolve(baseDir, config.storePath),
    delivery: {
      ...config.delivery,
      ...(config.delivery.submitterKeyFile === undefined ? {} : { submitterKeyFile: resolve(baseDir, config.delivery.submitterKeyFile) }),
    },
  };
}

/** The URL the relayer's API listens on, as a client on the same machine reaches it (a wildcard host means this machine). */
export function relayerApiUrl(api: { host: string; port: number }): string {
  return localHttpUrl(api.host, api.port);
}

export async function loadRelayerConfig(path: string): Promise<RelayerConfig> {
  const text = await readFile(path, "utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`relayer config ${path} is not JSON`);
  }
  return parseRelayerConfig(raw, dirname(resolve(path)));
}

/** The submitter's private key from its env var or file (permissionless mode). */
export async function readSubmitterKey(delivery: RelayerConfig["delivery"]): Promise<`0x${string}`> {
  const key = await readSecret({ file: delivery.submitterKeyFile, env: delivery.submitterKeyEnv }, "submitter key");
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error("the submitter key must be 32 bytes of 0x-prefixed hex");
  return key as `0x${string}`;
}

/** A node API token from the config or its environment variable. */
export function nodeToken(node: Extract<RelayerConfig["mpc"]["nodes"][number], { apiUrl: string }>): string {
  if (node.token !== undefined) return node.token;
  const token = process.env[node.tokenEnv ?? ""];
  if (token === undefined || token.length < 16) throw new Error(`environment variable ${node.tokenEnv} (node API token) is not set or too short`);
  return token;
}
