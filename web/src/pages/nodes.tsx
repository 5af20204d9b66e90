/** The signer nodes as the relayer sees them: one row per node, its keys and presignatures. */
import type { NodeKey, NodeView } from "../../../relayer/explorer/api-types.ts";
import { Badge, MaybeHash } from "../components.tsx";
import { durationWords, megabytes, shortHash } from "../format.ts";

export function NodesTable({ nodes }: { nodes: NodeView[] }) {
  if (nodes.length === 0) return <p class="empty">The relayer names no signer nodes.</p>;
  return (
    <div class="table-wrap">
      <table aria-label="Nodes" class="list">
        <thead>
          <tr>
            <th class="num">Node</th>
            <th>Name</th>
            <th>Reachable</th>
            <th>Peer id</th>
            <th class="num">Peers</th>
            <th class="num">Sessions</th>
            <th>Presignatures</th>
            <th>Keys</th>
            <th class="num">Memory</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((node) => (
            <NodeRow key={node.name} node={node} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function NodeRow({ node }: { node: NodeView }) {
  const up = node.reachable;
  const pool = Object.entries(node.presignPool);
  return (
    <tr data-reachable={String(up)}>
      <td class="num">{node.index ?? "–"}</td>
      <td class="hash" title={node.name}>
        {nodeAddress(node.name)}
      </td>
      <td class="reach">{up ? <Badge state="reachable" /> : <span class="bad">unreachable: {node.error ?? "no answer"}</span>}</td>
      <td>
        {node.peerId === null ? (
          <span class="muted">–</span>
        ) : (
          <span class="hash" title={node.peerId}>
            {shortHash(node.peerId, 8, 6)}
          </span>
        )}
      </td>
      <td class="num">{up ? `${node.connectedPeers} / ${node.peers}` : "–"}</td>
      <td class="num">{up ? node.activeSessions : "–"}</td>
      <td>
        {pool.length === 0 ? (
          <span class="muted">–</span>
        ) : (
          <ul class="plain">
            {pool.map(([keyId, count]) => (
              <li key={keyId}>
                <span class="hash">{keyId}</span>: {count}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td class="keys-cell">{node.keys.length === 0 ? <span class="muted">–</span> : <Keys keys={node.keys} />}</td>
      <td class="num">{megabytes(node.rssBytes)}</td>
    </tr>
  );
}

function Keys({ keys }: { keys: NodeKey[] }) {
  return (
    <ul class="plain keys">
      {keys.map((key) => (
        <li key={key.keyId} class="key">
          <div>
            <span class="hash">{key.keyId}</span> <Badge state={key.status} />{" "}
            <span class="nowrap">
              {key.threshold} of {key.participants.length}
            </span>
          </div>
          <div class="muted small">
            <MaybeHash value={key.address} />
            {key.shareAgeSeconds !== null && <> · share age {durationWords(key.shareAgeSeconds)}</>}
            {key.origin !== null && <> · {key.origin}</>}
            {key.generation !== null && <> · generation {key.generation}</>}
          </div>
        </li>
      ))}
    </ul>
  );
}

/** A node named by its libp2p address reads as host:port (the peer id has its own column); an API URL stays as it is. */
function nodeAddress(name: string): string {
  const match = /^\/(?:ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d+)/.exec(name);
  if (match === null) return name;
  return name.startsWith("/ip6/") ? `[${match[1]}]:${match[2]}` : `${match[1]}:${match[2]}`;
}
