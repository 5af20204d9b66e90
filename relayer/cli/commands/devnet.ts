/**
 * `mpc-relay devnet`: the whole system on this machine, with a demo message each way.
 * The devnet's modules (and its defaults, shown in the help) load only when this
 * command runs or shows its help, so other commands start without them.
 */
import { Command, Option } from "commander";
import type { DevnetOptions } from "../../devnet/devnet.ts";
import { integerArg, pairArg } from "../options.ts";

type DevnetModule = typeof import("../../devnet/devnet.ts");

interface DevnetFlags {
  nodes?: number;
  threshold?: number;
  dir: string;
  ports: [number, number];
  chainIds: [number, number];
  blockTime: number;
  confirmations: number;
  delivery: DevnetOptions["delivery"];
  batch?: boolean;
  logLevel: DevnetOptions["logLevel"];
  /** false with --no-compile, --no-staking, --no-explorer; commander leaves them unset otherwise, as these options are defined late. */
  compile?: boolean;
  staking?: boolean;
  explorer?: boolean;
  exitAfterDemo?: boolean;
}

export function registerDevnetCommand(program: Command): void {
  const devnet = program.command("devnet").description("run two local chains, an MPC network and a relayer, and deliver a demo message each way");
  program.hook("preSubcommand", async (_program, subcommand) => {
    if (subcommand === devnet) defineDevnet(devnet, await import("../../devnet/devnet.ts"));
  });
}

function defineDevnet(command: Command, module: DevnetModule): void {
  const d = module.defaultDevnetOptions;
  const [a, b] = [d.chains[0]!, d.chains[1]!];
  command
    .option("--nodes <n>", `signer nodes (default: ${d.nodes})`, integerArg(2))
    .option("--threshold <t>", `signers needed (default: ${d.threshold}, or a majority of --nodes)`, integerArg(1))
    .option("--dir <folder>", "working folder (wiped first, if a devnet made it)", d.dir)
    .addOption(new Option("--ports <a,b>", "the two chains' RPC ports").argParser(pairArg).default([a.port, b.port], `${a.port},${b.port}`))
    .addOption(new Option("--chain-ids <a,b>", "the two chains' ids").argParser(pairArg).default([a.chainId, b.chainId], `${a.chainId},${b.chainId}`))
    .option("--block-time <ms>", "block interval", integerArg(0), d.blockTimeMs)
    .option("--confirmations <n>", "blocks a message needs before it is signed", integerArg(1), d.confirmations)
    .addOption(new Option("--delivery <mode>", "who submits deliveries").choices(["permissionless", "relayAddress"]).default(d.delivery))
    .option("--batch", "deliver in batches")
    .addOption(new Option("--log-level <level>", "node and relayer log level").choices(["debug", "info", "warn", "error"]).default(d.logLevel))
    .option("--no-compile", "skip `hardhat compile`")
    .option("--no-staking", "fixed peer list, no RelayStaking")
    .option("--no-explorer", "do not serve the web explorer")
    .option("--exit-after-demo", "stop everything once the demo is delivered (for CI)")
    .action((flags: DevnetFlags) => runDevnet(module, devnetOptions(d, flags), flags.exitAfterDemo === true));
}

function devnetOptions(d: DevnetOptions, f: DevnetFlags): DevnetOptions {
  const nodes = f.nodes ?? d.nodes;
  return {
    ...d,
    dir: f.dir,
    chains: [
      { name: d.chains[0]!.name, chainId: f.chainIds[0], port: f.ports[0] },
      { name: d.chains[1]!.name, chainId: f.chainIds[1], port: f.ports[1] },
    ],
    nodes,
    // With only --nodes given, keep a majority threshold.
    threshold: f.threshold ?? (f.nodes === undefined ? d.threshold : Math.floor(nodes / 2) + 1),
    blockTimeMs: f.blockTime,
    confirmations: f.confirmations,
    delivery: f.delivery,
    batch: { ...d.batch, enabled: f.batch === true },
    logLevel: f.logLevel,
    compile: f.compile !== false,
    staking: f.staking !== false,
    explorer: f.explorer !== false,
  };
}

/** A node or the relayer is started again at most this often within the window; then the devnet stops. */
const RESTARTS_PER_PROCESS = 5;
const RESTART_WINDOW_MS = 10 * 60_000;

