/**
 * One message's page from the SDK's one status (relayer/explorer/detail.ts): the timeline merges the
 * relayer's history with the chains' facts, a failure says why in words, and the remedies fit it
 * (out of gas: add gas first; retryable: retry; on its way: nothing to do).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Hex } from "viem";
import { mergeStatus, type MessageStatus, type RelayerView, type SourceView, type TargetView } from "@mpc-relay/sdk";
import { messageDetail } from "../../relayer/explorer/detail.ts";

const ID = `0x${"ab".repeat(32)}` as Hex;
const SOURCE_TX = `0x${"11".repeat(32)}` as Hex;
const FAIL_TX = `0x${"22".repeat(32)}` as Hex;
const DELIVERY_TX = `0x${"33".repeat(32)}` as Hex;
const message = {
  nonce: 7n,
  srcChainId: 1n,
  srcGateway: `0x${"01".repeat(20)}` as Hex,
  sender: `0x${"02".repeat(20)}` as Hex,
  dstChainId: 2n,
  receiver: `0x${"03".repeat(20)}` as Hex,
  gasLimit: 100_000n,
  payload: "0x" as Hex,
};
const source: SourceView = { chainId: 1, txHash: SOURCE_TX, blockNumber: 40n, logIndex: 0, finalBlock: 45n, final: true };
const commands = { configPath: "relayer.json" };

function status(target: TargetView, relayer: RelayerView): MessageStatus {
  return mergeStatus({ messageId: ID, message, source, target, relayer });
}

const known = (state: string, history: [string, number, string?][], extra: Partial<Extract<RelayerView, { kind: "known" }>> = {}): RelayerView => ({
  kind: "known",
  url: "http://relayer",
  state,
  deliveryTxHash: null,
  lastError: null,
  attempts: 0,
  signers: [1, 3, 4],
  history: history.map(([s, at, detail]) => (detail === undefined ? { state: s, at } : { state: s, at, detail })),
  ...extra,
});

describe("explorer: one message", () => {
  it("out of gas: the timeline up to the failure, the reason in words, add gas first", () => {
    const target: TargetView = {
      kind: "read",
      chainId: 2,
      state: "failed",
      txHash: FAIL_TX,
      reason: { kind: "empty", summary: "reverted without data" },
      retry: { possible: false, error: { kind: "empty", summary: "reverted without data" } },
    };
    const d = messageDetail(
      status(
        target,
        known("failed", [
          ["seen", 1],
          ["final", 2],
          ["attested", 3, "signed by parties 1,3,4"],
          ["failed", 4, "receiver reverted on chain 2; kept there for retry"],
        ]),
      ),
      commands,
    );
    assert.equal(d.state, "failed");
    assert.deepEqual(
      d.timeline.map((s) => s.step),
      ["sent", "final", "attested", "failed"],
    );
    assert.deepEqual(d.timeline[0]!.tx, { chainId: 1, hash: SOURCE_TX });
    assert.deepEqual(d.timeline[2]!.signers, [1, 3, 4]);
    assert.deepEqual(d.timeline[3]!.tx, { chainId: 2, hash: FAIL_TX }, "the failure links to the target's transaction");
    assert.match(d.failure!, /reverted without data/);
    assert.match(d.failure!, /a retry now would revert too/);
    assert.deepEqual(
      d.remedies.map((r) => r.action),
      ["add-gas", "retry", "abandon"],
    );
    assert.match(d.remedies[0]!.command!, new RegExp(`^mpc-relay add-gas ${ID} <extra gas> --config relayer\\.json`));
  });

  it("a receiver's own error: retry first; once retryable, the timeline says so", () => {
    const reason = { kind: "error", message: "paused", summary: 'Error("paused")' } as const;
    const failing = messageDetail(status({ kind: "read", chainId: 2, state: "failed", txHash: FAIL_TX, reason, retry: { possible: false, error: reason } }, { kind: "not-configured" }), commands);
    assert.deepEqual(
      failing.remedies.map((r) => r.action),
      ["retry", "add-gas", "abandon"],
    );
    assert.deepEqual(
      failing.timeline.map((s) => [s.step, s.at]),
      [
        ["sent", null],
        ["final", null],
        ["failed", null],
      ],
      "without a relayer the steps come from the chains, without times",
    );
    const retryable = messageDetail(status({ kind: "read", chainId: 2, state: "failed", txHash: FAIL_TX, reason, retry: { possible: true, error: null } }, { kind: "not-configured" }), commands);
    assert.equal(retryable.state, "retryable");
    assert.equal(retryable.timeline.at(-1)!.step, "retryable");
    assert.deepEqual(
      retryable.remedies.map((r) => r.action),
      ["retry", "abandon"],
    );
  });

  it("delivered after a failure and a retry: no failure, no remedy, the delivery's transaction", () => {
    const d = messageDetail(
      status(
        { kind: "read", chainId: 2, state: "delivered", txHash: DELIVERY_TX, reason: null, retry: null },
        known(
          "delivered",
          [
            ["seen", 1],
            ["final", 2],
            ["attested", 3],
            ["failed", 4],
            ["retried", 5],
            ["delivered", 6, `tx ${DELIVERY_TX}`],
          ],
          { deliveryTxHash: DELIVERY_TX },
        ),
      ),
      commands,
    );
    assert.equal(d.state, "delivered");
    assert.deepEqual(
      d.timeline.map((s) => s.step),
      ["sent", "final", "attested", "failed", "retried", "delivered"],
    );
    assert.deepEqual(d.timeline.at(-1)!.tx, { chainId: 2, hash: DELIVERY_TX });
    assert.equal(d.failure, null);
    assert.deepEqual(d.remedies, []);
  });

  it("on its way with a relayer that keeps failing: its last error, and wait", () => {
    const d = messageDetail(
      status(
        { kind: "read", chainId: 2, state: "unreceived", txHash: null, reason: null, retry: null },
        known(
          "final",
          [
            ["seen", 1],
            ["final", 2],
          ],
          { lastError: "attestation: only 2 of 3 nodes answered", attempts: 3 },
        ),
      ),
      commands,
    );
    assert.equal(d.state, "final");
    assert.match(d.failure!, /only 2 of 3 nodes answered/);
    assert.deepEqual(
      d.remedies.map((r) => [r.action, r.command]),
      [["wait", null]],
    );
    assert.equal(d.relayer.attempts, 3);
  });

  it("a relayer that claims a delivery the target chain does not show gets no delivered step, and its malformed hashes no link", () => {
    const d = messageDetail(
      status(
        { kind: "read", chainId: 2, state: "unreceived", txHash: null, reason: null, retry: null },
        known(
          "delivered",
          [
            ["seen", 1],
            ["final", 2],
            ["attested", 3],
            ["delivered", 4, "tx ../../admin"],
          ],
          { deliveryTxHash: "../../admin" as Hex },
        ),
      ),
      commands,
    );
    assert.notEqual(d.state, "delivered");
    assert.deepEqual(
      d.timeline.map((s) => s.step),
      ["sent", "final", "attested"],
    );
    assert.ok(d.timeline.every((s) => s.tx === null || /^0x[0-9a-fA-F]{64}$/.test(s.tx.hash)));
    assert.match(d.timeline[2]!.text, /as the relayer reports/);
    assert.notEqual(d.behind, null, "the disagreement is named");
  });
});
