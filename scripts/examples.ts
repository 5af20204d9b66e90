/**
 * The example projects (examples/*: two dapps, an operator's install) as their users get them: the workspace packages packed
 * into tarballs (.packs/), each example copied into a fresh project outside the repository and
 * installed from those tarballs plus the npm registry, never from workspace links.
 *
 *   npx tsx scripts/examples.ts pack      compile, build and pack every workspace into .packs/ (npm run pack)
 *   npx tsx scripts/examples.ts prepare   pack, copy and install (part of the test command's setup, the
 *                                         only step that reaches the registry)
 *   npx tsx scripts/examples.ts test      run each prepared example's own tests, forks included
 *
 * test/examples/examples.test.ts runs the prepared examples in the test suite.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { access, cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { projectRoot } from "../relayer/shared/project.ts";
import { testKeyAttester } from "@mpc-relay/testkit";
import { startLiveNetworks } from "./lib/live-networks.ts";

export const EXAMPLES = ["viem-dapp", "ethers-dapp", "operator"] as const;
export type ExampleName = (typeof EXAMPLES)[number];

const packsDir = path.join(projectRoot, ".packs");
const STAMP = ".installed-from";

/** Where an example's fresh project lives: outside the repository, so nothing resolves to the workspace; one folder per checkout. */
export function exampleDir(name: ExampleName): string {
  return path.join(tmpdir(), "mpc-relay-examples", createHash("sha256").update(projectRoot).digest("hex").slice(0, 12), name);
}

/** Whether `prepare` installed the example (its dependencies and the stamp of what they came from). */
export async function isPrepared(name: ExampleName): Promise<boolean> {
  return access(path.join(exampleDir(name), STAMP)).then(
    () => true,
    () => false,
  );
}

/** Runs a command, its output collected; rejects with that output when it fails. */
export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? ownEnvironment(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")} in ${options.cwd} exited with ${code}:\n${output.slice(-6000)}`))));
  });
}

/** Compiles the contracts, builds the TypeScript and packs every workspace and the CLI (the root package) into .packs/. */
export async function packWorkspaces(): Promise<void> {
  await rm(packsDir, { recursive: true, force: true });
  await mkdir(packsDir, { recursive: true });
  await run(process.execPath, [path.join(projectRoot, "node_modules/hardhat/dist/src/cli.js"), "compile", "--quiet", "--no-tests"], { cwd: projectRoot });
  await run("npm", ["run", "--silent", "build"], { cwd: projectRoot });
  await run("npm", ["pack", "--workspaces", "--pack-destination", packsDir], { cwd: projectRoot });
  await run("npm", ["pack", "--pack-destination", packsDir], { cwd: projectRoot });
}

/** Copies the example into its fresh project, tarballs by absolute path, and installs when its inputs changed. */
export async function prepareExample(name: ExampleName): Promise<string> {
  const dir = exampleDir(name);
  const source = path.join(projectRoot, "examples", name);
  const manifest = (await readFile(path.join(source, "package.json"), "utf8")).replaceAll("file:../../.packs/", `file:${packsDir}/`);
  const stamp = createHash("sha256").update(manifest);
  for (const tarball of (await readdir(packsDir)).sort()) stamp.update(await readFile(path.join(packsDir, tarball)));
  const digest = stamp.digest("hex");
  const installed = await readFile(path.join(dir, STAMP), "utf8").catch(() => null);

  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(dir)) if (entry !== "node_modules" && entry !== STAMP) await rm(path.join(dir, entry), { recursive: true, force: true });
  await cp(source, dir, { recursive: true });
  await writeFile(path.join(dir, "package.json"), manifest);
  if (installed !== digest) {
    await rm(path.join(dir, "node_modules"), { recursive: true, force: true });
    await run("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock"], { cwd: dir });
    await writeFile(path.join(dir, STAMP), digest);
  }
  return dir;
}

/** This process's environment without what a surrounding Hardhat or npm run set (HARDHAT_CONFIG would point the example at our config). */
function ownEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(HARDHAT_|HH_|npm_)/i.test(key)));
}

/**
 * Runs a prepared example's own tests (`npm test`), with two live stand-in networks for its fork tests:
 * their URLs in LIVE_A_RPC_URL / LIVE_B_RPC_URL and their deployments in the example's deployments/.
 */
export async function testExample(name: ExampleName): Promise<string> {
  const dir = exampleDir(name);
  const live = await startLiveNetworks(
    [
      { name: "liveA", chainId: 31501 },
      { name: "liveB", chainId: 31502 },
    ],
    testKeyAttester("the live networks' relay").address,
  );
  try {
    await mkdir(path.join(dir, "deployments"), { recursive: true });
    for (const network of live.networks) await writeFile(path.join(dir, "deployments", `${network.name}.json`), JSON.stringify(network.deployment, null, 2));
    const [a, b] = live.networks;
    return await run("npm", ["test"], { cwd: dir, env: { ...ownEnvironment(), LIVE_A_RPC_URL: a!.url, LIVE_B_RPC_URL: b!.url } });
  } finally {
    await live.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = process.argv[2];
  if (command === "pack") {
    await packWorkspaces();
    console.log(`packed into ${packsDir}`);
  } else if (command === "prepare") {
    await packWorkspaces();
    for (const name of EXAMPLES) console.log(`prepared ${name} in ${await prepareExample(name)}`);
  } else if (command === "test") {
    for (const name of EXAMPLES) console.log(await testExample(name));
  } else {
    console.error("usage: tsx scripts/examples.ts pack|prepare|test");
    process.exit(2);
  }
}
