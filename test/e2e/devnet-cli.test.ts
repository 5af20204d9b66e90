/**
 * `mpc-relay devnet` as a user runs it: two chains, five nodes, keyGen, the
 * relayer (relay-address delivery) and the demo (a ping a -> b whose delivery
 * sends a pong b -> a), then Ctrl-C (SIGINT) stops every process it started;
 * SIGTERM during start-up too. Also: a busy port and
 * bad options fail fast with a clear message.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { createPublicClient, getAddress, http, type Hex } from "viem";
import { assertPortFree, freePort } from "../../relayer/shared/ports.ts";
import { compiledCli } from "../../relayer/devnet/runtime.ts";
import { alive } from "./helpers.ts";

const root = resolve(import.meta.dirname, "../..");
const CLI = await compiledCli();

function runDevnet(args: string[]) {
  const child = spawn(process.execPath, [CLI, "devnet", "--no-compile", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const waitForLine = (pattern: RegExp, timeoutMs: number): Promise<string> =>
    new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line ${pattern} after ${timeoutMs} ms:\n${lines.join("\n")}\n${stderr}`)), timeoutMs);
      const check = (): void => {
        const found = lines.find((l) => pattern.test(l));
        if (found === undefined) return;
        clearTimeout(timer);
        resolveLine(found);
      };
      waiters.push(check);
      check();
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`devnet exited with ${code} before ${pattern}:\n${lines.join("\n")}\n${stderr}`));
      });
    });
  return { child, lines, exited, waitForLine, stderr: () => stderr };
}

/** Processes whose command line mentions the devnet folder or one of its chain ports. */
function leftovers(dir: string, ports: number[]): string[] {
  const table = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).split("\n");
  return table.filter((line) => line.includes(dir) || ports.some((port) => line.includes(`--port ${port}`)));
}

describe("mpc-relay devnet", () => {
  it("runs the demo both ways, starts a node and the relayer again when they die, then stops every process on Ctrl-C", { timeout: 240_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "mpc-devnet-cli-"));
    const ports = [await freePort(), await freePort()];
    // The relay address itself sends the deliveries (MPC-signed EIP-1559 transactions); the other mode runs in delivery.test.ts.
    const run = runDevnet(["--dir", dir, "--ports", ports.join(","), "--block-time", "500", "--log-level", "warn", "--delivery", "relayAddress"]);
    try {
      await run.waitForLine(/press Ctrl-C/, 200_000);
      const output = run.lines.join("\n");
      const summary = JSON.parse(await readFile(join(dir, "devnet.json"), "utf8")) as { relayAddress: string; chains: { rpcUrl: string }[] };
      const deliveries = [...output.matchAll(/delivered {2}tx (0x[0-9a-f]{64})/g)].map((m) => m[1] as Hex);
      for (const [hash, rpcUrl] of [
        [deliveries[0]!, summary.chains[1]!.rpcUrl],
        [deliveries[1]!, summary.chains[0]!.rpcUrl],
      ] as const) {
        const tx = await createPublicClient({ transport: http(rpcUrl) }).getTransaction({ hash });
        assert.equal(getAddress(tx.from), getAddress(summary.relayAddress), "the delivery was sent from the relay address");
        assert.equal(tx.type, "eip1559");
      }
      assert.match(output, /a -> b {2}ping message 0x[0-9a-f]{64}/);
      assert.match(output, /b -> a {2}pong message 0x[0-9a-f]{64}/);
      assert.equal(output.match(/delivered {2}tx 0x[0-9a-f]{64}/g)?.length, 2, "both demo messages arrive, each with its delivery tx");
      assert.match(output, /TargetGateway\.setRelay\(0x[0-9a-fA-F]{40}\) {2}tx 0x[0-9a-f]{64}/);
      assert.match(output, /has received 1 pong/);
      assert.match(output, /staking on chain a: RelayStaking/, "staking is on unless --no-staking");
      const pids = [...output.matchAll(/\(pid (\d+)\)|; pid (\d+)\)/g)].map((m) => Number(m[1] ?? m[2]));
      assert.equal(pids.length, 2 + 5 + 1 + 1, "two chains, five nodes, the relayer and the explorer");
      // The explorer's URL is printed, and it lists the demo's two messages, both delivered.
      const explorerUrl = /open the web explorer: (http:\/\/\S+)/.exec(output)?.[1];
      assert.ok(explorerUrl !== undefined, "the devnet prints the explorer's URL");
      assert.match(await (await fetch(explorerUrl)).text(), /<title>/);
      const listed = (await (await fetch(new URL("api/messages", explorerUrl))).json()) as { items: { state: string }[] };
      assert.deepEqual(
        listed.items.map((m) => m.state),
        ["delivered", "delivered"],
      );
      assert.ok(pids.every(alive), "all devnet processes run until Ctrl-C");

      // A node or the relayer that dies is started again, as a service manager would.
      const node3 = Number(/node 3: .*\(pid (\d+)\)/.exec(output)![1]);
      const relayer = Number(/relayer running \(pid (\d+)\)/.exec(output)![1]);
      process.kill(node3, "SIGKILL");
      process.kill(relayer, "SIGKILL");
      const again = await Promise.all([run.waitForLine(/node-3 running again \(pid \d+\)/, 90_000), run.waitForLine(/relayer running again \(pid \d+\)/, 90_000)]);
      const restarted = again.map((line) => Number(/\(pid (\d+)\)/.exec(line)![1]));
      assert.ok(restarted.every(alive));
      assert.match(run.lines.join("\n"), /node-3 \(pid \d+\) exited with code -1; starting it again/);
      pids.push(...restarted);

      run.child.kill("SIGINT");
      assert.equal(await run.exited, 0);
      assert.match(run.lines.join("\n"), /all devnet processes stopped/);
      assert.deepEqual(pids.filter(alive), [], "no process outlives the devnet");
      assert.deepEqual(leftovers(dir, ports), []);
      for (const port of ports) await assertPortFree(port, "chain RPC after shutdown");
    } finally {
      if (run.child.exitCode === null) run.child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("SIGTERM in the middle of start-up stops what was started", { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "mpc-devnet-cli-"));
    const ports = [await freePort(), await freePort()];
    const run = runDevnet(["--dir", dir, "--ports", ports.join(","), "--log-level", "warn"]);
    try {
      await run.waitForLine(/starting 5 MPC signer nodes/, 100_000);
      run.child.kill("SIGTERM");
      assert.equal(await run.exited, 0);
      assert.match(run.lines.join("\n"), /SIGTERM received: stopping/);
      assert.deepEqual(leftovers(dir, ports), [], "no chain or node process outlives the devnet");
    } finally {
      if (run.child.exitCode === null) run.child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("names a busy chain port and bad options instead of starting", { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "mpc-devnet-cli-"));
    const busy: Server = createServer();
    const busyPort = await new Promise<number>((r) => busy.listen(0, "127.0.0.1", () => r((busy.address() as { port: number }).port)));
    try {
      const taken = runDevnet(["--dir", dir, "--ports", `${busyPort},${await freePort()}`]);
      assert.equal(await taken.exited, 1);
      assert.match(taken.lines.join("\n"), new RegExp(`port ${busyPort} on 127\\.0\\.0\\.1 \\(chain a RPC\\) is already in use`));

      const badThreshold = runDevnet(["--dir", dir, "--nodes", "5", "--threshold", "6"]);
      assert.equal(await badThreshold.exited, 1);
      assert.match(badThreshold.lines.join("\n") + badThreshold.stderr(), /--threshold must be an integer in \[2, nodes=5\]/);
    } finally {
      busy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
