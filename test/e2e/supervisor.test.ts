/**
 * The devnet's process supervisor: stopping a child ends its whole process
 * group (grandchildren included), a child that ignores SIGTERM is killed after
 * the grace period, and a child that dies before it is ready fails start()
 * with its output.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ProcessSupervisor } from "../../relayer/devnet/supervisor.ts";
import { alive } from "./helpers.ts";

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe("devnet process supervisor", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mpc-supervisor-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("stops a child together with the processes it spawned", async () => {
    const supervisor = new ProcessSupervisor();
    // The shell prints its background children's pids, then waits.
    const child = await supervisor.start({
      name: "tree",
      command: "sh",
      args: ["-c", "sleep 300 & echo grandchild $!; sleep 300 & echo grandchild $!; echo ready; wait"],
      cwd: dir,
      logPath: join(dir, "tree.log"),
      readyLine: (line) => line === "ready",
    });
    await new Promise((r) => setTimeout(r, 100));
    const grandchildren = [...(await readFile(join(dir, "tree.log"), "utf8")).matchAll(/grandchild (\d+)/g)].map((m) => Number(m[1]));
    assert.equal(grandchildren.length, 2);
    assert.ok(grandchildren.every(alive));
    await supervisor.stopAll();
    assert.equal(child.running, false);
    assert.ok(await waitUntil(() => !grandchildren.some(alive), 2_000), "no grandchild survives");
  });

  it("kills a child that ignores SIGTERM once the grace period is over", async () => {
    const supervisor = new ProcessSupervisor();
    const child = await supervisor.start({
      name: "stubborn",
      command: "sh",
      args: ["-c", "trap '' TERM; echo ready; while :; do sleep 1; done"],
      cwd: dir,
      logPath: join(dir, "stubborn.log"),
      readyLine: (line) => line === "ready",
    });
    const started = Date.now();
    await child.stop(300);
    assert.equal(child.running, false);
    assert.ok(Date.now() - started >= 300, "it waited for the grace period");
  });

  it("reports a child that exits before it is ready, with its output, and an unexpected exit later", async () => {
    const supervisor = new ProcessSupervisor();
    await assert.rejects(
      supervisor.start({ name: "broken", command: "sh", args: ["-c", "echo 'bad config: port' >&2; exit 3"], cwd: dir, logPath: join(dir, "broken.log"), readyLine: () => false }),
      /broken exited with code 3 before it was ready:\s+bad config: port/,
    );
    const exits: string[] = [];
    supervisor.onUnexpectedExit = (p, code) => exits.push(`${p.name}:${code}`);
    const short = await supervisor.start({ name: "short", command: "sh", args: ["-c", "echo ready; sleep 0.2; exit 7"], cwd: dir, logPath: join(dir, "short.log"), readyLine: (l) => l === "ready" });
    await short.exited;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(exits, ["short:7"]);
    await supervisor.stopAll();
  });
});
