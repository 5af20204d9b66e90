/**
 * The RPC endpoints of one chain, asked together. A question ends as soon as its outcome is
 * decided (typically: a quorum agrees), or at its deadline; an endpoint without an answer by then,
 * or with an error, casts no vote. So one slow or silent endpoint costs nothing while a quorum
 * answers, and a whole question never outlasts the chain's rpcTimeoutMs.
 */
import { BaseError, createPublicClient, http, TimeoutError, type PublicClient } from "viem";
import type { NodeChainConfig } from "./config.ts";

export class ChainReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChainReadError";
  }
}

export interface QuorumResult<T> {
  /** The answer `quorum` endpoints agreed on, or null. */
  agreed: T | null;
  /** Each endpoint's answer, or why it gave none (for the refusal reason). */
  answers: (T | Error)[];
}

/** An endpoint's part in one question; `signal` aborts once the question has ended, so no further calls go out. */
export type EndpointTask<T> = (client: PublicClient, endpoint: number, signal: AbortSignal) => Promise<T>;

/** What `quorum` endpoints said (compared by `key`), and whether any answer still to come could change that. */
export function tally<T>(answers: readonly (T | Error | undefined)[], key: (answer: T) => string, quorum: number): { agreed: T | null; decided: boolean } {
  const counts = new Map<string, { answer: T; count: number }>();
  let outstanding = 0;
  for (const answer of answers) {
    if (answer === undefined) outstanding++;
    if (answer === undefined || answer instanceof Error) continue;
    const k = key(answer);
    const entry = counts.get(k) ?? { answer, count: 0 };
    entry.count++;
    counts.set(k, entry);
  }
  // A majority quorum (config.ts) leaves room for one agreed answer at most.
  const best = [...counts.values()].reduce((most, entry) => Math.max(most, entry.count), 0);
  const agreed = [...counts.values()].find((entry) => entry.count >= quorum)?.answer ?? null;
  return { agreed, decided: agreed !== null || best + outstanding < quorum };
}

export class Endpoints {
  readonly chainId: number;
  readonly quorum: number;
  readonly timeoutMs: number;
  readonly count: number;
  private readonly clients: PublicClient[];
  private readonly verifiedChainId = new Set<number>();

  constructor(config: NodeChainConfig) {
    this.chainId = config.chainId;
    this.quorum = config.quorum;
    this.timeoutMs = config.rpcTimeoutMs;
    this.count = config.rpcUrls.length;
    // cacheTime 0: a cached block number would make a fresh log look unconfirmed (or hide it).
    // No retries: within one question's deadline another endpoint's answer is worth more.
    this.clients = config.rpcUrls.map((url) => createPublicClient({ transport: http(url, { timeout: config.rpcTimeoutMs, retryCount: 0 }), cacheTime: 0 }) as PublicClient);
  }

  /** A deadline for a question starting now. */
  deadline(): number {
    return Date.now() + this.timeoutMs;
  }

  /**
   * Runs `task` on every endpoint at once and returns each one's answer (or error) as soon as
   * `decided` holds for the answers so far, plus `graceMs` for the rest to catch up, or every
   * endpoint has answered, or `deadline` passes.
   */
  race<T>(task: EndpointTask<T>, decided: (answers: readonly (T | Error | undefined)[]) => boolean, deadline: number, graceMs = 0): Promise<(T | Error)[]> {
    const answers: (T | Error | undefined)[] = this.clients.map(() => undefined);
    const stop = new AbortController();
    return new Promise((resolve) => {
      let graceTimer: NodeJS.Timeout | null = null;
      const finish = (unanswered: string): void => {
        if (stop.signal.aborted) return;
        clearTimeout(timer);
        if (graceTimer !== null) clearTimeout(graceTimer);
        stop.abort();
        resolve(answers.map((answer) => answer ?? new ChainReadError(unanswered)));
      };
      const timer = setTimeout(() => finish(`no answer within ${this.timeoutMs} ms`), Math.max(0, deadline - Date.now()));
      const settled = (): void => finish("no answer by the time the others had decided");
      this.clients.forEach((client, endpoint) => {
        this.checkChainId(client, endpoint)
          .then(() => {
            if (stop.signal.aborted) throw new ChainReadError("the question ended");
            return task(client, endpoint, stop.signal);
          })
          .then(
            (answer) => (answers[endpoint] = answer),
            (error: unknown) => (answers[endpoint] = error instanceof Error ? error : new Error(String(error))),
          )
          .finally(() => {
            if (stop.signal.aborted) return;
            if (answers.every((answer) => answer !== undefined)) return settled();
            if (graceTimer === null && decided(answers)) {
              if (graceMs <= 0) return settled();
              graceTimer = setTimeout(settled, graceMs);
            }
          });
      });
    });
  }

  /** One question whose answer counts once `quorum` endpoints gave the same one (compared by `key`). */
  async ask<T>(task: EndpointTask<T>, key: (answer: T) => string, deadline = this.deadline()): Promise<QuorumResult<T>> {
    const answers = await this.race(task, (so) => tally(so, key, this.quorum).decided, deadline);
    return { agreed: tally(answers, key, this.quorum).agreed, answers };
  }

  private async checkChainId(client: PublicClient, endpoint: number): Promise<void> {
    if (this.verifiedChainId.has(endpoint)) return;
    const id = await client.getChainId();
    if (id !== this.chainId) throw new ChainReadError(`RPC endpoint ${endpoint} serves chain ${id}, not ${this.chainId}`);
    this.verifiedChainId.add(endpoint);
  }
}

/** Whether a failed call ran out of time (as opposed to the endpoint refusing it). */
export function timedOut(error: unknown): boolean {
  return error instanceof BaseError && error.walk((e) => e instanceof TimeoutError) instanceof TimeoutError;
}

/** One line per endpoint answer, for refusal reasons. */
export function summarize<T>(answers: readonly (T | Error)[], describe: (answer: T) => string): string {
  return answers.map((answer) => (answer instanceof Error ? `error: ${answer.message.split("\n")[0]}` : describe(answer))).join(", ");
}
