/**
 * What the relay-address transactions this node agreed to sign may cost, per chain over a sliding
 * period. Each transaction is charged its worst case (gas * maxFeePerGas) when validated, before any
 * signature, and the charge is on disk first: a small JSON file in the node's dataDir, replaced
 * atomically (write, fsync, rename, fsync the folder), so a restart forgets nothing. Only one
 * transaction per sender and nonce can ever be mined, so a replacement at the same nonce (a fee
 * bump, or a re-validation of the same transaction) is charged only what it adds over the most
 * already charged for that nonce; that charge then counts from the replacement's time.
 */
import { readFile } from "node:fs/promises";
import { writeFileDurably } from "../../shared/durable-file.ts";
import { z } from "zod";
import { RequestRejected } from "../validators.ts";

export interface FeeLimits {
  /** Most all transactions charged within `periodMs` may pay together. */
  budgetWei: bigint;
  periodMs: number;
  /** Most transactions (distinct sender and nonce) charged within `periodMs`. */
  maxTransactions: number;
}

/** The budget file cannot be read: the node refuses relay transactions rather than forget what it spent. */
export class FeeBudgetUnreadable extends Error {
  constructor(path: string, cause: unknown) {
    super(`relay-transaction fee budget ${path} is unreadable (${cause instanceof Error ? cause.message : String(cause)}); relay transactions stay refused until an operator repairs it`, { cause });
    this.name = "FeeBudgetUnreadable";
  }
}

const fileSchema = z
  .object({
    version: z.literal(1),
    charges: z.array(
      z
        .object({
          chainId: z.number().int().positive(),
          sender: z.string().regex(/^0x[0-9a-f]{40}$/),
          nonce: z.number().int().nonnegative(),
          at: z.number().int().nonnegative(),
          wei: z.string().regex(/^\d{1,78}$/),
        })
        .strict(),
    ),
  })
  .strict();

interface Charge {
  at: number;
  wei: bigint;
}

export class FeeBudget {
  /** chain id -> "sender:nonce" -> charge. */
  private charges: Map<number, Map<string, Charge>> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Charges one transaction, or throws RequestRejected saying which limit it would break. Calls run one at a time. */
  charge(chainId: number, sender: string, nonce: number, feeWei: bigint, limits: FeeLimits): Promise<void> {
    const run = this.queue.then(() => this.chargeNow(chainId, sender.toLowerCase(), nonce, feeWei, limits));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async chargeNow(chainId: number, sender: string, nonce: number, feeWei: bigint, limits: FeeLimits): Promise<void> {
    const all = await this.load();
    const now = this.now();
    const since = now - limits.periodMs;
    const charges = new Map([...(all.get(chainId) ?? new Map<string, Charge>())].filter(([, c]) => c.at > since));
    const key = `${sender}:${nonce}`;
    const prior = charges.get(key)?.wei ?? 0n;
    if (feeWei <= prior) return;
    const spent = [...charges.values()].reduce((sum, c) => sum + c.wei, 0n);
    const period = `${limits.periodMs / 1000} s`;
    if (!charges.has(key) && charges.size >= limits.maxTransactions) throw new RequestRejected(`chain ${chainId}: ${limits.maxTransactions} relay transactions already signed in the last ${period}`);
    if (spent - prior + feeWei > limits.budgetWei)
      throw new RequestRejected(`chain ${chainId}: fee budget exhausted (${spent} of ${limits.budgetWei} wei charged in the last ${period}; this transaction needs ${feeWei - prior} more)`);
    charges.set(key, { at: now, wei: feeWei });
    const next = new Map(all).set(chainId, charges);
    await this.persist(next);
    this.charges = next;
  }

  private async load(): Promise<Map<number, Map<string, Charge>>> {
    if (this.charges !== null) return this.charges;
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new FeeBudgetUnreadable(this.path, error);
      this.charges = new Map();
      return this.charges;
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch (error) {
      throw new FeeBudgetUnreadable(this.path, error);
    }
    const charges = new Map<number, Map<string, Charge>>();
    for (const c of parsed.charges) {
      const chain = charges.get(c.chainId) ?? new Map<string, Charge>();
      chain.set(`${c.sender}:${c.nonce}`, { at: c.at, wei: BigInt(c.wei) });
      charges.set(c.chainId, chain);
    }
    this.charges = charges;
    return charges;
  }

  private async persist(charges: Map<number, Map<string, Charge>>): Promise<void> {
    const file: z.infer<typeof fileSchema> = { version: 1, charges: [] };
    for (const [chainId, chain] of charges) {
      for (const [key, c] of chain) {
        const [sender, nonce] = key.split(":") as [string, string];
        file.charges.push({ chainId, sender, nonce: Number(nonce), at: c.at, wei: c.wei.toString() });
      }
    }
    await writeFileDurably(this.path, JSON.stringify(file));
  }
}
