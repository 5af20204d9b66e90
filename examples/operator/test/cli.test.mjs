// The installed mpc-relay command, as an operator runs it on a fresh machine.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";

const cli = join(import.meta.dirname, "..", "node_modules", ".bin", "mpc-relay");
const run = (args) => new Promise((resolve) => execFile(cli, args, (error, stdout, stderr) => resolve({ code: error === null ? 0 : error.code, stdout, stderr })));
const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

let dir;
before(async () => (dir = await mkdtemp(join(tmpdir(), "mpc-relay-operator-"))));
after(() => rm(dir, { recursive: true, force: true }));

it("is the packaged version", async () => {
  const { version } = JSON.parse(await readFile(join(import.meta.dirname, "..", "node_modules", "mpc-relay", "package.json"), "utf8"));
  assert.deepEqual(await run(["--version"]), { code: 0, stdout: `${version}\n`, stderr: "" });
});

it("creates an identity, checks a config, and runs a signer node until SIGTERM", async () => {
  const identity = await run(["node", "identity", "--out", join(dir, "node.key"), "--json"]);
  assert.equal(identity.code, 0, identity.stderr);
  const { peerId } = JSON.parse(identity.stdout);
  const [p2pPort, httpPort] = [await freePort(), await freePort()];
  const config = join(dir, "node.json");
  const address = `/ip4/127.0.0.1/tcp/${p2pPort}`;
  await writeFile(config, JSON.stringify({ index: 1, dataDir: "./data", identityKeyFile: "./node.key", listen: [address], httpPort, peers: [{ index: 1, peerId, address }], kdfLog2N: 14 }));
  assert.deepEqual(await run(["config", "check", config]), { code: 0, stdout: `node config ${config}: ok\n`, stderr: "" });

  const node = spawn(cli, ["node", "start", "--config", config], {
    env: { ...process.env, MPC_RELAY_PASSPHRASE: "operator example passphrase", MPC_RELAY_API_TOKEN: "t".repeat(32) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  node.stdout.on("data", (chunk) => (output += chunk));
  node.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => node.once("exit", (code) => resolve(code)));
  try {
    let health = null;
    for (let waited = 0; health === null && waited < 30_000; waited += 200) {
      health = await fetch(`http://127.0.0.1:${httpPort}/health/live`).then(
        (r) => r.json(),
        () => null,
      );
      if (health === null) await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(health, { ok: true, index: 1, peerId }, output);
    const status = await fetch(`http://127.0.0.1:${httpPort}/v1/status`);
    assert.equal(status.status, 401, "the API wants the operator's token");
  } finally {
    node.kill("SIGTERM");
  }
  assert.equal(await exited, 0, output);
});

it("serves the web explorer's packaged page over a relayer config", async () => {
  const [port, rpcPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const gateway = `0x${"11".repeat(20)}`;
  const config = join(dir, "relayer.json");
  // Nothing answers at these ports: the page is served all the same, and its API says what it cannot reach.
  await writeFile(
    config,
    JSON.stringify({
      chains: [{ chainId: 11155111, name: "sepolia", rpcUrls: [`http://127.0.0.1:${rpcPort}`], sourceGateway: gateway, targetGateway: gateway }],
      mpc: { nodes: [{ apiUrl: "http://127.0.0.1:1", token: "t".repeat(16) }] },
      delivery: { submitterKeyEnv: "UNUSED" },
      storePath: "./db",
      api: { port: apiPort },
    }),
  );
  const explorer = spawn(cli, ["explorer", "--config", config, "--port", String(port), "--json"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  explorer.stdout.on("data", (chunk) => (output += chunk));
  explorer.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => explorer.once("exit", (code) => resolve(code)));
  try {
    for (let waited = 0; !output.includes("explorer-listening") && waited < 30_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    const { url } = JSON.parse(output.split("\n").find((line) => line.includes("explorer-listening")));
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script[^>]+app\.js/);
    assert.equal((await fetch(new URL("app.js", url))).status, 200, "the bundled page is in the package");
    const messages = await fetch(new URL("api/messages", url));
    assert.equal(messages.status, 502);
    assert.match((await messages.json()).error, /cannot reach relayer API .*connection refused/);
  } finally {
    explorer.kill("SIGTERM");
  }
  assert.equal(await exited, 0, output);
});
