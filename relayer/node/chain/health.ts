/**
 * The `chains` readiness check: every configured chain readable through a quorum of its endpoints.
 * `/health/ready` is open to anyone who can reach the API, so answers are reused for `reuseMs`:
 * probes cannot turn into a stream of RPC calls.
 */
import type { NodeChainConfig } from "./config.ts";
import { ChainReader } from "./reader.ts";

export interface ChainsCheck {
  ok: boolean;
  detail: string;
}

export function chainsReadiness(chains: readonly NodeChainConfig[], reuseMs = 5_000): () => Promise<ChainsCheck> {
  const readers = chains.map((chain) => new ChainReader(chain));
  let last: { at: number; answer: Promise<ChainsCheck> } | null = null;
  const check = async (): Promise<ChainsCheck> => {
    if (readers.length === 0) return { ok: false, detail: "no chains configured: this node signs nothing" };
    const results = await Promise.all(readers.map((reader) => reader.health()));
    return { ok: results.every((r) => r.ok), detail: results.map((r) => r.detail).join("; ") };
  };
  return () => {
    if (last === null || Date.now() - last.at > reuseMs) last = { at: Date.now(), answer: check() };
    return last.answer;
  };
}
