/**
 * How the devnet, the tests and the benches start `mpc-relay` as a process: always the
 * compiled CLI, `node dist/relayer/cli/main.js`, with no TypeScript loader, the same
 * program an operator runs. Code running from the TypeScript sources (tsx, `hardhat test`)
 * first brings dist/ up to date with `tsc -b tsconfig.build.json` (the `npm run build`
 * script), which returns at once when nothing changed; code running from dist/ is that build.
 */
import { execFile } from "node:child_process";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "../shared/project.ts";

/** The `bin` entry of package.json. */
export const compiledCliPath = join(projectRoot, "dist", "relayer", "cli", "main.js");

const runningCompiled = import.meta.filename.endsWith(".js");
const BUILD_LOCK = join(projectRoot, "dist", ".build.lock");

let built: Promise<string> | null = null;

/** Path of the compiled CLI, built first when this process runs from the sources. */
export function compiledCli(): Promise<string> {
  built ??= runningCompiled ? Promise.resolve(compiledCliPath) : build().then(() => compiledCliPath);
  return built;
}

/** `tsc -b tsconfig.build.json` under a lock file, so two processes of one checkout never write dist/ at once. */
async function build(): Promise<void> {
  await mkdir(dirname(BUILD_LOCK), { recursive: true });
  await acquireLock();
  try {
    const tsc = join(projectRoot, "node_modules", "typescript", "bin", "tsc");
    await promisify(execFile)(process.execPath, [tsc, "-b", "tsconfig.build.json"], { cwd: projectRoot, maxBuffer: 16 << 20 }).catch((error: { stdout?: string }) => {
      throw new Error(`building dist/ failed (tsc -b tsconfig.build.json):\n${error.stdout ?? String(error)}`);
    });
  } finally {
    await rm(BUILD_LOCK, { force: true });
  }
}

async function acquireLock(): Promise<void> {
  for (let waited = 0; ; waited += 100) {
    try {
      const file = await open(BUILD_LOCK, "wx");
      await file.writeFile(String(process.pid));
      await file.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number(await readFile(BUILD_LOCK, "utf8").catch(() => ""));
    // A lock whose process is gone (or that never got its pid written) is stale.
    if (!processAlive(holder) && waited >= 1_000) await rm(BUILD_LOCK, { force: true });
    if (waited > 300_000) throw new Error(`${BUILD_LOCK} is held by process ${holder} for more than 5 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
