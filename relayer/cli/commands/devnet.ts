/** `mpc-relay devnet`: the whole system on this machine, with a demo message each way. */
import { parseArgs } from "node:util";
import { defaultDevnetOptions, Devnet, type DevnetOptions } from "../../devnet/devnet.ts";
import { runDemo } from "../../devnet/demo.ts";
import { UsageError, type Command } from "../registry.ts";

function integer(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value)) throw new UsageError(`${flag} must be an integer, got "${text}"`);
  return value;
}

function pair(text: string | undefined, flag: string, fallback: [number, number]): [number, number] {
  if (text === undefined) return fallback;
  const parts = text.split(",").map((part) => Number(part.trim()));
  if (parts.length !== 2 || parts.some((p) => !Number.isInteger(p) || p <= 0)) throw new UsageError(`${flag} must be two positive integers like 8545,8546`);
  return [parts[0]!, parts[1]!];
}

/** node:util parseArgs, with its complaints turned into usage errors (printed with the usage line). */
function parseOrExplain(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        nodes: { type: "string" },
        threshold: { type: "string" },
        dir: { type: "string" },
        ports: { type: "string" },
        "chain-ids": { type: "string" },
        "block-time": { type: "string" },
        confirmations: { type: "string" },
        delivery: { type: "string" },
        batch: { type: "boolean" },
        "log-level": { type: "string" },
        "no-compile": { type: "boolean" },
        "no-staking": { type: "boolean" },
        "exit-after-demo": { type: "boolean" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export function parseDevnetArgs(args: string[]): { options: DevnetOptions; exitAfterDemo: boolean } {
  const { values } = parseOrExplain(args);
  const d = defaultDevnetOptions;
  const [portA, portB] = pair(values.ports, "--ports", [d.chains[0]!.port, d.chains[1]!.port]);
  const [idA, idB] = pair(values["chain-ids"], "--chain-ids", [d.chains[0]!.chainId, d.chains[1]!.chainId]);
  const delivery = values.delivery ?? d.delivery;
  if (delivery !== "permissionless" && delivery !== "relayAddress") throw new UsageError("--delivery must be permissionless or relayAddress");
  const logLevel = values["log-level"] ?? d.logLevel;
  if (logLevel !== "debug" && logLevel !== "info" && logLevel !== "warn" && logLevel !== "error") throw new UsageError("--log-level must be debug, info, warn or error");
  const nodes = integer(values.nodes, "--nodes", d.nodes);
  const options: DevnetOptions = {
    ...d,
    dir: values.dir ?? d.dir,
    chains: [
      { name: "a", chainId: idA, port: portA },
      { name: "b", chainId: idB, port: portB },
    ],
    nodes,
    // With only --nodes given, keep a majority threshold.
    threshold: integer(values.threshold, "--threshold", values.nodes === undefined ? d.threshold : Math.floor(nodes / 2) + 1),
    blockTimeMs: integer(values["block-time"], "--block-time", d.blockTimeMs),
    confirmations: integer(values.confirmations, "--confirmations", d.confirmations),
    delivery,
    batch: { ...d.batch, enabled: values.batch === true },
    logLevel,
    compile: values["no-compile"] !== true,
    staking: values["no-staking"] !== true,
  };
  return { options, exitAfterDemo: values["exit-after-demo"] === true };
}

const stamp = (): string => new Date().toISOString().slice(11, 19);

export const devnet: Command = {
  path: ["devnet"],
  summary: "run two local chains, an MPC network and a relayer, and deliver a demo message each way",
  usage:
    "mpc-relay devnet [--nodes 5] [--threshold 3] [--dir .devnet] [--ports 8545,8546] [--chain-ids 31337,31338] [--block-time 1000]\n" +
    "                 [--confirmations 1] [--delivery permissionless|relayAddress] [--batch] [--log-level info] [--no-compile] [--no-staking]\n" +
    "                 [--exit-after-demo]",
  async run(args) {
    const { options, exitAfterDemo } = parseDevnetArgs(args);
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
    const failure = new Promise<never>((_, reject) => {
      net.supervisor.onUnexpectedExit = (child, code) => {
        reject(new Error(`${child.name} (pid ${child.pid}) exited unexpectedly with code ${code}; its log: ${child.spec.logPath}\n${child.recentOutput().split("\n").slice(-15).join("\n")}`));
      };
    });
    failure.catch(() => {});

    try {
      await Promise.race([net.start(), failure]);
      say(`devnet up in ${options.dir}: addresses in devnet.json, API token and key-store passphrase in secrets.json, logs beside them`);
      await Promise.race([runDemo(net, say), failure]);
    } catch (error) {
      if (stopping !== null) return await stopping;
      say(`error: ${error instanceof Error ? error.message : String(error)}`);
      await shutdown("devnet failed");
      throw new Error("the devnet did not complete; see the messages and logs above");
    }
    if (exitAfterDemo) {
      await shutdown("--exit-after-demo");
      process.exit(0);
    }
    say("running; press Ctrl-C to stop every process");
    say(`try: npm run mpc-relay -- status --api ${net.nodes[0]!.apiUrl} --token <apiToken from ${net.dir}/secrets.json>`);
    await Promise.race([new Promise<never>(() => {}), failure]).catch(async (error: unknown) => {
      if (stopping !== null) return;
      say(`error: ${error instanceof Error ? error.message : String(error)}`);
      await shutdown("a devnet process failed");
      process.exit(1);
    });
  },
};
