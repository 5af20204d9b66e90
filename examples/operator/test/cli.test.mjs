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
