/**
 * The relayer API's list and statistics (relayer/relay/queries.ts, api.ts) over hand-made records:
 * search by id, source tx, sender and receiver; filters; pages; the performance series; and queries
 * it refuses (each with a reason, never a silent default).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { keccak256, toHex, type Hex } from "viem";
import { startRelayerApi } from "../../relayer/relay/api.ts";
import { rawGet } from "../raw-request.ts";
import { RelayMetrics } from "../../relayer/relay/metrics.ts";
import { listMessages, MAX_POINTS, messageQuerySchema, performance } from "../../relayer/relay/queries.ts";
import { RelayStore, type GasEntry, type MessageRecord, type MessageState } from "../../relayer/relay/store.ts";

const T0 = 1_800_000_000_000;
const hex = (n: number, bytes: number): Hex => `0x${n.toString(16).padStart(bytes * 2, "0")}`;

function record(n: number, o: { src?: number; dst?: number; sender?: number; history: [MessageState, number][] }): MessageRecord {
  const history = o.history.map(([state, at]) => ({ state, at }));
  return {
    messageId: keccak256(toHex(`message ${n}`)),
    srcChainId: o.src ?? 1,
    dstChainId: o.dst ?? 2,
    message: {
      nonce: String(n),
      srcChainId: String(o.src ?? 1),
      srcGateway: hex(1, 20),
      sender: hex(o.sender ?? 0x5e, 20),
      dstChainId: String(o.dst ?? 2),
      receiver: hex(0xbeef00 + n, 20),
      gasLimit: "100000",
      payload: "0x",
    },
    txHash: keccak256(toHex(`transaction ${n}`)),
    logIndex: 0,
    blockNumber: 10 + n,
    blockHash: hex(n, 32),
    state: history.at(-1)!.state,
    extraGas: "0",
    attempts: 0,
    nextAttemptAt: 0,
    history,
    updatedAt: history.at(-1)!.at,
  };
}

const records: MessageRecord[] = [
  // Delivered 2 s after it was seen; signed 500 ms after it was final.
  record(1, {
    history: [
      ["seen", T0],
      ["final", T0 + 1_000],
      ["attested", T0 + 1_500],
      ["delivered", T0 + 2_000],
    ],
  }),
  record(2, {
    history: [
      ["seen", T0 + 10_000],
      ["final", T0 + 11_000],
      ["attested", T0 + 11_200],
      ["failed", T0 + 12_000],
    ],
  }),
  record(3, {
    src: 2,
    dst: 1,
    sender: 0x77,
    history: [
      ["seen", T0 + 20_000],
      ["final", T0 + 21_000],
    ],
  }),
  record(4, {
    history: [
      ["seen", T0 + 30_000],
      ["final", T0 + 30_500],
      ["attested", T0 + 31_000],
      ["delivered", T0 + 40_000],
    ],
  }),
];
const query = (raw: Record<string, string>) => messageQuerySchema.parse(raw);

describe("relayer API: message list", () => {
  it("newest first, with every route and state for the filters", () => {
    const page = listMessages(records, query({}));
    assert.deepEqual(
      page.items.map((m) => m.nonce),
      ["4", "3", "2", "1"],
    );
    assert.equal(page.total, 4);
    assert.deepEqual(page.routes, [
      { srcChainId: 1, dstChainId: 2 },
      { srcChainId: 2, dstChainId: 1 },
    ]);
    assert.deepEqual(page.states, ["final", "delivered", "failed"]);
    assert.equal(page.items[0]!.seenAt, T0 + 30_000);
  });

  it("finds a message by its id, source transaction, sender or receiver, whole or by prefix, in any case", () => {
    const r = records[1]!;
    for (const q of [r.messageId, r.messageId.slice(0, 12).toUpperCase().replace("0X", "0x"), r.txHash, r.message.receiver]) {
      assert.deepEqual(
        listMessages(records, query({ q })).items.map((m) => m.messageId),
        [r.messageId],
        `search ${q}`,
      );
    }
    assert.deepEqual(
      listMessages(records, query({ q: hex(0x77, 20) })).items.map((m) => m.nonce),
      ["3"],
      "by sender",
    );
    assert.equal(listMessages(records, query({ q: hex(0xdead, 32) })).total, 0);
  });

  it("filters by route and state, and pages", () => {
    assert.deepEqual(
      listMessages(records, query({ route: "2-1" })).items.map((m) => m.nonce),
      ["3"],
    );
    assert.deepEqual(
      listMessages(records, query({ state: "delivered" })).items.map((m) => m.nonce),
      ["4", "1"],
    );
    const second = listMessages(records, query({ page: "2", pageSize: "3" }));
    assert.deepEqual(
      second.items.map((m) => m.nonce),
      ["1"],
    );
    assert.equal(second.total, 4);
    assert.equal(listMessages(records, query({ page: "3", pageSize: "3" })).items.length, 0, "a page past the end is empty, not an error");
  });
});

describe("relayer API: performance series", () => {
  const gas: GasEntry[] = [
    { at: T0 + 2_000, chainId: 2, txHash: hex(0x91, 32), gasUsed: "90000", costWei: "90000000000000" },
    { at: T0 - 7_200_000, chainId: 2, txHash: hex(0x92, 32), gasUsed: "1", costWei: "1" },
  ];
  const view = performance(records, gas, 3_600_000, T0 + 60_000);

  it("delivery and signing latencies, and their distribution", () => {
    assert.deepEqual(
      view.deliveries.map((d) => d.latencyMs),
      [2_000, 10_000],
    );
    assert.deepEqual(
      view.signing.map((s) => s.latencyMs),
      [500, 200, 500],
    );
    const counted = view.latencyHistogram.filter((b) => b.count > 0).map((b) => [b.upperMs, b.count]);
    assert.deepEqual(counted, [
      [2_000, 1],
      [10_000, 1],
    ]);
  });

  it("throughput and backlog per bucket, gas inside the window only", () => {
    assert.equal(
      view.throughput.reduce((n, b) => n + b.seen, 0),
      4,
    );
    assert.equal(
      view.throughput.reduce((n, b) => n + b.delivered, 0),
      2,
    );
    assert.ok(view.throughput.length <= 120 && view.bucketMs * view.throughput.length >= 3_600_000);
    const last = (route: string) => view.backlog.find((b) => b.route === route)!.points.at(-1)!.count;
    assert.equal(last("1-2"), 1, "the failed message is still open on route 1-2");
    assert.equal(last("2-1"), 1);
    assert.deepEqual(
      view.gas.filter((g) => g.transactions > 0).map((g) => [g.transactions, g.gasUsed, g.costWei]),
      [[1, "90000", "90000000000000"]],
      "only the transaction inside the window",
    );
    assert.deepEqual(view.summary, { deliveries: 2, p50Ms: 2_000, p95Ms: 10_000, seen: 4, gasTransactions: 1, gasUsed: "90000", costWei: "90000000000000" });
  });

  it("thins long latency series evenly, keeping the first and the last; the summary stays exact", () => {
    const many = Array.from({ length: 2_500 }, (_, i) =>
      record(100 + i, {
        history: [
          ["seen", T0 + i],
          ["final", T0 + i + 1],
          ["attested", T0 + i + 2],
          ["delivered", T0 + i + 3 + i],
        ],
      }),
    );
    const thinned = performance(many, [], 3_600_000, T0 + 60_000);
    assert.equal(thinned.deliveries.length, MAX_POINTS);
    assert.equal(thinned.signing.length, MAX_POINTS);
    assert.equal(thinned.deliveries[0]!.latencyMs, 3);
    assert.equal(thinned.deliveries.at(-1)!.latencyMs, 3 + 2_499);
    assert.equal(thinned.summary.deliveries, 2_500);
    assert.equal(thinned.summary.p50Ms, 3 + 1_249);
    assert.equal(
      thinned.latencyHistogram.reduce((n, b) => n + b.count, 0),
      2_500,
    );
  });
});

describe("relayer API: GET /v1/messages and /v1/stats", () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = await startRelayerApi({
      host: "127.0.0.1",
      port: 0,
      status: () => Promise.resolve(null),
      messages: (q) => Promise.resolve(listMessages(records, q)),
      stats: (windowMs) => Promise.resolve(performance(records, [], windowMs, T0 + 60_000)),
      nodes: () => Promise.resolve([]),
      readiness: () => ({ ready: true, checks: {} }),
      metrics: new RelayMetrics(),
      onError: () => undefined,
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("answers a query", async () => {
    const response = await fetch(`${base}/v1/messages?state=failed&pageSize=5`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { items: { nonce: string }[] };
    assert.deepEqual(
      body.items.map((m) => m.nonce),
      ["2"],
    );
    assert.equal(((await (await fetch(`${base}/v1/stats?window=3600000`)).json()) as { deliveries: unknown[] }).deliveries.length, 2);
  });

  it("a request whose path is no URL path gets 400, and the API keeps serving", async () => {
    for (const target of ["//", "//:99/v1/messages"]) assert.equal((await rawGet(base, target)).status, 400, target);
    assert.equal((await fetch(`${base}/health`)).status, 200);
  });

  it("refuses bad queries with the reason", async () => {
    const cases: [string, RegExp][] = [
      ["/v1/messages?pageSize=1000", /pageSize/],
      ["/v1/messages?page=0", /page/],
      ["/v1/messages?route=a-b", /route is <srcChainId>-<dstChainId>/],
      ["/v1/messages?state=lost", /state/],
      ["/v1/messages?limit=5", /limit|unrecognized/i],
      ["/v1/messages?q=a&q=b", /given twice/],
      ["/v1/messages?__proto__=x", /__proto__|unrecognized/i],
      ["/v1/messages?constructor=x", /constructor|unrecognized/i],
      ["/v1/stats?window=5", /window/],
    ];
    for (const [path, reason] of cases) {
      const response = await fetch(base + path);
      assert.equal(response.status, 400, path);
      assert.match(((await response.json()) as { error: string }).error, reason, path);
    }
  });
});

describe("relay store: the digests the list and statistics read", () => {
  it("reads the store once, then every write keeps them current, also writes made while they load", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relay-digests-"));
    const store = await RelayStore.open(join(dir, "db"));
    try {
      await store.commit(records.map((r) => structuredClone(r)));
      const loading = store.digests();
      // Written while the first read runs: the digests must show it, not the older stored copy.
      const changed = { ...structuredClone(records[2]!), state: "attested" as const, updatedAt: T0 + 99_000 };
      await store.put(changed);
      const first = await loading;
      assert.equal(first.length, 4);
      assert.equal(first.find((d) => d.messageId === changed.messageId)!.state, "attested");
      await store.commit([{ ...structuredClone(records[2]!), state: "delivered" }, record(5, { history: [["seen", T0 + 50_000]] })]);
      const later = await store.digests();
      assert.equal(later.length, 5);
      assert.equal(later.find((d) => d.messageId === changed.messageId)!.state, "delivered");
      assert.ok(
        later.every((d) => !("payload" in d.message) && !("signature" in d)),
        "a slim copy",
      );
      assert.deepEqual(
        listMessages(later, query({ state: "delivered" })).items.map((m) => m.nonce),
        ["4", "3", "1"],
      );
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
