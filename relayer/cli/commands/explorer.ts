/** `mpc-relay explorer`: serve the web explorer over a relayer's config (its chains and API). */
import type { Command } from "commander";
import type { Address } from "viem";
import { bindHostSchema } from "../../shared/addresses.ts";
import { httpUrlArg, integerArg, usageError, withJson, type JsonOption } from "../options.ts";
import { emitEvent } from "../output.ts";

interface ExplorerOptions extends JsonOption {
  config: string;
  api?: string;
  host: string;
  port: number;
  staking?: string;
  stakingFromBlock?: number;
}

/** `<chainId>:<address>` of a RelayStaking contract. */
function stakingArg(command: Command, text: string): { chainId: number; contract: Address } {
  const match = /^(\d+):(0x[0-9a-fA-F]{40})$/.exec(text);
  if (match === null) usageError(command, `--staking is <chainId>:<RelayStaking address>, not "${text}"`);
  return { chainId: Number(match[1]), contract: match[2] as Address };
}

export function registerExplorerCommand(program: Command): void {
  withJson(program.command("explorer").description("serve the web explorer: messages, one message's timeline, the network and performance plots"))
    .requiredOption("--config <file>", "the relayer's config: its chains (RPC URLs, gateways, fromBlock) and api")
    .option("--api <url>", "the relayer's API (default: the config's api)", httpUrlArg)
    .option("--host <host>", "the host to listen on (the explorer is read-only and holds no secret)", "127.0.0.1")
    .option("--port <port>", "the port to listen on (0: any free port)", integerArg(0, 65_535), 7_700)
    .option("--staking <chainId:address>", "a RelayStaking contract on one of the config's chains: committee, stakes and slashes")
    .option("--staking-from-block <block>", "the staking contract's deployment block (slashes are searched from it; default the chain's fromBlock)", integerArg(0))
    .action(async (o: ExplorerOptions, command: Command) => {
      const host = bindHostSchema.safeParse(o.host);
      if (!host.success) usageError(command, `--host ${o.host}: ${host.error.issues[0]?.message}`);
      const staking = o.staking === undefined ? undefined : stakingArg(command, o.staking);
      const [{ loadRelayerConfig }, { startExplorerFor }] = await Promise.all([import("../../relay/config.ts"), import("../../explorer/index.ts")]);
      const explorer = await startExplorerFor(await loadRelayerConfig(o.config), {
        host: o.host,
        port: o.port,
        configPath: o.config,
        ...(o.api === undefined ? {} : { relayerApi: o.api }),
        ...(staking === undefined ? {} : { staking: { ...staking, ...(o.stakingFromBlock === undefined ? {} : { fromBlock: BigInt(o.stakingFromBlock) }) } }),
        onError: (error) => process.stderr.write(`explorer: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n`),
      });
      emitEvent(o, { event: "explorer-listening", url: explorer.url }, (e) => `explorer: ${e.url}`);
      const shutdown = (): void => {
        void explorer.close().then(() => process.exit(0));
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
      await new Promise<never>(() => {});
    });
}
