/** The refresh schedule every member computes alone (relayer/node/session/schedule.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkScheduled, coordinatorOf, slotAt, slotStart, windowAt } from "../../relayer/node/session/schedule.ts";
import { SessionError } from "../../relayer/node/session/errors.ts";

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
});
