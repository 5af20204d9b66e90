/** The shared eth_getLogs range splitting (packages/sdk/src/log-ranges.ts) against a fake provider with a range cap. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { refusesRange, scanLogs } from "@mpc-relay/sdk";

/** A provider holding one "log" per block in `blocks`, refusing ranges wider than `cap`. */
function provider(blocks: number[], cap: number, refusal: () => Error = () => Object.assign(new Error("query exceeds max block range"), { code: -32602 })) {
  const calls: [number, number][] = [];
  return {
    calls,
    async getLogs(from: number, to: number): Promise<number[]> {
      calls.push([from, to]);
      if (to - from + 1 > cap) throw refusal();
      return blocks.filter((b) => b >= from && b <= to);
    },
  };
}

const fail = (message: string): Error => new Error(message);

describe("scanLogs", () => {
  it("splits refused ranges, keeps the smaller span for the next calls, and returns every log ascending", async () => {
    const p = provider([3, 150, 999], 100);
    const span = { value: 1000 };
    const logs = await scanLogs({ from: 0, to: 999, span, getLogs: p.getLogs, splits: refusesRange, maxCalls: 100, fail });
    assert.deepEqual(logs, [3, 150, 999]);
    assert.ok(span.value <= 100);
    const refused = p.calls.filter(([f, t]) => t - f + 1 > 100).length;
    assert.ok(refused <= 4, `${refused} refused calls (each halving)`);
  });

  it("newest first stops at the first range with a match", async () => {
    const p = provider([10, 950], 1000);
    const logs = await scanLogs({ from: 0, to: 10_000, span: { value: 100 }, order: "descending", until: (chunk) => chunk.length > 0, getLogs: p.getLogs, splits: refusesRange, maxCalls: 1000, fail });
    assert.deepEqual(logs, [950]);
    assert.deepEqual(p.calls[0], [9901, 10_000]);
    assert.equal(p.calls.length, 91, "10000 down to 901 in ranges of 100, the last one holding the match");
  });

  it("does not split on other errors, and bounds the calls", async () => {
    const down = provider([], 10, () => new Error("fetch failed: connection refused"));
    await assert.rejects(scanLogs({ from: 0, to: 100, span: { value: 50 }, getLogs: down.getLogs, splits: refusesRange, maxCalls: 10, fail }), /connection refused/);
    assert.equal(down.calls.length, 1);
    const capped = provider([], 1);
    await assert.rejects(scanLogs({ from: 0, to: 100, span: { value: 1 }, getLogs: capped.getLogs, splits: refusesRange, maxCalls: 10, fail }), /more than 10 eth_getLogs calls for blocks 0\.\.100/);
  });

  it("recognises the providers' refusals", () => {
    assert.ok(refusesRange(Object.assign(new Error("Limit exceeded"), { code: -32005 })));
    assert.ok(refusesRange(new Error("eth_getLogs is limited to a 10,000 range")));
    assert.ok(refusesRange(new Error("query returned more than 10000 results")));
    assert.ok(refusesRange({ cause: new Error("block range is too wide") }));
    assert.ok(!refusesRange(new Error("connection refused")));
  });
});
