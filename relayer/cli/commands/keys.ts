/** Key and signing commands: talk to one node's HTTP API, which coordinates. */
import { readFile } from "node:fs/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { MIN_THRESHOLD } from "../../mpc/vss.ts";
import { NodeClient } from "../client.ts";
import { UsageError, type Command } from "../registry.ts";

const apiOptions = {
  api: { type: "string" },
  token: { type: "string" },
  key: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

function clientFrom(values: { api?: string; token?: string }): NodeClient {
  const api = values.api ?? process.env.MPC_RELAY_API;
  const token = values.token ?? process.env.MPC_RELAY_API_TOKEN;
  if (api === undefined) throw new UsageError("--api <http://127.0.0.1:port> (or MPC_RELAY_API) is required");
  if (token === undefined) throw new UsageError("--token (or MPC_RELAY_API_TOKEN) is required");
  return new NodeClient(api.replace(/\/$/, ""), token);
}

function requireKey(values: { key?: string }): string {
  if (values.key === undefined) throw new UsageError("--key <keyId> is required");
  return values.key;
}

function parseParties(text: string | undefined, flag: string): number[] | undefined {
  if (text === undefined) return undefined;
  const parties = text.split(",").map((part) => Number(part.trim()));
  if (parties.some((p) => !Number.isInteger(p) || p < 1)) throw new UsageError(`${flag} must be a comma-separated list of party indices`);
  return parties;
}

function parseThreshold(text: string | undefined, flag = "--threshold"): number {
  const threshold = Number(text);
  if (text === undefined || !Number.isInteger(threshold) || threshold < MIN_THRESHOLD) throw new UsageError(`${flag} <t >= ${MIN_THRESHOLD}> is required`);
  return threshold;
}

const print = (value: unknown): void => void process.stdout.write(JSON.stringify(value, null, 2) + "\n");

export const keygen: Command = {
  path: ["keygen"],
  summary: "generate a threshold key (t-of-n) across the committee",
  usage: "mpc-relay keygen --key <id> --threshold <t> [--parties 1,2,3,4,5] [--api URL] [--token T]",
  async run(args) {
    const { values } = parseArgs({ args, options: { ...apiOptions, threshold: { type: "string" }, parties: { type: "string" } } });
    print(await clientFrom(values).keygen(requireKey(values), parseThreshold(values.threshold), parseParties(values.parties, "--parties")));
  },
};

export const sign: Command = {
  path: ["sign"],
  summary: "sign a typed request (JSON, or @file)",
  usage: `mpc-relay sign --key <id> --request '{"type":"relayTransaction",...}' | --request @request.json`,
  async run(args) {
    const { values } = parseArgs({ args, options: { ...apiOptions, request: { type: "string" } } });
    if (values.request === undefined) throw new UsageError("--request is required");
    const text = values.request.startsWith("@") ? await readFile(values.request.slice(1), "utf8") : values.request;
    let request: unknown;
    try {
      request = JSON.parse(text);
    } catch {
      throw new UsageError("--request is not valid JSON");
    }
    if (typeof request !== "object" || request === null || Array.isArray(request)) throw new UsageError("--request must be a JSON object");
    print(await clientFrom(values).sign(requireKey(values), request as Record<string, unknown>));
  },
};

export const refresh: Command = {
  path: ["refresh"],
  summary: "refresh a key's shares (same public key)",
  usage: "mpc-relay refresh --key <id>",
  async run(args) {
    const { values } = parseArgs({ args, options: apiOptions });
    print(await clientFrom(values).refresh(requireKey(values)));
  },
};

export const reshare: Command = {
  path: ["reshare"],
  summary: "move a key to a new committee and threshold (same address)",
  usage: "mpc-relay reshare --key <id> --parties 1,2,3,4 --threshold <t>",
  async run(args) {
    const { values } = parseArgs({ args, options: { ...apiOptions, parties: { type: "string" }, threshold: { type: "string" } } });
    const parties = parseParties(values.parties, "--parties");
    if (parties === undefined) throw new UsageError("--parties is required");
    print(await clientFrom(values).reshare(requireKey(values), parties, parseThreshold(values.threshold)));
  },
};

export const approve: Command = {
  path: ["approve"],
  summary: "approve, as this node's operator, a keyGen or reshare another member will coordinate",
  usage:
    "mpc-relay approve keygen --key <id> --parties 1,2,3,4,5 --threshold <t> [--ttl-minutes 60]\n" +
    "mpc-relay approve reshare --key <id> --parties <new committee> --threshold <new t> [--ttl-minutes 60]   (old committee and public key read from the node)",
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...apiOptions, parties: { type: "string" }, threshold: { type: "string" }, "ttl-minutes": { type: "string" } } });
    const kind = positionals[0];
    const client = clientFrom(values);
    const keyId = requireKey(values);
    const parties = parseParties(values.parties, "--parties");
    if (parties === undefined) throw new UsageError("--parties is required");
    const threshold = parseThreshold(values.threshold);
    const ttl = values["ttl-minutes"] === undefined ? undefined : Number(values["ttl-minutes"]);
    if (ttl !== undefined && (!Number.isFinite(ttl) || ttl <= 0)) throw new UsageError("--ttl-minutes must be a positive number");
    const ttlMs = ttl === undefined ? undefined : Math.round(ttl * 60_000);
    if (kind === "keygen") return print(await client.approve({ operation: "keygen", keyId, parties, threshold }, ttlMs));
    if (kind === "reshare") {
      const { key } = await client.getKey(keyId);
      if (key.publicKey === null) throw new UsageError(`key ${keyId} has no public key on this node yet`);
      return print(await client.approve({ operation: "reshare", keyId, publicKey: key.publicKey, oldParties: key.participants, newParties: parties, newThreshold: threshold }, ttlMs));
    }
    throw new UsageError("approve keygen | approve reshare");
  },
};

export const approvals: Command = {
  path: ["approvals"],
  summary: "list this node's unexpired approvals",
  usage: "mpc-relay approvals",
  async run(args) {
    const { values } = parseArgs({ args, options: apiOptions });
    print(await clientFrom(values).approvals());
  },
};

export const keyDelete: Command = {
  path: ["key", "delete"],
  summary: "delete this node's share of a key (other members keep theirs; each operator deletes its own)",
  usage: "mpc-relay key delete --key <id>",
  async run(args) {
    const { values } = parseArgs({ args, options: apiOptions });
    print(await clientFrom(values).deleteKey(requireKey(values)));
  },
};

export const keyList: Command = {
  path: ["key", "list"],
  summary: "list the keys a node holds",
  usage: "mpc-relay key list",
  async run(args) {
    const { values } = parseArgs({ args, options: apiOptions });
    print(await clientFrom(values).listKeys());
  },
};

export const status: Command = {
  path: ["status"],
  summary: "a node's status: peers, keys, presignature pools, sessions",
  usage: "mpc-relay status [--key <id>]",
  async run(args) {
    const { values } = parseArgs({ args, options: apiOptions });
    const client = clientFrom(values);
    print(values.key === undefined ? await client.status() : await client.getKey(values.key));
  },
};