/** How many restarts each process has left within a sliding window. */
class RestartBudget {
  private readonly times = new Map<string, number[]>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}
  take(name: string): boolean {
    const now = Date.now();
    const recent = (this.times.get(name) ?? []).filter((t) => now - t < this.windowMs);
    if (recent.length >= this.limit) return false;
    this.times.set(name, [...recent, now]);
    return true;
  }
}

const stamp = (): string => new Date().toISOString().slice(11, 19);

async function runDevnet({ Devnet }: DevnetModule, options: DevnetOptions, exitAfterDemo: boolean): Promise<void> {
  const { runDemo } = await import("../../devnet/demo.ts");
  const say = (line: string): void => void process.stdout.write(`[${stamp()}] ${line}\n`);
  const net = new Devnet({ ...options, report: say });

  let stopping: Promise<void> | null = null;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      say(`${reason}: stopping the relayer, the nodes and the chains`);
      await net.stop();
      say("all devnet processes stopped");
    })();
    return stopping;
  };
  // Read through a call: TypeScript's narrowing does not see the handlers assign it.
  const currentShutdown = (): Promise<void> | null => stopping;
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping !== null) {
      // npm and tsx forward the terminal's Ctrl-C, so one keypress can arrive twice: only a later one forces.
      if (Date.now() - firstSignalAt < 1_500) return;
      net.supervisor.killAllNow();
      process.exit(130);
    }
    firstSignalAt = Date.now();
    void shutdown(`${signal} received`).then(() => process.exit(0));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  // `kill <npm pid>` ends npm without passing the signal on: when the launching process goes away, stop too.
  const launcher = process.ppid;
  setInterval(() => {
    if (process.ppid !== launcher && stopping === null) void shutdown("the process that started the devnet exited").then(() => process.exit(0));
  }, 1_000).unref();
  // Last resort if the devnet dies of an uncaught error: no orphaned children.
  process.once("exit", () => net.supervisor.killAllNow());
  let failWith: (error: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => (failWith = reject));
  net.supervisor.onUnexpectedExit = (child, code) => {
    failWith(new Error(`${child.name} (pid ${child.pid}) exited unexpectedly with code ${code}; its log: ${child.spec.logPath}\n${child.recentOutput().split("\n").slice(-15).join("\n")}`));
  };
  failure.catch(() => {});

  try {
    await Promise.race([net.start(), failure]);
    say(`devnet up in ${options.dir}: addresses in devnet.json, API token and key-store passphrase in secrets.json, logs beside them`);
    await Promise.race([runDemo(net, say), failure]);
  } catch (error) {
    // A signal started the shutdown while the devnet was starting: wait for it instead of reporting a failure.
    const stoppedBySignal = currentShutdown();
    if (stoppedBySignal !== null) return await stoppedBySignal;
    say(`error: ${error instanceof Error ? error.message : String(error)}`);
    await shutdown("devnet failed");
    throw new Error("the devnet did not complete; see the messages and logs above");
  }
  if (exitAfterDemo) {
    await shutdown("--exit-after-demo");
    process.exit(0);
  }
  // Running: a node or the relayer that dies is started again (a few times), as an operator's service manager would.
  const restarts = new RestartBudget(RESTARTS_PER_PROCESS, RESTART_WINDOW_MS);
  net.supervisor.onUnexpectedExit = (child, code) => {
    const log = `its log: ${child.spec.logPath}`;
    if (stopping !== null) return;
    if (child.name.startsWith("chain") || !restarts.take(child.name)) {
      return failWith(new Error(`${child.name} (pid ${child.pid}) exited unexpectedly with code ${code}; ${log}\n${child.recentOutput().split("\n").slice(-15).join("\n")}`));
    }
    say(`${child.name} (pid ${child.pid}) exited with code ${code}; starting it again (${log})`);
    net.restart(child.name).then(
      (pid) => say(`${child.name} running again (pid ${pid})`),
      (error: unknown) => failWith(new Error(`${child.name} would not start again: ${error instanceof Error ? error.message : String(error)}`)),
    );
  };
  if (net.explorerUrl !== null) say(`open the web explorer: ${net.explorerUrl}`);
  say("running; press Ctrl-C to stop every process");
  say(`try: npm run mpc-relay -- status --api ${net.nodes[0]!.apiUrl} --token <apiToken from ${net.dir}/secrets.json>`);
  await Promise.race([new Promise<never>(() => {}), failure]).catch(async (error: unknown) => {
    if (stopping !== null) return;
    say(`error: ${error instanceof Error ? error.message : String(error)}`);
    await shutdown("a devnet process failed");
    process.exit(1);
  });
}
