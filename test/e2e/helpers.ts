/** Shared set-up of the end-to-end tests: one real devnet (processes) per test file. */
import { appendFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../relayer/shared/ports.ts";
import { defaultDevnetOptions, Devnet, type DevnetOptions } from "../../relayer/devnet/devnet.ts";

/** Starts a devnet on free ports in a temporary folder; progress goes to <dir>/progress.log. */
export async function startTestDevnet(overrides: Partial<DevnetOptions> = {}): Promise<Devnet> {
  const dir = await mkdtemp(join(tmpdir(), "mpc-e2e-"));
  const progress = join(dir, "progress.log");
  const devnet = new Devnet({
    ...defaultDevnetOptions,
    dir,
    chains: [
      { name: "a", chainId: 31337, port: await freePort() },
      { name: "b", chainId: 31338, port: await freePort() },
    ],
    compile: false,
    presignPoolSize: 4,
    report: (line) => appendFileSync(progress, line + "\n"),
    ...overrides,
  });
  try {
    await devnet.start();
  } catch (error) {
    await devnet.stop();
    throw new Error(`devnet start failed (logs in ${dir})`, { cause: error });
  }
  return devnet;
}

export async function destroyTestDevnet(devnet: Devnet | undefined): Promise<void> {
  if (devnet === undefined) return;
  await devnet.stop();
  if (process.env.KEEP_TEST_DIRS === undefined) await rm(devnet.dir, { recursive: true, force: true });
}

/** Retries `check` until it stops throwing or `timeoutMs` passes (then rethrows its last error). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000, pollMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

/** Whether a process with this pid still exists (signal 0 probes without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
