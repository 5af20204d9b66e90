/**
 * Whether the node can do its job now (`/health/ready`), as named checks:
 * - keys: it holds a READY key;
 * - peers: for each READY key, enough of its committee is connected for a
 *   signature (t - 1 other members);
 * - chains: each configured chain's RPC endpoints answer and agree (chain/);
 * - staking: its view of RelayStaking is fresh.
 * Liveness (`/health/live`) is only "the process answers".
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import type { Readiness } from "./api/http.ts";
import type { KeyRecord } from "./keystore.ts";

export interface Check {
  ok: boolean;
  detail: string;
}

export interface ReadinessSources {
  self: PartyIndex;
  keys(): Promise<KeyRecord[]>;
  connectedMembers(): PartyIndex[];
  chains?: () => Promise<Check>;
  staking?: () => Check;
}

export async function readiness(sources: ReadinessSources): Promise<Readiness> {
  const keys = (await sources.keys()).filter((k) => k.status === "READY");
  const connected = new Set(sources.connectedMembers());
  const checks: Record<string, Check> = {};
  checks.keys = keys.length > 0 ? { ok: true, detail: `${keys.length} READY: ${keys.map((k) => k.keyId).join(", ")}` } : { ok: false, detail: "no READY key" };
  const short = keys.flatMap((key) => {
    const reachable = key.participants.filter((p) => p !== sources.self && connected.has(p)).length;
    return reachable >= key.threshold - 1 ? [] : [`${key.keyId}: ${reachable} of the ${key.threshold - 1} other signers connected`];
  });
  checks.peers =
    keys.length === 0
      ? { ok: false, detail: `${connected.size} members connected` }
      : short.length === 0
        ? { ok: true, detail: `${connected.size} members connected` }
        : { ok: false, detail: short.join("; ") };
  if (sources.chains !== undefined) checks.chains = await sources.chains().catch((error: unknown) => ({ ok: false, detail: String(error) }));
  if (sources.staking !== undefined) checks.staking = sources.staking();
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
