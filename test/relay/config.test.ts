/** The relayer's and the node's chain configuration: defaults, paths, the safety rules, and clear errors for bad input. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nodeChainSchema, nodeChainsSchema } from "../../relayer/node/chain/config.ts";
import { nodeConfigSchema, relayTransactionLimits } from "../../relayer/node/config.ts";
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
    const remote = parseRelayerConfig(
      {
        ...base,
        chains: [{ ...base.chains[0], rpcUrls: ["https://rpc.sepolia.example.org", "wss://ws.example.org"] }],
        mpc: { identityKeyFile: "./relayer.key", nodes: [p2p, { ...p2p, address: "/ip6/2001:db8::7/tcp/4001" }] },
      },
      "/etc/relayer",
    );
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
  const endpoints = (n: number) => Array.from({ length: n }, (_, i) => `http://127.0.0.1:${8545 + i}`);
  const chain = (extra: Record<string, unknown> = {}) => ({ chainId: 1, rpcUrls: endpoints(3), sourceGateway: gateway, targetGateway: gateway, ...extra });

  it("requires a quorum of more than half the endpoints, and defaults to the smallest majority", () => {
    for (let n = 1; n <= 6; n++) {
      assert.equal(nodeChainSchema.parse(chain({ rpcUrls: endpoints(n) })).quorum, Math.floor(n / 2) + 1, `default quorum of ${n}`);
      for (let quorum = 1; quorum <= n / 2; quorum++) {
        assert.throws(
          () => nodeChainSchema.parse(chain({ rpcUrls: endpoints(n), quorum })),
          new RegExp(`quorum ${quorum} of ${n} endpoints is not a majority: it must be at least ${Math.floor(n / 2) + 1}`),
        );
      }
      assert.equal(nodeChainSchema.parse(chain({ rpcUrls: endpoints(n), quorum: n })).quorum, n);
    }
    assert.throws(() => nodeChainSchema.parse(chain({ quorum: 4 })), /quorum 4 exceeds the number of rpcUrls \(3\)/);
    assert.throws(() => nodeChainsSchema.parse([chain(), chain()]), /unique/);
    assert.deepEqual(nodeChainsSchema.parse(undefined), []);
  });

  it("attests finalized blocks unless told otherwise, and takes only the finality rules it knows", () => {
    assert.equal(nodeChainSchema.parse(chain()).finality, "finalized");
    assert.equal(nodeChainSchema.parse(chain({ finality: "safe" })).finality, "safe");
    assert.deepEqual(nodeChainSchema.parse(chain({ finality: { confirmations: 12 } })).finality, { confirmations: 12 });
    assert.throws(() => nodeChainSchema.parse(chain({ finality: "latest" })), /finality/);
    assert.throws(() => nodeChainSchema.parse(chain({ finality: { confirmations: 0 } })), /finality/);
    // The old per-chain key is not silently ignored.
    assert.throws(() => nodeChainSchema.parse(chain({ confirmations: 1 })), /confirmations/);
  });
});

const PEER = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

describe("node config: relay-transaction policy and chain timeouts", () => {
  const node = (extra: Record<string, unknown>) => ({
    index: 1,
    dataDir: "./data",
    identityKeyFile: "./node.key",
    listen: ["/ip4/127.0.0.1/tcp/0"],
    httpPort: 0,
    peers: [{ index: 1, peerId: PEER, address: "/ip4/127.0.0.1/tcp/1" }],
    chains: [{ chainId: 31337, rpcUrls: ["http://127.0.0.1:8545"], sourceGateway: gateway, targetGateway: gateway }],
    ...extra,
  });
  const issue = (raw: unknown): string => {
    const parsed = nodeConfigSchema.safeParse(raw);
    assert.equal(parsed.success, false, "refused");
    return parsed.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n");
  };

  it("fills the limits of a chain that allows relay transactions, and allows none elsewhere", () => {
    const config = nodeConfigSchema.parse(node({ policy: { relayTransactions: { "31337": {} } } }));
    assert.deepEqual(config.policy.relayTransactions["31337"], { maxFeeWei: "100000000000000000", budgetWei: "1000000000000000000", periodS: 3600, maxTransactions: 3600 });
    const limits = relayTransactionLimits(config.policy);
    assert.deepEqual(limits.get(31337), { maxFeeWei: 10n ** 17n, budgetWei: 10n ** 18n, periodMs: 3_600_000, maxTransactions: 3600 });
    assert.equal(relayTransactionLimits(nodeConfigSchema.parse(node({})).policy).size, 0);
  });

  it("refuses limits for a chain it cannot read, a per-transaction cap above the budget, the old policy keys, and RPC timeouts past the prepare window", () => {
    assert.match(issue(node({ policy: { relayTransactions: { "5": {} } } })), /policy\.relayTransactions\.5: chain 5 is not in "chains"/);
    assert.match(issue(node({ policy: { relayTransactions: { "31337": { maxFeeWei: "2", budgetWei: "1" } } } })), /maxFeeWei exceeds budgetWei/);
    assert.match(issue(node({ policy: { relayTransactionTargets: { "31337": [gateway] }, maxFeeWei: "1" } })), /relayTransactionTargets/);
    const slow = node({ chains: [{ chainId: 31337, rpcUrls: ["http://127.0.0.1:8545"], sourceGateway: gateway, targetGateway: gateway, rpcTimeoutMs: 2_000 }] });
    assert.match(issue(slow), /chains\.0\.rpcTimeoutMs: rpcTimeoutMs 2000 must be below timeouts\.prepareMs 2000/);
    assert.doesNotThrow(() => nodeConfigSchema.parse({ ...slow, timeouts: { prepareMs: 3_000, roundMs: 5_000, keygenRoundMs: 15_000 } }));
  });
});

describe("node config: any host, but no token in clear text", () => {
  const base = {
    index: 1,
    dataDir: "./data",
    identityKeyFile: "./node.key",
    httpPort: 8701,
    peers: [{ index: 1, peerId: PEER, address: "/ip4/127.0.0.1/tcp/1" }],
    chains: [{ chainId: 31337, rpcUrls: ["http://127.0.0.1:8545"], sourceGateway: gateway, targetGateway: gateway }],
  };
  const problems = (raw: unknown): string => {
    const parsed = nodeConfigSchema.safeParse(raw);
    return parsed.success ? "" : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n");
  };

  it("takes peers, listen and announce addresses and RPC URLs on any host", () => {
    const config = nodeConfigSchema.parse({
      ...base,
      listen: ["/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001"],
      announce: ["/dns4/node1.example.org/tcp/4001"],
      peers: [
        { index: 1, peerId: PEER, address: "/dns4/node1.example.org/tcp/4001" },
        { index: 2, peerId: "12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE", address: "/ip4/203.0.113.7/tcp/4001" },
        { index: 3, peerId: "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", address: "/ip6/2001:db8::3/tcp/4001" },
        { index: 4, peerId: "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq", address: "/dnsaddr/node4.example.org" },
      ],
      chains: [
        { chainId: 11155111, rpcUrls: ["https://rpc.sepolia.example.org", "wss://ws.sepolia.example.org", "https://another.example.net/v3/key"], sourceGateway: gateway, targetGateway: gateway },
      ],
      apiPeers: [{ peerId: PEER, role: "relayer" }],
    });
    assert.deepEqual(config.listen, ["/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001"]);
    assert.equal(config.httpHost, "127.0.0.1", "the operator's API stays on loopback unless told otherwise");
    assert.deepEqual(nodeConfigSchema.parse(base).listen, ["/ip4/0.0.0.0/tcp/4001"]);
  });

  it("refuses addresses that are not dialable multiaddrs, and an API off loopback without TLS", () => {
    const peer = (address: string) => ({ ...base, peers: [{ index: 1, peerId: PEER, address }] });
    assert.match(problems(peer("127.0.0.1:4001")), /peers\.0\.address: 127\.0\.0\.1:4001: a peer address starts with/);
    assert.match(problems(peer("/ip4/10.0.0.1/udp/4001")), /expected \/<ip4\|ip6\|dns4\|dns6\|dns>\/<host>\/tcp\/<port>/);
    assert.match(problems(peer(`/ip4/10.0.0.1/tcp/4001/p2p/${PEER}`)), /leave out \/p2p/);
    assert.match(problems({ ...base, peers: [{ index: 1, peerId: "not a peer id", address: "/ip4/10.0.0.1/tcp/4001" }] }), /peers\.0\.peerId: a libp2p peer id/);
    assert.match(problems({ ...base, chains: [{ ...base.chains[0], rpcUrls: ["ftp://rpc.example.org"] }] }), /chains\.0\.rpcUrls\.0: an http\(s\) or ws\(s\) URL/);
    assert.match(problems({ ...base, httpHost: "0.0.0.0" }), /httpTls: the API on 0\.0\.0\.0 would carry its bearer token in clear text/);
    assert.equal(problems({ ...base, httpHost: "0.0.0.0", httpTls: { certFile: "api.crt", keyFile: "api.key" } }), "");
    assert.equal(problems({ ...base, httpHost: "::1" }), "");
  });
});
