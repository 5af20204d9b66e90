/** The one backoff rule (relayer/shared/backoff.ts) every retry uses: first wait, doubled per failure in a row, capped. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffMs } from "../../relayer/shared/backoff.ts";

describe("backoffMs", () => {
  it("waits firstMs after the first failure, doubles per further one, and stops at maxMs", () => {
    const limits = { firstMs: 500, maxMs: 5_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, limits)),
      [500, 1_000, 2_000, 4_000, 5_000, 5_000],
    );
    assert.equal(backoffMs(0, limits), 500, "no failure yet counts as the first");
    assert.equal(backoffMs(10_000, limits), 5_000, "no overflow past the cap");
    assert.equal(backoffMs(3, { firstMs: 1_000, maxMs: 400 }), 1_000, "a cap under the first wait never shortens it");
  });
});
