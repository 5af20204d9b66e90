/**
 * `mpc-relay config check <file>`: every problem of a node or relayer config at once,
 * by the schemas (and, for a node, the loader) that `node start` and `relay start` use,
 * plus the key files the config names (they must be readable when the process starts).
 */
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Option, type Command } from "commander";
import { EXIT, usageError, withJson, type JsonOption } from "../options.ts";
import { emit } from "../output.ts";

export type ConfigKind = "node" | "relayer";

export interface ConfigProblem {
  /** Where in the file, e.g. `peers[0].address`; empty for the file as a whole. */
  path: string;
  message: string;
}

export interface ConfigCheck {
  file: string;
  kind: ConfigKind;
  ok: boolean;
  problems: ConfigProblem[];
}

/** A zod issue path as people write it: `chains[0].rpcUrls[1]`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => {
      if (typeof part === "number") return `[${part}]`;
      const name = String(part);
      if (/^[A-Za-z_$][\w$]*$/.test(name)) return i === 0 ? name : `.${name}`;
      return `[${JSON.stringify(name)}]`;
    })
    .join("");
}

/** Which kind of config `raw` looks like, by keys only one kind has; null when it is not clear. */
function detectKind(raw: unknown): ConfigKind | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const has = (key: string): boolean => key in raw;
  const node = ["index", "identityKeyFile", "listenPort", "peers"].some(has);
  const relayer = ["mpc", "storePath", "delivery"].some(has);
  return node === relayer ? null : node ? "node" : "relayer";
}

async function readable(base: string, path: string | undefined, at: string): Promise<ConfigProblem[]> {
  if (path === undefined) return [];
  const full = resolve(base, path);
  try {
    await access(full, constants.R_OK);
    return [];
  } catch (error) {
    return [{ path: at, message: `cannot read ${full} (${(error as NodeJS.ErrnoException).code ?? String(error)})` }];
  }
}

async function checkNode(file: string, raw: unknown): Promise<ConfigProblem[]> {
  const { loadConfig, nodeConfigSchema } = await import("../../node/config.ts");
  const parsed = nodeConfigSchema.safeParse(raw);
  if (!parsed.success) return parsed.error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }));
  const base = dirname(resolve(file));
  const problems = [...(await readable(base, parsed.data.identityKeyFile, "identityKeyFile")), ...(await readable(base, parsed.data.staking?.operatorKeyFile, "staking.operatorKeyFile"))];
  // What the loader checks beyond the schema (e.g. the node among its own peers).
  await loadConfig(file).catch((error: unknown) => problems.push({ path: "", message: error instanceof Error ? error.message : String(error) }));
  return problems;
}

async function checkRelayer(file: string, raw: unknown): Promise<ConfigProblem[]> {
  const { relayerConfigSchema } = await import("../../relay/config.ts");
  const parsed = relayerConfigSchema.safeParse(raw);
  if (!parsed.success) return parsed.error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }));
  return readable(dirname(resolve(file)), parsed.data.delivery.submitterKeyFile, "delivery.submitterKeyFile");
}

export async function checkConfig(command: Command, file: string, kind: ConfigKind | undefined): Promise<ConfigCheck> {
  const text = await readFile(file, "utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const resolved = kind ?? detectKind(raw) ?? usageError(command, `cannot tell whether ${file} is a node or a relayer config: pass --kind node or --kind relayer`);
  const problems = resolved === "node" ? await checkNode(file, raw) : await checkRelayer(file, raw);
  return { file, kind: resolved, ok: problems.length === 0, problems };
}

function describeCheck(c: ConfigCheck): string {
  if (c.ok) return `${c.kind} config ${c.file}: ok`;
  const count = c.problems.length === 1 ? "1 problem" : `${c.problems.length} problems`;
  return [`${c.kind} config ${c.file}: ${count}`, ...c.problems.map((p) => `  ${p.path === "" ? "" : `${p.path}: `}${p.message}`)].join("\n");
}

export function registerConfigCommands(program: Command): void {
  const config = program.command("config").description("node and relayer configuration files");
  withJson(config.command("check").description("list every problem of a node or relayer config (exit code 1 if any)"))
    .argument("<file>", "the config file (JSON)")
    .addOption(new Option("--kind <kind>", "which config it is (default: told from its keys)").choices(["node", "relayer"]))
    .action(async (file: string, o: JsonOption & { kind?: ConfigKind }, command: Command) => {
      const result = await checkConfig(command, file, o.kind);
      emit(o, result, describeCheck);
      if (!result.ok) process.exitCode = EXIT.failed;
    });
}
