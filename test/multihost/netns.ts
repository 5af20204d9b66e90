/**
 * Hosts for multi-host tests: network namespaces the test creates and
 * isolates itself. A hub namespace (made by `unshare -n`, held open by a
 * sleeping process) carries a bridge; each host is its own namespace joined to
 * the bridge by a veth pair, with one address on the test subnet and no
 * default route. No namespace has an interface into the machine's own
 * network, so no packet can leave. Everything vanishes when the holding
 * processes die.
 *
 * Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2; `unavailable()`
 * says why not, so a test can skip with that reason.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";

export interface Host {
  readonly name: string;
  readonly address: string;
  /** Pid of the process holding the namespace (its /proc/<pid>/ns/net). */
  readonly pid: number;
  /** The hub-side end of its veth pair. */
  readonly link: string;
}

/** Why namespaces can't be made here, or null when they can. */
export function unavailable(): string | null {
  if (process.platform !== "linux") return `network namespaces need Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return "network namespaces need root";
  for (const tool of ["unshare", "nsenter", "ip"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  const probe = spawnSync("unshare", ["-n", "--", "ip", "link", "add", "probe0", "type", "bridge"], { encoding: "utf8" });
  if (probe.status !== 0) return `cannot create a network namespace with a bridge: ${probe.stderr.trim() || `exit ${probe.status}`}`;
  return null;
}

function run(args: string[]): void {
  const result = spawnSync(args[0]!, args.slice(1), { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr.trim() || `exit ${result.status}`}`);
}

/** A process that holds a fresh network namespace open for as long as it lives. */
async function holder(): Promise<ChildProcess> {
  const child = spawn("unshare", ["-n", "--", "sleep", "infinity"], { stdio: "ignore" });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  // unshare execs sleep in the new namespace: wait until the pid's namespace differs from ours.
  for (let i = 0; i < 100; i++) {
    const ns = spawnSync("readlink", [`/proc/${child.pid}/ns/net`], { encoding: "utf8" }).stdout.trim();
    const own = spawnSync("readlink", [`/proc/${process.pid}/ns/net`], { encoding: "utf8" }).stdout.trim();
    if (ns !== "" && ns !== own) return child;
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill("SIGKILL");
  throw new Error("the namespace holder did not enter its namespace");
}

export class IsolatedNetwork {
  private constructor(
    readonly subnet: string,
    private readonly hubProcess: ChildProcess,
    private readonly holders: ChildProcess[],
    readonly hosts: ReadonlyMap<string, Host>,
  ) {}

  /** The hub's own address on the bridge (a process run in the hub reaches every host). */
  get hubAddress(): string {
    return `${this.subnet}.254`;
  }

  get hubPid(): number {
    return this.hubProcess.pid!;
  }

  /** A hub and one namespace per host name, hosts numbered .1, .2, ... on `subnet`.0/24. */
  static async create(names: readonly string[], subnet = "10.77.0"): Promise<IsolatedNetwork> {
    if (names.length === 0 || names.length > 250) throw new Error("1 to 250 hosts");
    const hub = await holder();
    const holders: ChildProcess[] = [];
    const hosts = new Map<string, Host>();
    try {
      const inHub = (...args: string[]) => run(["nsenter", `--net=/proc/${hub.pid}/ns/net`, ...args]);
      inHub("ip", "link", "set", "lo", "up");
      inHub("ip", "link", "add", "br0", "type", "bridge");
      inHub("ip", "addr", "add", `${subnet}.254/24`, "dev", "br0");
      inHub("ip", "link", "set", "br0", "up");
      for (const [i, name] of names.entries()) {
        const child = await holder();
        holders.push(child);
        const host: Host = { name, address: `${subnet}.${i + 1}`, pid: child.pid!, link: `v${i + 1}` };
        const inHost = (...args: string[]) => run(["nsenter", `--net=/proc/${host.pid}/ns/net`, ...args]);
        inHub("ip", "link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", String(host.pid));
        inHub("ip", "link", "set", host.link, "master", "br0");
        inHub("ip", "link", "set", host.link, "up");
        inHost("ip", "link", "set", "lo", "up");
        inHost("ip", "addr", "add", `${host.address}/24`, "dev", "eth0");
        inHost("ip", "link", "set", "eth0", "up");
        hosts.set(name, host);
      }
    } catch (error) {
      for (const child of [hub, ...holders]) child.kill("SIGKILL");
      throw error;
    }
    return new IsolatedNetwork(subnet, hub, holders, hosts);
  }

  host(name: string): Host {
    const host = this.hosts.get(name);
    if (host === undefined) throw new Error(`no host ${name}`);
    return host;
  }

  /** Runs a command inside a host's namespace (or the hub's, with `host` null). */
  spawn(host: string | null, command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const pid = host === null ? this.hubPid : this.host(host).pid;
    return spawn("nsenter", [`--net=/proc/${pid}/ns/net`, "--", command, ...args], options);
  }

  /** Cuts a host off the bridge (its link down), or puts it back. */
  setConnected(name: string, connected: boolean): void {
    run(["nsenter", `--net=/proc/${this.hubPid}/ns/net`, "ip", "link", "set", this.host(name).link, connected ? "up" : "down"]);
  }

  destroy(): void {
    for (const child of [this.hubProcess, ...this.holders]) child.kill("SIGKILL");
  }
}
