/**
 * A JSON-RPC endpoint on 127.0.0.1 in front of a real chain, whose behaviour a test sets per call:
 * forward honestly, lie about the result, answer with an error, answer late, or never answer. It
 * records every call it received and how many it has not answered yet.
 */
import { createServer, type ServerResponse } from "node:http";

export interface RpcCall {
  method: string;
  params: unknown[];
}

/** What the endpoint does with one call: its JSON-RPC body (from `forward()` or made up), "silent", or a delay first. */
export type Behaviour = (call: RpcCall, forward: () => Promise<RpcBody>) => Promise<RpcBody | "silent">;
export interface RpcBody {
  result?: unknown;
  error?: { code: number; message: string };
}

export const honest: Behaviour = (_call, forward) => forward();

export interface RpcProxy {
  url: string;
  calls: RpcCall[];
  /** Calls received and not answered (yet). */
  readonly unanswered: number;
  behaviour: Behaviour;
  close(): Promise<void>;
}

export async function startRpcProxy(upstream: string, behaviour: Behaviour = honest): Promise<RpcProxy> {
  const held = new Set<ServerResponse>();
  const proxy: RpcProxy = {
    url: "",
    calls: [],
    get unanswered() {
      return held.size;
    },
    behaviour,
    close: async () => {
      for (const res of held) res.destroy();
      held.clear();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const answer = async (request: { id: unknown; method: string; params?: unknown[] }): Promise<Record<string, unknown> | "silent"> => {
    const call = { method: request.method, params: request.params ?? [] };
    proxy.calls.push(call);
    const forward = async (): Promise<RpcBody> => {
      const response = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", ...request }) });
      return (await response.json()) as RpcBody;
    };
    const body = await proxy.behaviour(call, forward);
    return body === "silent" ? body : { jsonrpc: "2.0", id: request.id, ...body };
  };
  const server = createServer((req, res) => {
    held.add(res);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: unknown; method: string; params?: unknown[] } | { id: unknown; method: string; params?: unknown[] }[];
      const work = Array.isArray(parsed) ? Promise.all(parsed.map(answer)) : answer(parsed);
      work.then(
        (body) => {
          if (body === "silent" || (Array.isArray(body) && body.includes("silent"))) return; // held until close()
          held.delete(res);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(body));
        },
        (error: unknown) => {
          held.delete(res);
          res.writeHead(502);
          res.end(String(error));
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const address = server.address();
  proxy.url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  return proxy;
}

/** The block range of an eth_getLogs call (blockHash filters count as one block). */
export function logRange(call: RpcCall): { from: bigint; to: bigint } | null {
  if (call.method !== "eth_getLogs") return null;
  const filter = call.params[0] as { fromBlock?: string; toBlock?: string };
  if (filter.fromBlock === undefined || filter.toBlock === undefined || !filter.fromBlock.startsWith("0x") || !filter.toBlock.startsWith("0x")) return null;
  return { from: BigInt(filter.fromBlock), to: BigInt(filter.toBlock) };
}
