/**
 * The example configs of docs/operators.md (docs/examples/) are what the node and the relayer accept:
 * every field validates, every peer id decodes, and what the runbook says about them holds.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { peerIdFromString } from "@libp2p/peer-id";
import { nodeConfigSchema } from "../../relayer/node/config.ts";
import { parseRelayerConfig } from "../../relayer/relay/config.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const example = async (name: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(resolve(ROOT, "docs/examples", name), "utf8")) as Record<string, unknown>;

describe("docs/examples", () => {
  it("node.json is a valid node config: off-loopback peers by DNS, IPv4 and IPv6, three endpoints per chain, a majority quorum", async () => {
    const parsed = nodeConfigSchema.safeParse(await example("node.json"));
    assert.ok(parsed.success, parsed.error?.message);
    const config = parsed.data;
    for (const peer of [...config.peers, ...config.apiPeers]) peerIdFromString(peer.peerId);
    assert.ok(
      config.peers.some((p) => p.index === config.index),
      "the node is among its peers",
    );
    for (const chain of config.chains) {
      assert.ok(chain.rpcUrls.length >= 3);
      assert.equal(chain.quorum, 2);
      assert.equal(chain.finality, "finalized");
    }
    // The API stays on loopback: elsewhere it would need TLS.
    assert.equal(config.httpHost, "127.0.0.1");
    assert.equal(nodeConfigSchema.safeParse({ ...(await example("node.json")), httpHost: "0.0.0.0" }).success, false);
  });

  it("relayer.json is a valid relayer config that reaches the nodes over libp2p", async () => {
    const config = parseRelayerConfig(await example("relayer.json"), "/");
    assert.ok(config.mpc.nodes.every((node) => "peerId" in node));
    for (const node of config.mpc.nodes) if ("peerId" in node) peerIdFromString(node.peerId);
    const nodePeers = ((await example("node.json")).peers as { peerId: string }[]).map((p) => p.peerId);
    assert.ok(
      config.mpc.nodes.every((node) => "peerId" in node && nodePeers.includes(node.peerId)),
      "the relayer's nodes are committee members",
    );
  });
});
