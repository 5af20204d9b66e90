/**
 * The `mpc-relay` command tree. Each command group registers its commands
 * here (node.ts, keys.ts; the relayer adds `relay`, `devnet`), and main.ts
 * dispatches on the longest matching path, e.g. `key delete` or `node start`.
 */
export interface Command {
  /** Words after `mpc-relay`, e.g. ["node", "start"]. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly usage: string;
  run(args: string[]): Promise<void>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export class CommandRegistry {
  private readonly commands: Command[] = [];

  add(...commands: Command[]): this {
    this.commands.push(...commands);
    return this;
  }

  /** The command whose path is the longest prefix of argv, with the remaining arguments. */
  resolve(argv: readonly string[]): { command: Command; args: string[] } | null {
    let best: Command | null = null;
    for (const command of this.commands) {
      const matches = command.path.every((word, i) => argv[i] === word);
      if (matches && (best === null || command.path.length > best.path.length)) best = command;
    }
    return best === null ? null : { command: best, args: argv.slice(best.path.length) };
  }

  help(): string {
    const lines = this.commands.map((c) => `  mpc-relay ${c.path.join(" ").padEnd(16)} ${c.summary}`);
    return ["usage: mpc-relay <command> [options]", "", "commands:", ...lines, "", "run `mpc-relay <command> --help` for its options"].join("\n");
  }
}
