/**
 * The explorer's server without chains (relayer/explorer/server.ts, relayer/relay/nodes.ts): it serves
 * its three built files and nothing else on disk, sends its security headers, only reads, refuses
 * malformed hashes and queries with reasons, says when the relayer cannot be reached, and turns a node's
 * malformed or missing status into a row that says so.
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hex } from "viem";
import { MessageNotFoundError, type MpcRelayClient } from "@mpc-relay/sdk";
import type { ApiChannel } from "../../relayer/node/api/channel.ts";
import { startExplorer, type Explorer } from "../../relayer/explorer/server.ts";
import type { NetworkView } from "../../relayer/explorer/api-types.ts";
import { startRelayerApi } from "../../relayer/relay/api.ts";
import { RelayMetrics } from "../../relayer/relay/metrics.ts";
import { nodeViews } from "../../relayer/relay/nodes.ts";
import { listMessages } from "../../relayer/relay/queries.ts";
import { freePort } from "../../relayer/shared/ports.ts";
import { rawGet } from "../raw-request.ts";

/** An explorer with no chains over `relayerApi`, serving `webDir`; `overrides` change one part. */
function explorerOver(relayerApi: string, webDir: string, overrides: Partial<Parameters<typeof startExplorer>[0]> = {}): Promise<Explorer> {
  return startExplorer({
    host: "127.0.0.1",
    port: 0,
    relayerApi,
    clients: new Map(),
    chains: [],
    staking: null,
    commands: { configPath: "relayer.json" },
    webDir,
    onError: () => undefined,
    ...overrides,
  });
}

const channel = (name: string, answer: () => Promise<{ status: number; body: unknown }>): ApiChannel => ({ name, request: () => answer() });

