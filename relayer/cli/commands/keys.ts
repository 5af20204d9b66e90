/** Key and signing commands: talk to one node's HTTP API, which coordinates. */
import { readFile } from "node:fs/promises";
import { Argument, type Command } from "commander";
import type { KeyView, NodeStatusView, SignView } from "../../node/api/client.ts";
import { nodeClient, partiesArg, positiveNumberArg, thresholdArg, usageError, withJson, withNodeApi, type JsonOption, type NodeApiOptions } from "../options.ts";
import { emit, fields, list, megabytes, table, time } from "../output.ts";

type KeyOptions = NodeApiOptions & JsonOption & { key: string };

/** The key as a short paragraph. */
export function describeKey(key: KeyView): string {
  const head = `key ${key.keyId}: ${key.status}, ${key.threshold}-of-${key.participants.length} (parties ${list(key.participants)})`;
  const generation = key.generations.find((g) => g.id === key.generation);
  return [
    head,
    fields([
      ["address", key.address ?? "none yet"],
      ["public key", key.publicKey ?? "none yet"],
      ["generation", key.generation === null ? "none committed" : `${key.generation.slice(0, 16)}… (${generation?.origin ?? "?"}, ${key.generations.length} held)`],
      ...(key.error === null ? [] : [["error", key.error] as const]),
      ["updated", time(key.updatedAt)],
    ]),
  ].join("\n");
}

function describeSignature(s: SignView): string {
  return [
    `signature ${s.signature}`,
    fields([
      ["key", `${s.keyId} (${s.address})`],
      ["digest", s.digest],
      ["r, s, v", `${s.r}, ${s.s}, ${s.v}`],
      ["signers", list(s.signers)],
      ["presigned", s.presigned ? "yes" : "no"],
      ["attempts", String(s.attempts)],
    ]),
  ].join("\n");
}

export function describeNodeStatus(s: NodeStatusView): string {
  const lines = [
    `node ${s.index} (peer id ${s.peerId})`,
    fields([
      ["peers", `${s.peers.length} in the committee (${list(s.peers.map((p) => p.index))}), ${s.connectedPeers} connected`],
      ["sessions", `${s.activeSessions} active`],
      ["memory", `${megabytes(s.rssBytes)} RSS`],
      ["keys", s.keys.length === 0 ? "none" : String(s.keys.length)],
    ]),
  ];
  if (s.keys.length > 0) lines.push("", keyTable(s.keys, s.presignPool, s.sharings));
  return lines.join("\n");
}

/** The key list; with a node's sharings (its status), how old each key's sharing is. */
function keyTable(keys: readonly KeyView[], pool: Record<string, number> = {}, sharings?: NodeStatusView["sharings"]): string {
  const age = (keyId: string) => {
    const sharing = sharings?.find((s) => s.keyId === keyId);
    return sharing === undefined ? "-" : `${duration(sharing.ageSeconds)} (${sharing.origin})`;
  };
  const row = (k: KeyView) => [k.keyId, k.status, `${k.threshold}-of-${k.participants.length}`, list(k.participants), k.address ?? "-", String(pool[k.keyId] ?? "-")];
  if (sharings === undefined) return table([["KEY", "STATUS", "T-OF-N", "PARTIES", "ADDRESS", "POOL"], ...keys.map(row)]);
  return table([["KEY", "STATUS", "T-OF-N", "PARTIES", "ADDRESS", "POOL", "SHARING AGE"], ...keys.map((k) => [...row(k), age(k.keyId)])]);
}

/** 42s, 17m, 5h, 3d: how long ago a sharing was made. */
function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

async function readRequest(command: Command, text: string): Promise<Record<string, unknown>> {
  const json = text.startsWith("@") ? await readFile(text.slice(1), "utf8") : text;
  let request: unknown;
  try {
    request = JSON.parse(json);
  } catch {
    usageError(command, `--request is not valid JSON${text.startsWith("@") ? ` (${text.slice(1)})` : ""}`);
  }
  if (typeof request !== "object" || request === null || Array.isArray(request)) usageError(command, "--request must be a JSON object");
  return request as Record<string, unknown>;
}

const keyCommand = (parent: Command, name: string, description: string): Command => withJson(withNodeApi(parent.command(name).description(description).requiredOption("--key <id>", "key id")));

