/**
 * Staking as a node extension (relayer/node/plugin.ts): the StakingAgent's
 * committee, key authority, message signatures, frames, fault handling,
 * `/v1/staking` routes and readiness, handed to the node through its port.
 */
import { BaseError, HttpRequestError, TimeoutError } from "viem";
import { backoffMs } from "../shared/backoff.ts";
import { z } from "zod";
import type { PluginFactory, PluginResponse } from "../node/plugin.ts";
import { StakingAgent } from "./agent.ts";
import { ProposalRefused } from "./votes.ts";

const absenceBody = z.object({ operator: z.string().regex(/^0x[0-9a-fA-F]{40}$/) }).strict();

/** Longest wait between attempts to reach the staking RPC at start. */
const MAX_START_BACKOFF_MS = 30_000;

/** Whether the RPC endpoint could not be reached or did not answer (as opposed to answering something wrong). */
function unreachable(error: unknown): boolean {
  return error instanceof BaseError && error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null;
}

export const stakingPlugin: PluginFactory = async (deps) => {
  // The committee comes from the contract, so the node cannot serve before it has read it once. An
  // unreachable RPC is waited for (a node started during an RPC outage comes up when it ends); a
  // wrong contract, a bad key or a node outside the committee fails at once.
  let agent: StakingAgent;
  for (let attempt = 1; ; attempt++) {
    try {
      agent = await StakingAgent.create({ config: deps.config, chains: deps.chains, store: deps.store, log: deps.log, send: deps.send });
      break;
    } catch (error) {
      if (!unreachable(error)) throw error;
      const waitMs = backoffMs(attempt, { firstMs: 500, maxMs: MAX_START_BACKOFF_MS });
      deps.log.warn("staking RPC unreachable; waiting for it before starting", { rpcUrl: deps.config.rpcUrl, attempt, retryInMs: waitMs, error: (error as BaseError).shortMessage });
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
  const route = async (method: string, path: string, body: unknown): Promise<PluginResponse | null> => {
    if (method === "GET" && path === "/v1/staking") return { status: 200, body: await agent.status() };
    if (method === "POST" && path === "/v1/staking/cluster-key") return { status: 200, body: { submitted: await agent.submitEpochKey() } };
    if (method === "POST" && path === "/v1/staking/absence") {
      const parsed = absenceBody.safeParse(body);
      if (!parsed.success) return { status: 400, body: { error: `invalid input: ${parsed.error.issues[0]?.path.join(".") || "(root)"}: ${parsed.error.issues[0]?.message}` } };
      try {
        const result = await agent.proposeAbsence(parsed.data.operator as `0x${string}`);
        const { proposal } = result;
        return {
          status: 200,
          body: {
            txHash: result.txHash,
            signers: result.signers,
            proposal: { epoch: proposal.epoch.toString(), node: proposal.node, fromBlock: proposal.fromBlock.toString(), toBlock: proposal.toBlock.toString() },
          },
        };
      } catch (error) {
        if (error instanceof ProposalRefused) return { status: 422, body: { error: error.message } };
        throw error;
      }
    }
    return null;
  };
  return {
    directory: agent.directory,
    keyAuthority: (approvals) => agent.keyAuthority(approvals),
    messageAuthenticator: () => agent.messageAuthenticator(),
    handle: (from, body) => agent.handle(from, body),
    onFault: (fault) => agent.removeForFault(fault),
    routePrefix: "/v1/staking",
    route,
    readiness() {
      const age = Date.now() - agent.directory.syncedAt;
      const limit = 3 * deps.config.pollMs + 10_000;
      return age <= limit ? { ok: true, detail: `RelayStaking read ${age} ms ago` } : { ok: false, detail: `RelayStaking not read for ${age} ms (staking RPC unreachable?)` };
    },
    start: (hooks) => agent.start(hooks.dropNonMembers, { reshare: hooks.reshare }),
    stop: () => agent.stop(),
  };
};