describe("explorer server", () => {
  let webDir: string;
  let relayer: Server;
  let explorer: Explorer;
  let relayerApi: string;
  const errors: unknown[] = [];

  before(async () => {
    webDir = await mkdtemp(join(tmpdir(), "explorer-web-"));
    await writeFile(join(webDir, "index.html"), "<!doctype html><title>explorer</title>");
    await writeFile(join(webDir, "app.js"), "console.log('app')");
    await writeFile(join(webDir, "style.css"), "body{}");
    // Beside the page: must never be served.
    await writeFile(join(webDir, "secret.txt"), "not for the web");
    relayer = await startRelayerApi({
      host: "127.0.0.1",
      port: 0,
      status: () => Promise.resolve(null),
      messages: (q) => Promise.resolve(listMessages([], q)),
      stats: () => Promise.reject(new Error("not asked here")),
      nodes: () =>
        nodeViews([
          channel("node-a", () =>
            Promise.resolve({
              status: 200,
              body: {
                index: 1,
                peerId: "12D3KooW",
                peers: [{}, {}],
                connectedPeers: [2],
                keys: [{ keyId: "relay", status: "READY", threshold: 2, participants: [1, 2, 3] }],
                presignPool: { relay: 4 },
              },
            }),
          ),
          // A node that answers garbage: every field is checked, nothing is trusted as it is.
          channel("node-b", () => Promise.resolve({ status: 200, body: { index: "one", keys: "all of them", presignPool: { relay: "many" }, rssBytes: -Infinity } })),
          channel("node-c", () => Promise.reject(new Error("cannot reach node API http://node-c: connection refused"))),
          channel("node-d", () => Promise.resolve({ status: 403, body: { error: "GET /v1/status is for this node's operator only" } })),
          // A node that sends far too much, of the wrong types: cut to bounds, each field checked.
          channel("node-e", () =>
            Promise.resolve({
              status: 200,
              body: {
                index: 5,
                keys: Array.from({ length: 5_000 }, (_, i) => ({ keyId: `k${i}`.padEnd(10_000, "x"), status: { evil: true }, participants: Array.from({ length: 10_000 }, (_, p) => p) })),
                presignPool: JSON.parse('{"__proto__": 7, "relay": 3}') as unknown,
              },
            }),
          ),
        ]),
      readiness: () => ({ ready: false, checks: { mpc: { ok: false, detail: "1 node(s) hold key relay READY; 2 must sign" } } }),
      metrics: new RelayMetrics(),
      onError: (error) => errors.push(error),
    });
    const address = relayer.address();
    relayerApi = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
    explorer = await explorerOver(relayerApi, webDir, { onError: (error) => errors.push(error) });
  });
  after(async () => {
    await explorer?.close();
    await new Promise<void>((resolve) => relayer?.close(() => resolve()));
    await rm(webDir, { recursive: true, force: true });
  });

  const get = (path: string, init?: RequestInit) => fetch(new URL(path, explorer.url), init);

  it("serves the page with its security headers, and nothing else from disk", async () => {
    const page = await get("/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /text\/html/);
    assert.match(page.headers.get("content-security-policy")!, /default-src 'self'.*script-src 'self'/);
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    assert.equal((await get("/app.js")).headers.get("content-type"), "text/javascript; charset=utf-8");
    for (const path of ["/secret.txt", "/..%2fpackage.json", "/%2e%2e/%2e%2e/etc/passwd", "/app.js/", "/index.html.map"]) {
      const response = await get(path);
      assert.equal(response.status, 404, path);
      assert.doesNotMatch(await response.text(), /not for the web|root:/, path);
    }
  });

  it("only reads", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await get("/api/messages", { method });
      assert.equal(response.status, 405, method);
    }
  });

  it("a request whose path is no URL path gets 400, and the explorer keeps serving", async () => {
    for (const target of ["//", "//:99/api/network"]) assert.equal((await rawGet(explorer.url, target)).status, 400, target);
    assert.equal((await get("/")).status, 200);
  });

  it("refuses malformed hashes and bad queries with the reason; an unknown message is a 404 that says where it looked", async () => {
    const bad = await get("/api/messages/0x1234");
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /0x and 64 hex digits/);
    assert.equal((await get("/api/tx/<script>")).status, 400);
    const query = await get("/api/messages?pageSize=100000");
    assert.equal(query.status, 400, "the relayer's refusal passes through as a refusal");
    assert.match(((await query.json()) as { error: string }).error, /relayer API: invalid query: pageSize/);
    const unknown = await get(`/api/messages/0x${"0".repeat(64)}`);
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { error: string }).error, /not sent by a source gateway of the configured chains/);
    assert.equal((await get("/api/nope")).status, 404);
  });

  it("the network page: each node's row says what it is, or why it could not be read", async () => {
    const view = (await (await get("/api/network")).json()) as NetworkView;
    assert.equal(view.relayer.ready, false);
    assert.match(JSON.stringify(view.relayer.checks), /2 must sign/);
    const [a, b, c, d, e] = view.nodes;
    assert.deepEqual([a!.reachable, a!.index, a!.peers, a!.connectedPeers, a!.presignPool.relay, a!.keys[0]!.participants], [true, 1, 2, 1, 4, [1, 2, 3]]);
    assert.deepEqual([b!.reachable, b!.index, b!.keys, b!.presignPool, b!.rssBytes], [true, null, [], {}, null], "garbage fields become empty, not errors");
    assert.equal(c!.reachable, false);
    assert.match(c!.error!, /connection refused/);
    assert.match(d!.error!, /answered 403: .*operator only/);
    assert.equal(e!.keys.length, 64);
    assert.ok(e!.keys.every((k) => k.keyId.length <= 200 && k.status === "unknown" && k.participants.length <= 256));
    assert.deepEqual(Object.entries(e!.presignPool), [
      ["__proto__", 7],
      ["relay", 3],
    ]);
    assert.deepEqual(view.errors, []);
  });

  it("searches the chains for at most two ids the relayer does not know at once; a third is told to come back", async () => {
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // A source chain whose search takes until the test lets it end (then finds nothing).
    const slow = {
      status: async (id: Hex) => {
        await gate;
        throw new MessageNotFoundError(id, { chainId: 1, fromBlock: 0n, toBlock: 9n });
      },
    } as unknown as MpcRelayClient;
    const searching = await explorerOver(relayerApi, webDir, { clients: new Map([[1, slow]]) });
    try {
      const ask = (digit: string) => fetch(new URL(`/api/messages/0x${digit.repeat(64)}`, searching.url));
      const first = [ask("1"), ask("2")];
      await new Promise((resolve) => setTimeout(resolve, 300));
      const third = await ask("3");
      assert.equal(third.status, 429);
      assert.match(((await third.json()) as { error: string }).error, /already searching the chains for messages the relayer does not know \(2 at once\)/);
      release();
      for (const answer of await Promise.all(first)) assert.equal(answer.status, 404);
      assert.equal((await ask("3")).status, 404, "once the searches end, the next is served");
    } finally {
      release();
      await searching.close();
    }
  });

  it("says so when the relayer cannot be reached, and when the page is not built", async () => {
    const down = await explorerOver(`http://127.0.0.1:${await freePort()}`, webDir);
    try {
      const list = await fetch(new URL("/api/messages", down.url));
      assert.equal(list.status, 502);
      assert.match(((await list.json()) as { error: string }).error, /cannot reach relayer API .*connection refused/);
      const network = (await (await fetch(new URL("/api/network", down.url))).json()) as NetworkView;
      assert.equal(network.relayer.ready, false);
      assert.match(network.relayer.error!, /connection refused/);
      assert.match(network.errors.join("\n"), /relayer nodes: cannot reach relayer API/);
    } finally {
      await down.close();
    }
    await assert.rejects(explorerOver("http://127.0.0.1:1", join(webDir, "missing")), /the explorer's page is not built .*ENOENT.*npm run build/);
    assert.deepEqual(errors, [], "nothing above was an unexpected server error");
  });
});

describe("explorer page sources", () => {
  it("make no markup from data: no HTML sinks, and every link is the page's own route or the configured block explorer", async () => {
    const root = join(import.meta.dirname, "../../web/src");
    const files = (await readdir(root, { recursive: true })).filter((f) => /\.tsx?$/.test(f));
    assert.ok(files.length >= 10, "the page's sources are read");
    const offences: string[] = [];
    for (const file of files) {
      const source = await readFile(join(root, file), "utf8");
      for (const sink of ["dangerouslySetInnerHTML", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"])
        if (source.includes(sink)) offences.push(`${file}: ${sink}`);
      // href only from a route helper (#/...), a literal, or the chain's configured block explorer template.
      for (const [, value] of source.matchAll(/href=\{([^}]+)\}/g))
        if (!/^(href|item\.href|external|messageHash\(|txHash\(|internal \? txHash\()/.test(value!.trim())) offences.push(`${file}: href={${value}}`);
    }
    assert.deepEqual(offences, []);
  });
});