export function registerKeyCommands(program: Command): void {
  keyCommand(program, "keygen", "generate a threshold key (t-of-n) across the committee")
    .requiredOption("--threshold <t>", "signers needed", thresholdArg)
    .option("--parties <list>", "the committee, e.g. 1,2,3,4,5 (default: every peer)", partiesArg)
    .action(async (o: KeyOptions & { threshold: number; parties?: number[] }) => {
      const { key } = await nodeClient(o).keygen(o.key, o.threshold, o.parties);
      emit(o, { key }, () => describeKey(key));
    });

  keyCommand(program, "approve", "approve, as this node's operator, a keyGen or reshare another member will coordinate")
    .addArgument(new Argument("<operation>", "what to approve").choices(["keygen", "reshare"]))
    .requiredOption("--parties <list>", "keygen: the committee; reshare: the new committee", partiesArg)
    .requiredOption("--threshold <t>", "keygen: the threshold; reshare: the new threshold", thresholdArg)
    .option("--ttl-minutes <minutes>", "how long the approval stands (node default: 60)", positiveNumberArg)
    .addHelpText("after", "\nA reshare's old committee and public key are read from this node.")
    .action(async (operation: "keygen" | "reshare", o: KeyOptions & { parties: number[]; threshold: number; ttlMinutes?: number }, command: Command) => {
      const client = nodeClient(o);
      const ttlMs = o.ttlMinutes === undefined ? undefined : Math.round(o.ttlMinutes * 60_000);
      let approved: { hash: string; expiresAt: number };
      if (operation === "keygen") {
        approved = await client.approve({ operation: "keygen", keyId: o.key, parties: o.parties, threshold: o.threshold }, ttlMs);
      } else {
        const { key } = await client.getKey(o.key);
        if (key.publicKey === null) usageError(command, `key ${o.key} has no public key on this node yet: nothing to reshare`);
        approved = await client.approve({ operation: "reshare", keyId: o.key, publicKey: key.publicKey, oldParties: key.participants, newParties: o.parties, newThreshold: o.threshold }, ttlMs);
      }
      emit(o, approved, (a) => `approved ${operation} of ${o.key} (parties ${list(o.parties)}, threshold ${o.threshold}) until ${time(a.expiresAt)}\n  hash ${a.hash}`);
    });

  withJson(withNodeApi(program.command("approvals").description("list this node's unexpired approvals"))).action(async (o: NodeApiOptions & JsonOption) => {
    const answer = await nodeClient(o).approvals();
    emit(o, answer, ({ approvals }) =>
      approvals.length === 0
        ? "no approvals"
        : table([
            ["HASH", "EXPIRES", "OPERATION"],
            ...approvals.map((a) => [
              `${a.hash.slice(0, 18)}…`,
              time(a.expiresAt),
              Object.entries(a.operation)
                .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : String(v)}`)
                .join(" "),
            ]),
          ]),
    );
  });

  keyCommand(program, "sign", "sign a typed request (JSON, or @file)")
    .requiredOption("--request <json|@file>", `e.g. '{"type":"relayTransaction",...}' or @request.json`)
    .action(async (o: KeyOptions & { request: string }, command: Command) => {
      const request = await readRequest(command, o.request);
      emit(o, await nodeClient(o).sign(o.key, request), describeSignature);
    });

  keyCommand(program, "refresh", "refresh a key's shares (same public key)").action(async (o: KeyOptions) => {
    const { key } = await nodeClient(o).refresh(o.key);
    emit(o, { key }, () => `refreshed\n${describeKey(key)}`);
  });

  keyCommand(program, "reshare", "move a key to a new committee and threshold (same address)")
    .requiredOption("--parties <list>", "the new committee, e.g. 1,2,3,4", partiesArg)
    .requiredOption("--threshold <t>", "the new threshold", thresholdArg)
    .action(async (o: KeyOptions & { parties: number[]; threshold: number }) => {
      const { key } = await nodeClient(o).reshare(o.key, o.parties, o.threshold);
      emit(o, { key }, () => (key === null ? `reshared; this node is not in the new committee and keeps no share of ${o.key}` : `reshared\n${describeKey(key)}`));
    });

  const key = program.command("key").description("this node's keys");
  keyCommand(key, "delete", "delete this node's share of a key (other members keep theirs; each operator deletes its own)").action(async (o: KeyOptions) => {
    const answer = await nodeClient(o).deleteKey(o.key);
    emit(o, answer, ({ deleted }) => (deleted ? `deleted this node's share of ${o.key}` : `this node holds no share of ${o.key}`));
  });
  withJson(withNodeApi(key.command("list").description("list the keys a node holds"))).action(async (o: NodeApiOptions & JsonOption) => {
    const answer = await nodeClient(o).listKeys();
    emit(o, answer, ({ keys }) => (keys.length === 0 ? "no keys" : keyTable(keys)));
  });
}
