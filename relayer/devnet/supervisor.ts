/**
 * Child processes of the devnet (chains, signer nodes, relayer). Each child
 * leads its own process group, so stopping it reaches anything it spawned,
 * and a terminal's Ctrl-C reaches only the devnet, which then stops its
 * children in reverse start order (relayer, nodes, chains).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";

export interface SpawnSpec {
  /** Short unique name used in messages, e.g. "chain-a" or "node-3". */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** File that receives the child's stdout and stderr (appended). */
  logPath: string;
  /** Ready once a stdout line satisfies this predicate ... */
  readyLine?: (line: string) => boolean;
  /** ... or once this probe resolves true (polled every 200 ms). */
  readyProbe?: () => Promise<boolean>;
  readyTimeoutMs?: number;
}

export class ManagedProcess {
  private exitCode: number | null | undefined = undefined;
  readonly exited: Promise<number | null>;
  /** The last few kB of output, for error messages. */
  private tail = "";
  /** Set while the supervisor itself is stopping the process. */
  stopping = false;

  constructor(
    readonly spec: SpawnSpec,
    readonly child: ChildProcess,
    private readonly log: WriteStream,
  ) {
    this.exited = new Promise((resolveExit) => {
      child.once("exit", (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        resolveExit(this.exitCode);
      });
    });
    const keep = (chunk: Buffer): void => {
      this.write(chunk);
      this.tail = (this.tail + chunk.toString()).slice(-4_000);
    };
    child.stderr?.on("data", keep);
  }

  get name(): string {
    return this.spec.name;
  }
  get pid(): number {
    return this.child.pid ?? -1;
  }
  get running(): boolean {
    return this.exitCode === undefined;
  }
  recentOutput(): string {
    return this.tail.trim();
  }

  /** @internal: stdout lines pass through here so readiness can watch them. */
  recordLine(line: string): void {
    this.write(line + "\n");
    this.tail = (this.tail + line + "\n").slice(-4_000);
  }

  private write(data: string | Buffer): void {
    if (!this.log.writableEnded) this.log.write(data);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once the child has exited. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopping = true;
    if (this.running) {
      this.signalGroup("SIGTERM");
      const timer = setTimeout(() => this.signalGroup("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // Anything the child left behind in its group goes too.
    this.signalGroup("SIGKILL");
    await this.closeLog();
  }

  /** SIGKILL to the process group: a crash, no cleanup. */
  async kill(): Promise<void> {
    this.stopping = true;
    this.signalGroup("SIGKILL");
    await this.exited;
    await this.closeLog();
  }

  private async closeLog(): Promise<void> {
    if (this.log.writableEnded) return;
    await new Promise((r) => this.log.end(r));
  }

  /** Synchronous last resort when the devnet itself exits. */
  killNow(): void {
    if (this.running) this.signalGroup("SIGKILL");
  }
}

export class ProcessSupervisor {
  private readonly processes: ManagedProcess[] = [];
  /** Set by stopAll: a shutdown may not race a start-up that is still spawning. */
  private closed = false;

  /** Called when a child exits without the supervisor stopping it. */
  onUnexpectedExit: ((process: ManagedProcess, code: number | null) => void) | null = null;

  /** Starts a child in its own process group and waits until it is ready; rejects with its output if it exits first. */
  async start(spec: SpawnSpec): Promise<ManagedProcess> {
    if (this.closed) throw new Error(`not starting ${spec.name}: the devnet is shutting down`);
    const log = createWriteStream(spec.logPath, { flags: "a" });
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const managed = new ManagedProcess(spec, child, log);
    this.processes.push(managed);
    void managed.exited.then((code) => {
      if (!managed.stopping) this.onUnexpectedExit?.(managed, code);
    });
    let ready = false;
    const readyLine = new Promise<void>((resolveReady) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        managed.recordLine(line);
        if (!ready && spec.readyLine?.(line) === true) resolveReady();
      });
    });
    const readyProbe = async (): Promise<void> => {
      for (;;) {
        if (!managed.running) return new Promise(() => {});
        if (await spec.readyProbe!().catch(() => false)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const timeoutMs = spec.readyTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        spec.readyProbe !== undefined ? readyProbe() : readyLine,
        managed.exited.then((code) => {
          throw new Error(`${spec.name} exited with code ${code} before it was ready:\n${managed.recentOutput()}`);
        }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${spec.name} was not ready after ${timeoutMs} ms (log: ${spec.logPath})`)), timeoutMs);
        }),
      ]);
      ready = true;
    } catch (error) {
      await managed.stop(1_000);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return managed;
  }

  running(): ManagedProcess[] {
    return this.processes.filter((p) => p.running);
  }

  /** Stops every running child, newest first; later start() calls fail. */
  async stopAll(graceMs = 5_000): Promise<void> {
    this.closed = true;
    for (const managed of [...this.processes].reverse()) if (managed.running) await managed.stop(graceMs);
  }

  /** SIGKILLs every child group at once; safe to call from a process "exit" handler. */
  killAllNow(): void {
    for (const managed of this.processes) managed.killNow();
  }
}
