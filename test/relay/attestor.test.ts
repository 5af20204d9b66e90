/**
 * The relayer's choice of coordinator: a node that gave no answer (down, or its host cut off without a
 * reset, so every request to it runs into the timeout) is asked after the others until it answers again.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ApiChannel } from "../../relayer/node/api/channel.ts";
import { MpcClient } from "../../relayer/relay/attestor.ts";
import { relayLogger } from "../../relayer/relay/log.ts";

const REQUEST = { type: "messageAttestation", srcChainId: 1, messageId: `0x${"11".repeat(32)}`, dstChainId: 2, targetGateway: `0x${"22".repeat(20)}` } as const;

/** A node whose answers the test controls; `cut` makes it hang until the caller gives up. */
function node(name: string, asked: string[]): ApiChannel & { cut: boolean } {
  return {
    name,
    cut: false,
    async request(_method, _path, _body, signal) {
      asked.push(name);
      if (this.cut) {
        await new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error(`${name}: no answer`)), { once: true }));
      }
      return { status: 200, body: { signature: "0x", signers: [name] } };
    },
  };
}

describe("MpcClient coordinator choice", () => {
  it("asks a node that gave no answer last, until a probe finds it answering again", async (t) => {
    // AbortSignal.timeout does not hold the event loop open; the relayer's other timers do, this one here.
    const keepAlive = setInterval(() => {}, 1_000);
    t.after(() => clearInterval(keepAlive));
    const asked: string[] = [];
    const nodes = [node("n1", asked), node("n2", asked), node("n3", asked)];
    const client = new MpcClient(nodes, "relay", 50, relayLogger("error"));
    nodes[0]!.cut = true;

    // The rotation starts at n1: it hangs until the timeout, then n2 signs.
    assert.deepEqual((await client.sign(REQUEST)).signers, ["n2"]);
    assert.deepEqual(asked.splice(0), ["n1", "n2"]);
    // From now on n1 is asked last: each request goes straight to a node that answers.
    for (let i = 0; i < 4; i++) await client.sign(REQUEST);
    assert.ok(!asked.includes("n1"), `n1 was not asked again: ${asked.join(",")}`);
    asked.splice(0);

    // Its host is back and a probe saw it answer: it takes its turn again.
    nodes[0]!.cut = false;
    client.noteProbe(0, true);
    for (let i = 0; i < 3; i++) await client.sign(REQUEST);
    assert.ok(asked.includes("n1"));
    // If every node is silent, each is still tried, the silent ones too.
    for (const n of nodes) n.cut = true;
    for (let i = 0; i < 3; i++) client.noteProbe(i, false);
    asked.splice(0);
    await assert.rejects(client.sign(REQUEST), /no answer/);
    assert.equal(new Set(asked).size, 3);
  });
});
