/**
 * Options several commands share, and the parsers that turn their text into
 * values. A parser's InvalidArgumentError becomes a usage error naming the
 * option (exit code 2, with the command's help).
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { MIN_THRESHOLD } from "@mpc-relay/mpc";
import { NodeClient } from "../node/api/client.ts";

/** Exit codes of every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A usage error found after parsing (e.g. two options that exclude each other): printed with the command's help. */
export function usageError(command: Command, message: string): never {
  command.error(`error: ${message}`, { exitCode: EXIT.usage, code: "mpc-relay.usage" });
}

export function integerArg(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max)
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected an integer >= ${min}` : `expected an integer in [${min}, ${max}]`);
    return value;
  };
}

export const thresholdArg = integerArg(MIN_THRESHOLD);

/** Comma-separated party indices, e.g. 1,2,3. */
export function partiesArg(text: string): number[] {
  const parties = text.split(",").map((part) => part.trim());
  if (parties.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) throw new InvalidArgumentError("expected comma-separated party indices like 1,2,3");
  return parties.map(Number);
}

/** Two comma-separated positive integers, e.g. 8545,8546. */
export function pairArg(text: string): [number, number] {
  const parts = text.split(",").map((part) => part.trim());
  if (parts.length !== 2 || parts.some((p) => !/^\d+$/.test(p) || Number(p) <= 0)) throw new InvalidArgumentError("expected two positive integers like 8545,8546");
  return [Number(parts[0]), Number(parts[1])];
}

export function positiveNumberArg(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0) throw new InvalidArgumentError("expected a positive number");
  return value;
}

/** An http(s) base URL, without a trailing slash. */
export function httpUrlArg(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError("expected a URL like http://127.0.0.1:8701");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidArgumentError("expected an http:// or https:// URL");
  return text.replace(/\/+$/, "");
}

export const MESSAGE_ID = /^0x[0-9a-fA-F]{64}$/;

export function messageIdArg(text: string): `0x${string}` {
  if (!MESSAGE_ID.test(text)) throw new InvalidArgumentError("expected a 32-byte message id (0x and 64 hex digits)");
  return text.toLowerCase() as `0x${string}`;
}

export interface JsonOption {
  json?: boolean;
}

/** `--json`: the answer as JSON on stdout, for scripts; without it, text for people. */
export function withJson(command: Command): Command {
  return command.option("--json", "print JSON for scripts instead of text");
}

export interface NodeApiOptions {
  api: string;
  token: string;
}

const apiOption = (): Option => new Option("--api <url>", "the node's HTTP API").env("MPC_RELAY_API").argParser(httpUrlArg);
const tokenOption = (): Option => new Option("--token <token>", "the node API's bearer token").env("MPC_RELAY_API_TOKEN");

/** --api and --token, both required (from the flag or its environment variable). */
export function withNodeApi(command: Command): Command {
  return command.addOption(apiOption().makeOptionMandatory()).addOption(tokenOption().makeOptionMandatory());
}

/** --api and --token where the command decides whether it needs them. */
export function withOptionalNodeApi(command: Command): Command {
  return command.addOption(apiOption()).addOption(tokenOption());
}

export function nodeClient(options: NodeApiOptions): NodeClient {
  return NodeClient.http(options.api, options.token);
}
