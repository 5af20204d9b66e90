/** #/message/<id>: one message's status, summary, timeline, why it has not run, and the three views it is read from. */
import type { MessageDetail } from "../../../relayer/explorer/api-types.ts";
import { api } from "../api.ts";
import { Badge, ErrorBox, Hash, LoadStatus, MaybeHash, TxRef } from "../components.tsx";
import { useChains } from "../config.ts";
import { usePoll } from "../poll.ts";
import { MessageFacts } from "./message-facts.tsx";
import { Failure, Timeline } from "./timeline.tsx";

const REFRESH_MS = 3000;
const settled = (detail: MessageDetail) => detail.state === "delivered" || detail.state === "abandoned";

export function MessagePage({ id }: { id: string }) {
  const polled = usePoll(id, (signal) => api.message(id, signal), { intervalMs: REFRESH_MS, keepGoing: (detail) => !settled(detail) });
  const detail = polled.data;
  if (detail === null && polled.error?.status === 404) {
    return (
      <div class="page">
        <h1 class="hash-heading">Message {id}</h1>
        <ErrorBox error={polled.error} title={`Message ${id} is not known to the relayer or found on the chains`} />
      </div>
    );
  }
  return (
    <div class="page">
      <h1 class="hash-heading">
        Message {detail?.messageId ?? id} {detail !== null && <Badge state={detail.state} />}
      </h1>
      <LoadStatus loading={polled.loading} error={polled.error} hasData={detail !== null} readAt={polled.readAt} />
      {detail !== null && <MessageBody detail={detail} />}
    </div>
  );
}

function MessageBody({ detail }: { detail: MessageDetail }) {
  return (
    <>
      <Failure detail={detail} />
      {detail.behind !== null && (
        <p class="note" role="note">
          The {detail.behind.view} view is behind: {detail.behind.note}
        </p>
      )}
      <div class="columns">
        <section class="card" aria-label="Summary">
          <h2>Summary</h2>
          <Summary detail={detail} />
        </section>
        <section class="card">
          <h2>Timeline</h2>
          <Timeline detail={detail} />
        </section>
      </div>
      <section class="card">
        <h2>Where it was read</h2>
        <Views detail={detail} />
      </section>
    </>
  );
}

function payloadWords(payload: string): string {
  const bytes = Math.max(0, (payload.length - 2) / 2);
  const shown = payload.length > 34 ? `${payload.slice(0, 18)}…${payload.slice(-8)}` : payload;
  return `${shown} (${bytes} ${bytes === 1 ? "byte" : "bytes"})`;
}

function Summary({ detail }: { detail: MessageDetail }) {
  const m = detail.message;
  return (
    <dl class="facts">
      <MessageFacts message={m} />
      <dt>Gas limit</dt>
      <dd>{m.gasLimit}</dd>
      <dt>Payload</dt>
      <dd class="hash" title={m.payload}>
        {payloadWords(m.payload)}
      </dd>
      <dt>Source transaction</dt>
      <dd>
        <TxRef chainId={detail.source.chainId} hash={detail.source.txHash} internal />
      </dd>
      <dt>Source gateway</dt>
      <dd>
        <Hash value={m.srcGateway} />
      </dd>
    </dl>
  );
}

function Views({ detail }: { detail: MessageDetail }) {
  const chains = useChains();
  const { source, target, relayer } = detail;
  return (
    <table class="details" aria-label="Views">
      <thead>
        <tr>
          <th>View</th>
          <th>Chain</th>
          <th>State</th>
          <th>Transaction</th>
          <th>Details</th>
        </tr>
      </thead>
      <tbody>
        <tr>
          <th scope="row">Source</th>
          <td>{chains.name(source.chainId)}</td>
          <td>{source.final ? "final" : "not final yet"}</td>
          <td>
            <TxRef chainId={source.chainId} hash={source.txHash} internal />
          </td>
          <td>
            block {source.blockNumber}, log {source.logIndex}; final block {source.finalBlock}
          </td>
        </tr>
        <tr>
          <th scope="row">Target</th>
          <td>{chains.name(target.chainId)}</td>
          {target.kind === "not-configured" ? (
            <td colSpan={3}>not configured in the explorer</td>
          ) : (
            <>
              <td>{target.state}</td>
              <td>{target.txHash === null ? <MaybeHash value={null} /> : <TxRef chainId={target.chainId} hash={target.txHash} />}</td>
              <td>{targetDetails(target.state, target.reason, target.retry)}</td>
            </>
          )}
        </tr>
        <tr>
          <th scope="row">Relayer</th>
          <td class="muted">–</td>
          <td>{relayer.kind === "known" ? (relayer.state ?? "known") : relayer.kind}</td>
          <td class="muted">–</td>
          <td>{relayerDetails(relayer)}</td>
        </tr>
      </tbody>
    </table>
  );
}

function targetDetails(state: string, reason: string | null, retry: { possible: boolean; error: string | null } | null): string {
  const parts: string[] = [];
  // A delivered message may still carry the reason of an earlier failed run: it says nothing about now.
  if (reason !== null) parts.push(state === "failed" ? reason : `an earlier run reverted: ${reason}`);
  if (retry !== null) parts.push(retry.possible ? "a retry can run" : `a retry cannot run${retry.error !== null ? `: ${retry.error}` : ""}`);
  return parts.length === 0 ? "–" : parts.join("; ");
}

function relayerDetails(relayer: MessageDetail["relayer"]): string {
  const parts: string[] = [];
  if (relayer.attempts !== null) parts.push(`${relayer.attempts} ${relayer.attempts === 1 ? "attempt" : "attempts"}`);
  if (relayer.reason !== null) parts.push(relayer.reason);
  if (relayer.lastError !== null) parts.push(`last error: ${relayer.lastError}`);
  return parts.length === 0 ? "–" : parts.join("; ");
}
