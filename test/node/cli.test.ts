/**
 * `mpc-relay` as operators and scripts run it: the compiled CLI as a process.
 * Help and usage errors (exit code 2), text by default and the API's JSON with
 * --json against live nodes, `config check` listing every problem at once,
 * `node identity` never overwriting a key, and failures that name the API's URL
 * and the cause (exit code 1).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { compiledCli } from "../../relayer/devnet/runtime.ts";
import { loadIdentity } from "../../relayer/node/identity.ts";
import { Cluster, freePort } from "./cluster.ts";
import { rawGet } from "../raw-request.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI with no MPC_RELAY_* variables but those given. */
async function mpcRelay(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const cli = await compiledCli();
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("MPC_RELAY_")));
  return new Promise((resolveRun) => {
    execFile(process.execPath, [cli, ...args], { env: { ...clean, ...env } }, (error, stdout, stderr) => {
      resolveRun({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

const COMMANDS = [
  "devnet",
  "node start",
  "node identity",
  "keygen",
  "approve",
  "approvals",
  "sign",
  "refresh",
  "reshare",
  "key delete",
  "key list",
  "relay start",
  "relay status",
  "status",
  "retry",
  "abandon",
  "config check",
];

describe("mpc-relay CLI", { timeout: 120_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mpc-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("--help lists every command, a command's --help its flags; a bad flag or command prints the usage and exits 2", async () => {
    const help = await mpcRelay(["--help"]);
    assert.equal(help.code, 0);
    for (const command of COMMANDS) assert.match(help.stdout, new RegExp(`^  ${command} `, "m"), `--help lists ${command}`);
    assert.match(help.stdout, /--json/);

    const keygen = await mpcRelay(["help", "keygen"]);
    assert.equal(keygen.code, 0);
    for (const flag of ["--key <id>", "--threshold <t>", "--parties <list>", "--api <url>", "--token <token>", "--json"]) assert.ok(keygen.stdout.includes(flag), `keygen --help shows ${flag}`);
    assert.match(keygen.stdout, /env: MPC_RELAY_API\b/);
    const approve = await mpcRelay(["approve", "--help"]);
    assert.match(approve.stdout, /--ttl-minutes <minutes>/);
    assert.match(approve.stdout, /"keygen", "reshare"/);

    const api = ["--api", "http://127.0.0.1:9", "--token", "t".repeat(20)];
    const badValue = await mpcRelay(["keygen", "--key", "k", "--threshold", "two", ...api]);
    assert.equal(badValue.code, 2);
    assert.match(badValue.stderr, /option '--threshold <t>' argument 'two' is invalid/);
    assert.match(badValue.stderr, /Usage: mpc-relay keygen \[options\]/);
    assert.equal(badValue.stdout, "");
    const unknownFlag = await mpcRelay(["key", "list", "--bogus", ...api]);
    assert.equal(unknownFlag.code, 2);
    assert.match(unknownFlag.stderr, /unknown option '--bogus'/);
    assert.match(unknownFlag.stderr, /Usage: mpc-relay key list/);
    const missing = await mpcRelay(["refresh", ...api]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '--key <id>' not specified/);
    const unknownCommand = await mpcRelay(["kegen"]);
    assert.equal(unknownCommand.code, 2);
    assert.match(unknownCommand.stderr, /unknown command 'kegen'/);
  });

  it("config check lists every problem of a node config at once, each with its path, as text and as JSON", async () => {
    const file = join(dir, "bad-node.json");
    await writeFile(
      file,
      JSON.stringify({
        index: 0,
        dataDir: "",
        identityKeyFile: "./node.key",
        listen: ["/ip4/127.0.0.1/tcp/4001"],
        httpPort: 8701,
        peers: [{ index: 1, peerId: "short", address: "/ip4/127.0.0.1/tcp/4001" }],
        logLevel: "loud",
        colour: "blue",
      }),
    );
    const text = await mpcRelay(["config", "check", file]);
    assert.equal(text.code, 1);
    const lines = text.stdout.trim().split("\n");
    assert.match(lines[0]!, new RegExp(`^node config ${file}: \\d+ problems$`));
    const problemLines = lines.slice(1);
    for (const path of ["index", "dataDir", "peers[0].peerId", "logLevel"])
      assert.ok(
        problemLines.some((line) => line.startsWith(`  ${path}: `)),
        `a line for ${path}:\n${text.stdout}`,
      );
    assert.ok(
      problemLines.some((line) => line.includes("colour")),
      "the unknown key is named",
    );

    const json = await mpcRelay(["config", "check", file, "--json"]);
    assert.equal(json.code, 1);
    const result = JSON.parse(json.stdout) as { kind: string; ok: boolean; problems: { path: string; message: string }[] };
    assert.equal(result.kind, "node");
    assert.equal(result.ok, false);
    assert.equal(result.problems.length, problemLines.length, "the same problems as the text");
    assert.deepEqual(new Set(result.problems.map((p) => p.path)), new Set(["index", "dataDir", "peers[0].peerId", "logLevel", ""]));
  });

  it("config check tells a relayer config by its keys, checks what the node loader checks and the key file, and passes a good config", async () => {
    const relayer = join(dir, "bad-relayer.json");
    await writeFile(relayer, JSON.stringify({ chains: [{ chainId: 0, name: "a", rpcUrls: [], sourceGateway: "0x12", targetGateway: `0x${"ab".repeat(20)}` }], mpc: { nodes: [] }, storePath: "./db" }));
    const checked = await mpcRelay(["config", "check", relayer, "--json"]);
    assert.equal(checked.code, 1);
    const result = JSON.parse(checked.stdout) as { kind: string; problems: { path: string }[] };
    assert.equal(result.kind, "relayer");
    assert.deepEqual(result.problems.map((p) => p.path).sort(), ["chains[0].chainId", "chains[0].rpcUrls", "chains[0].sourceGateway", "delivery", "mpc.nodes"]);

    const identity = await mpcRelay(["node", "identity", "--out", join(dir, "good.key"), "--json"]);
    const { peerId } = JSON.parse(identity.stdout) as { peerId: string };
    const node = (index: number) => ({
      index,
      dataDir: "./data",
      identityKeyFile: "./good.key",
      listen: ["/ip4/127.0.0.1/tcp/4001"],
      httpPort: 8701,
      peers: [{ index: 1, peerId, address: "/ip4/127.0.0.1/tcp/4001" }],
    });
    const good = join(dir, "good.json");
    await writeFile(good, JSON.stringify(node(1)));
    assert.deepEqual(await mpcRelay(["config", "check", good]), { code: 0, stdout: `node config ${good}: ok\n`, stderr: "" });

    const stranger = join(dir, "stranger.json");
    await writeFile(stranger, JSON.stringify({ ...node(2), identityKeyFile: "./absent.key" }));
    const problems = await mpcRelay(["config", "check", stranger, "--kind", "node"]);
    assert.equal(problems.code, 1);
    assert.match(problems.stdout, /: 2 problems\n/);
    assert.match(problems.stdout, /^ {2}identityKeyFile: cannot read .*absent\.key \(ENOENT\)$/m);
    assert.match(problems.stdout, /own index 2 is not among the peers/);

    const unclear = join(dir, "unclear.json");
    await writeFile(unclear, "{}");
    const unknown = await mpcRelay(["config", "check", unclear]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /cannot tell whether .* is a node or a relayer config: pass --kind/);
  });

  it("node identity writes a new key readable by its owner only and never overwrites an existing one", async () => {
    const file = join(dir, "node1.key");
    const first = await mpcRelay(["node", "identity", "--out", file]);
    assert.equal(first.code, 0, first.stderr);
    const peerId = /peer id (\S+)/.exec(first.stdout)?.[1];
    assert.equal((await loadIdentity(file)).peerId, peerId);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const key = await readFile(file);

    const second = await mpcRelay(["node", "identity", "--out", file, "--json"]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /already exists: not overwriting it/);
    assert.equal(second.stdout, "");
    assert.deepEqual(await readFile(file), key, "the node's identity key is untouched");
    assert.equal((await loadIdentity(file)).peerId, peerId);
  });

  it("names the API, its URL and the cause when a node or the relayer cannot be reached", async () => {
    const port = await freePort();
    const node = await mpcRelay(["key", "list", "--token", "t".repeat(20)], { MPC_RELAY_API: `http://127.0.0.1:${port}` });
    assert.deepEqual(node, { code: 1, stdout: "", stderr: `error: cannot reach node API http://127.0.0.1:${port}: connection refused\n` });
    const relayer = await mpcRelay(["status", `0x${"ab".repeat(32)}`, "--api", `http://127.0.0.1:${port}/`]);
    assert.deepEqual(relayer, { code: 1, stdout: "", stderr: `error: cannot reach relayer API http://127.0.0.1:${port}: connection refused\n` });
  });

  describe("against live nodes", () => {
    let cluster: Cluster;
    const api = (index: number) => ({ MPC_RELAY_API: `http://127.0.0.1:${cluster.node(index).httpPort}`, MPC_RELAY_API_TOKEN: cluster.token });
    before(async () => {
      cluster = await Cluster.create({ size: 2 });
      await cluster.startAll();
    });
    after(async () => {
      await cluster?.destroy();
    });

    it("prints text by default and the API's own JSON with --json; a refused token names the URL and the status", async () => {
      for (const index of [1, 2]) {
        const approved = await mpcRelay(["approve", "keygen", "--key", "cli-key", "--parties", "1,2", "--threshold", "2"], api(index));
        assert.equal(approved.code, 0, approved.stderr);
        assert.match(approved.stdout, /^approved keygen of cli-key \(parties 1,2, threshold 2\) until .+\n {2}hash [0-9a-f]{64}\n$/);
      }
      const keygen = await mpcRelay(["keygen", "--key", "cli-key", "--threshold", "2", "--parties", "1,2"], api(1));
      assert.equal(keygen.code, 0, keygen.stderr);
      assert.match(keygen.stdout, /^key cli-key: READY, 2-of-2 \(parties 1,2\)\n/);
      const { key } = await cluster.client(1).getKey("cli-key");
      assert.match(keygen.stdout, new RegExp(`^ {2}address +${key.address}$`, "m"));

      const listed = await mpcRelay(["key", "list", "--json"], api(2));
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(JSON.parse(listed.stdout), await cluster.client(2).listKeys());
      const table = (await mpcRelay(["key", "list"], api(2))).stdout.split("\n");
      assert.match(table[0]!, /^KEY +STATUS +T-OF-N +PARTIES +ADDRESS +POOL$/);
      assert.match(table[1]!, new RegExp(`^cli-key +READY +2-of-2 +1,2 +${key.address}`));

      const status = await mpcRelay(["status"], api(2));
      assert.match(status.stdout, /^node 2 \(peer id \S+\)\n {2}peers +2 in the committee \(1,2\), \d+ connected\n/);
      assert.match(status.stdout, /^KEY +STATUS +T-OF-N +PARTIES +ADDRESS +POOL +SHARING AGE$/m);
      assert.match(status.stdout, /^cli-key +READY +2-of-2 .* \d+[smhd] \(keygen\)$/m, "the key's sharing age and what made it");
      assert.equal((JSON.parse((await mpcRelay(["status", "--json"], api(2))).stdout) as { index: number }).index, 2);

      const refused = await mpcRelay(["status"], { ...api(2), MPC_RELAY_API_TOKEN: "a-wrong-token-0123456789" });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`^error: node API http://127\\.0\\.0\\.1:${cluster.node(2).httpPort}/v1/status answered 401: .+\n$`));
    });

    it("a request whose path is no URL path gets 400, and the node keeps serving", async () => {
      const base = `http://127.0.0.1:${cluster.node(2).httpPort}`;
      for (const target of ["//", "//:99/v1/keys"]) {
        const answer = await rawGet(base, target);
        assert.equal(answer.status, 400, target);
        assert.match(answer.body, /not a valid URL path/);
      }
      assert.equal((await cluster.client(2).status()).index, 2, "still answering");
    });
  });
});
