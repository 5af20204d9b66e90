/**
 * The test kit's relay keys are public by construction (derived from labels anyone can read), so
 * whatever they sign anyone can forge: they must stay in test code. No product code, and no published
 * package but the test kit itself, imports the kit; no production contract imports the Solidity kit.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { projectRoot } from "../../relayer/shared/project.ts";

async function filesUnder(dir: string, extension: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path, extension)));
    else if (entry.name.endsWith(extension)) out.push(path);
  }
  return out;
}

async function importers(dirs: readonly string[], extension: string, pattern: RegExp): Promise<string[]> {
  const hits: string[] = [];
  for (const dir of dirs) for (const file of await filesUnder(join(projectRoot, dir), extension)) if (pattern.test(await readFile(file, "utf8"))) hits.push(relative(projectRoot, file));
  return hits;
}

describe("the test kit stays in test code", () => {
  it("no product TypeScript (node, relayer, CLI, devnet, SDK, MPC library) imports the test kit", async () => {
    const found = await importers(["relayer", "packages/sdk/src", "packages/mpc/src"], ".ts", /from "(@mpc-relay\/testkit|[./]+\/testkit\/)/);
    assert.deepEqual(found, []);
  });

  it("no gateway, interface or staking contract imports the Solidity test kit", async () => {
    const found = await importers(["contracts/gateway", "contracts/interfaces", "contracts/staking"], ".sol", /import [^;]*testing\/MpcRelayTestKit\.sol/);
    assert.deepEqual(found, []);
  });

  it("the check itself finds an importer: the test kit's own tests", async () => {
    assert.ok((await importers(["test/testkit"], ".ts", /from "@mpc-relay\/testkit"/)).length > 0);
    assert.ok((await importers(["test/solidity"], ".sol", /import [^;]*testing\/MpcRelayTestKit\.sol/)).length > 0);
  });
});
