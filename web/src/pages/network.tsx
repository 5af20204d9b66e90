/** #/network: the relayer, its signer nodes, the gateways' relay keys and the staking committee. */
import type { GatewayView, NetworkView } from "../../../relayer/explorer/api-types.ts";
import { api } from "../api.ts";
import { Badge, Hash, LoadStatus, MaybeHash } from "../components.tsx";
import { relativeTime, yesNo } from "../format.ts";
import { usePoll } from "../poll.ts";
import { Committee } from "./committee.tsx";
import { NodesTable } from "./nodes.tsx";

const REFRESH_MS = 5000;

export function NetworkPage() {
  const polled = usePoll("network", (signal) => api.network(signal), { intervalMs: REFRESH_MS });
  const view = polled.data;
  return (
    <div class="page">
      <h1>Network</h1>
      <LoadStatus loading={polled.loading} error={polled.error} hasData={view !== null} readAt={polled.readAt} />
      {view !== null && <NetworkBody view={view} />}
    </div>
  );
}

function NetworkBody({ view }: { view: NetworkView }) {
  return (
    <>
      {view.errors.length > 0 && (
        <section class="warning" aria-label="Errors">
          <h2>Some parts could not be read</h2>
          <ul>
            {view.errors.map((error, index) => (
              <li key={index}>{error}</li>
            ))}
          </ul>
        </section>
      )}
      <Relayer relayer={view.relayer} />
      <section class="card">
        <h2>Nodes</h2>
        <NodesTable nodes={view.nodes} />
      </section>
      <section class="card">
        <h2>Gateways</h2>
        <Gateways gateways={view.gateways} />
      </section>
      {view.staking === null ? <p class="muted">No staking contract is configured.</p> : <Committee staking={view.staking} />}
      <p class="muted small">Read {relativeTime(view.readAt)}.</p>
    </>
  );
}

/** The readiness checks that failed: the relayer answers `{ name: { ok, detail } }`. */
function failingChecks(checks: Record<string, unknown> | null): string[] {
  if (checks === null) return [];
  return Object.entries(checks).flatMap(([name, check]) => {
    if (check === false) return [name];
    if (typeof check !== "object" || check === null || !("ok" in check) || check.ok !== false) return [];
    const detail = "detail" in check && typeof check.detail === "string" ? check.detail : null;
    return [detail === null ? name : `${name}: ${detail}`];
  });
}

function Relayer({ relayer }: { relayer: NetworkView["relayer"] }) {
  const failing = failingChecks(relayer.checks);
  return (
    <section class="card" aria-label="Relayer">
      <h2>Relayer</h2>
      <p>
        <span class="wrap">{relayer.url}</span> <Badge state={relayer.ready ? "ready" : "not ready"} />
      </p>
      {relayer.error !== null && <p class="bad">{relayer.error}</p>}
      {failing.length > 0 && (
        <>
          <p>Failing checks:</p>
          <ul class="failing-checks">
            {failing.map((text) => (
              <li key={text}>{text}</li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function Gateways({ gateways }: { gateways: GatewayView[] }) {
  if (gateways.length === 0) return <p class="empty">No gateways are configured.</p>;
  return (
    <div class="table-wrap">
      <table aria-label="Gateways" class="list">
        <thead>
          <tr>
            <th>Chain</th>
            <th>Target gateway</th>
            <th>Relay</th>
            <th>Rotation</th>
            <th>Previous relay</th>
            <th>Paused</th>
          </tr>
        </thead>
        <tbody>
          {gateways.map((g) => (
            <tr key={g.chainId}>
              <td>
                {g.name}
                {g.error !== null && <div class="bad small">{g.error}</div>}
              </td>
              <td>
                <Hash value={g.targetGateway} />
              </td>
              <td>
                <MaybeHash value={g.relay} />
              </td>
              <td>
                <Badge state={g.rotation} />
                {g.lastRotationAt !== null && <div class="muted small">last {relativeTime(g.lastRotationAt * 1000)}</div>}
              </td>
              <td>
                {g.previousRelay === null ? (
                  <span class="muted">–</span>
                ) : (
                  <>
                    <Hash value={g.previousRelay.address} />
                    <div class="muted small" title={new Date(g.previousRelay.expiresAt * 1000).toLocaleString()}>
                      {g.previousRelay.expiresAt * 1000 > Date.now() ? "signs until" : "expired"} {new Date(g.previousRelay.expiresAt * 1000).toLocaleString()} (
                      {relativeTime(g.previousRelay.expiresAt * 1000)})
                    </div>
                  </>
                )}
              </td>
              <td>{g.paused === true ? <Badge state="paused" label="paused" /> : yesNo(g.paused)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
