/** The refresh schedule every member computes alone (relayer/node/session/schedule.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkScheduled, coordinatorOf, slotAt, slotStart, windowAt } from "../../relayer/node/session/schedule.ts";
import { SessionError } from "../../relayer/node/session/errors.ts";
import { RefreshScheduler } from "../../relayer/node/refresh-scheduler.ts";
import type { KeyRecord, KeyStore } from "../../relayer/node/keystore.ts";
import { NodeMetrics } from "../../relayer/node/metrics.ts";
import { createLogger } from "../../relayer/shared/log.ts";

const schedule = { periodMs: 60_000, graceMs: 10_000 };
const committee = [1, 2, 3, 4, 5];

describe("refresh schedule", () => {
  it("rotates the coordinator over the slot's windows, starting at slot mod n", () => {
    const slot = 7;
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((w) => coordinatorOf(committee, slot, w)),
      [3, 4, 5, 1, 2, 3],
    );
    const at = slotStart(schedule, slot) + 25_000;
    assert.equal(slotAt(schedule, at), slot);
    assert.equal(windowAt(schedule, slot, at), 2);
  });

  it("a member takes part only when its own clock says the proposer's turn has come in a due slot", () => {
    const slot = 7;
    const start = slotStart(schedule, slot);
    const old = start - 1;
    // The window-0 coordinator at once; the window-2 one only after 20 s (less the skew).
    checkScheduled(schedule, committee, 3, slot, old, start + 1);
    assert.throws(
      () => checkScheduled(schedule, committee, 5, slot, old, start + 1),
      (e: unknown) => e instanceof SessionError && e.kind === "unauthorized",
    );
    checkScheduled(schedule, committee, 5, slot, old, start + 20_001);
    // Not yet due, or long past, by this node's clock.
    assert.throws(
      () => checkScheduled(schedule, committee, 3, slot, old, start - 10_000),
      (e: unknown) => e instanceof SessionError && e.kind === "conflict",
    );
    assert.throws(
      () => checkScheduled(schedule, committee, 3, slot, old, start + 70_000),
      (e: unknown) => e instanceof SessionError && e.kind === "conflict",
    );
    // Once per slot: a sharing made since the slot began ends it.
    assert.throws(() => checkScheduled(schedule, committee, 3, slot, start + 5, start + 6), /already got a new sharing/);
    // A node with no schedule accepts none.
    assert.throws(
      () => checkScheduled(null, committee, 3, slot, old, start + 1),
      (e: unknown) => e instanceof SessionError && e.kind === "unauthorized",
    );
  });

  it("a node retries its failed scheduled refresh with backoff within the slot, counting each failure", async () => {
    // A one-member committee: every window is this node's turn.
    let createdAt = 0;
    const store = { listKeys: async () => [{ keyId: "k", status: "READY", participants: [7], generations: [{ createdAt }] } as unknown as KeyRecord] } as unknown as KeyStore;
    const calls: number[] = [];
    const metrics = new NodeMetrics();
    const scheduler = new RefreshScheduler(
      7,
      store,
      { periodMs: 600_000, graceMs: 400 },
      async () => {
        calls.push(Date.now());
        if (calls.length < 3) throw new SessionError("unavailable", "a member is down");
        createdAt = Date.now();
      },
      () => false,
      metrics,
      createLogger({}, "error", () => {}),
    );
    scheduler.start();
    const keepAlive = setInterval(() => {}, 100);
    try {
      const deadline = Date.now() + 10_000;
      while (calls.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      scheduler.stop();
      clearInterval(keepAlive);
    }
    assert.equal(calls.length, 3, "two failures, then the refresh that succeeds; none after it in this slot");
    assert.ok(calls[1]! - calls[0]! >= 1_000 && calls[2]! - calls[1]! >= 400, `backoff between attempts: ${calls.map((c) => c - calls[0]!).join(", ")} ms`);
    assert.equal((await metrics.refreshFailures.get()).values.find((v) => v.labels.key_id === "k")?.value, 2);
  });
});
