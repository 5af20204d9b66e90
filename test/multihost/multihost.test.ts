/**
 * Signer nodes, chains and the relayer on separate hosts: each in its own
 * network namespace with its own address, joined by veth pairs to a bridge in
 * a hub namespace the test creates (netns.ts); nothing can leave. The devnet
 * runs there with a placement that puts every process on its host
 * (scenario.ts); the test checks keyGen, delivery both ways, and signing on
 * with one node's host cut off mid-signing. Needs root; elsewhere it is
 * skipped with the reason.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { IsolatedNetwork, unavailable } from "./netns.ts";
import { hostNames, type HostMap } from "./scenario.ts";

const SCENARIO = resolve(import.meta.dirname, "scenario.ts");
const skip = unavailable();

describe("nodes, chains and relayer on separate hosts", { skip: skip ?? false, timeout: 600_000 }, () => {
  let net: IsolatedNetwork;
  let child: ChildProcess;
  let dir: string;
  let output = "";
  const steps = new Map<string, { resolve: (detail: string) => void; reject: (error: Error) => void; promise: Promise<string> }>();
  const stepResult = (name: string) => {
    let entry = steps.get(name);
    if (entry === undefined) {
      let resolveStep!: (detail: string) => void;
      let rejectStep!: (error: Error) => void;
      const promise = new Promise<string>((res, rej) => ((resolveStep = res), (rejectStep = rej)));
      promise.catch(() => {});
      entry = { resolve: resolveStep, reject: rejectStep, promise };
      steps.set(name, entry);
    }
    return entry;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mpc-multihost-"));
    net = await IsolatedNetwork.create(hostNames());
    const map: HostMap = {
      hosts: Object.fromEntries([...net.hosts.values()].map((h) => [h.name, { address: h.address, pid: h.pid, link: h.link }])),
      hub: { pid: net.hubPid },
    };
    // The scenario runs in the hub namespace: it reaches every host across the bridge, and nothing else.
    child = net.spawn(null, process.execPath, ["--import", "tsx", SCENARIO], {
      env: { ...process.env, MULTIHOST: JSON.stringify(map), MULTIHOST_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output += line + "\n";
      if (!line.startsWith("{")) return;
      const report = JSON.parse(line) as { step: string; ok: boolean; detail: string };
      if (report.ok) stepResult(report.step).resolve(report.detail);
      else stepResult(report.step).reject(new Error(`${report.step} failed: ${report.detail}`));
    });
    child.once("exit", (code) => {
      for (const name of ["keygen", "deliver", "cut"]) stepResult(name).reject(new Error(`the scenario exited with ${code} before this step (logs in ${dir}):\n${output.slice(-4_000)}`));
    });
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      child.kill("SIGKILL");
    }
    net?.destroy();
    if (process.env.KEEP_TEST_DIRS === undefined && dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("generates the relay key with every node on its own host, reached only by its address", async () => {
    const detail = JSON.parse(await stepResult("keygen").promise) as { relay: string; listen: string[]; peers: string[]; relayerNodes: string[]; rpc: string[] };
    assert.match(detail.relay, /^0x[0-9a-fA-F]{40}$/);
    assert.deepEqual(detail.listen, [`/ip4/${net.host("node1").address}/tcp/4001`]);
    assert.deepEqual(
      detail.peers,
      [1, 2, 3, 4, 5].map((i) => `/ip4/${net.host(`node${i}`).address}/tcp/4001`),
    );
    assert.deepEqual(detail.relayerNodes, detail.peers, "the relayer dials the nodes over libp2p at their own addresses");
    assert.deepEqual(detail.rpc, [`http://${net.host("chain-a").address}:8545`, `http://${net.host("chain-b").address}:8546`]);
  });

  it("delivers messages both ways across the hosts", async () => {
    assert.match(await stepResult("deliver").promise, /3 messages a->b and 3 b->a delivered/);
  });

  it("signs on, exactly once per message, with one node's host cut off mid-signing", async () => {
    assert.match(await stepResult("cut").promise, /12 messages delivered exactly once with node 2's host cut off/);
  });
});
