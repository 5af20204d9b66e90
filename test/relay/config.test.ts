/** The relayer's and the node's chain configuration: defaults, paths and clear errors for bad input. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nodeChainSchema, nodeChainsSchema } from "../../relayer/node/chain/config.ts";
import { parseRelayerConfig, readSubmitterKey } from "../../relayer/relay/config.ts";

const gateway = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const base = {
  chains: [
    { chainId: 31337, name: "a", rpcUrls: ["http://127.0.0.1:8545"], sourceGateway: gateway, targetGateway: gateway },
    { chainId: 31338, name: "b", rpcUrls: ["http://127.0.0.1:8546"], sourceGateway: gateway, targetGateway: gateway },
  ],
  mpc: { nodes: [{ apiUrl: "http://127.0.0.1:7001", tokenEnv: "NODE_TOKEN" }] },
  delivery: { mode: "permissionless", submitterKeyFile: "./submitter.key" },
  storePath: "./db",
};

describe("relayer config", () => {
  it("fills defaults and resolves paths against the config's folder", () => {
    const config = parseRelayerConfig(base, "/etc/relayer");
    assert.equal(config.storePath, "/etc/relayer/db");
    assert.equal(config.delivery.submitterKeyFile, "/etc/relayer/submitter.key");
    assert.equal(config.chains[0]!.confirmations, 1);
    assert.equal(config.mpc.keyId, "relay");
    assert.equal(config.batch.enabled, false);
  });

  it("refuses bad input with the offending field", () => {
    assert.throws(() => parseRelayerConfig({ ...base, chains: [base.chains[0], base.chains[0]] }), /chains: chain ids must be unique/);
    assert.throws(() => parseRelayerConfig({ ...base, delivery: { mode: "permissionless" } }), /exactly one of submitterKeyEnv, submitterKeyFile/);
    assert.throws(() => parseRelayerConfig({ ...base, delivery: { mode: "permissionless", submitterKey: "0x01" } }), /delivery/);
    assert.throws(() => parseRelayerConfig({ ...base, chains: [{ ...base.chains[0], rpcUrls: ["ftp://rpc.example.org"] }] }), /http\(s\) or ws\(s\) URL/);
    assert.throws(() => parseRelayerConfig({ ...base, mpc: { nodes: [{ apiUrl: "http://127.0.0.1:1" }] } }), /mpc\.nodes\.0/);
    // A node's bearer token never travels in clear text: plain http only to a loopback host.
    assert.throws(() => parseRelayerConfig({ ...base, mpc: { nodes: [{ apiUrl: "http://node1.example.org:7001", token: "t".repeat(16) }] } }), /mpc\.nodes\.0/);
    assert.doesNotThrow(() => parseRelayerConfig({ ...base, mpc: { nodes: [{ apiUrl: "https://node1.example.org:7001", token: "t".repeat(16) }] } }));
    // Across machines, nodes by peer id over libp2p, with the relayer's own identity.
    const p2p = { peerId: "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN", address: "/dns4/node1.example.org/tcp/4001" };
    assert.throws(() => parseRelayerConfig({ ...base, mpc: { nodes: [p2p] } }), /identityKeyFile/);
    assert.throws(() => parseRelayerConfig({ ...base, mpc: { identityKeyFile: "./relayer.key", nodes: [{ ...p2p, address: "node1.example.org:4001" }] } }), /mpc\.nodes\.0/);
    const remote = parseRelayerConfig({ ...base, chains: [{ ...base.chains[0], rpcUrls: ["https://rpc.sepolia.example.org", "wss://ws.example.org"] }], mpc: { identityKeyFile: "./relayer.key", nodes: [p2p, { ...p2p, address: "/ip6/2001:db8::7/tcp/4001" }] } }, "/etc/relayer");
    assert.equal(remote.mpc.identityKeyFile, "/etc/relayer/relayer.key");
    assert.doesNotThrow(() => parseRelayerConfig({ ...base, delivery: { mode: "relayAddress" } }));
  });

  it("reads the submitter key from its environment variable and checks its shape", async () => {
    process.env.RELAY_TEST_KEY = "0x" + "11".repeat(32);
    assert.equal(await readSubmitterKey({ ...parseRelayerConfig(base).delivery, submitterKeyFile: undefined, submitterKeyEnv: "RELAY_TEST_KEY" }), process.env.RELAY_TEST_KEY);
    process.env.RELAY_TEST_KEY = "0x1234";
    await assert.rejects(readSubmitterKey({ ...parseRelayerConfig(base).delivery, submitterKeyFile: undefined, submitterKeyEnv: "RELAY_TEST_KEY" }), /32 bytes/);
    delete process.env.RELAY_TEST_KEY;
  });
});

describe("node chain config", () => {
  it("defaults the quorum to every endpoint and refuses an impossible quorum", () => {
    const chain = nodeChainSchema.parse({ chainId: 1, rpcUrls: ["http://127.0.0.1:1", "http://127.0.0.1:2"], sourceGateway: gateway, targetGateway: gateway, quorum: 2 });
    assert.equal(chain.confirmations, 1);
    assert.throws(() => nodeChainSchema.parse({ ...chain, quorum: 3 }), /quorum exceeds/);
    assert.throws(() => nodeChainsSchema.parse([chain, chain]), /unique/);
    assert.deepEqual(nodeChainsSchema.parse(undefined), []);
  });
});
