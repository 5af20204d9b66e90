/** #/messages: the relayer's messages, searched and filtered, a page at a time; the query lives in the hash. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { MessagePage } from "../../../relayer/explorer/api-types.ts";
import { api, type MessageQuery } from "../api.ts";
import { Badge, Hash, LoadStatus } from "../components.tsx";
import { useChains, type Chains } from "../config.ts";
import { isHash32, relativeTime } from "../format.ts";
import { usePoll } from "../poll.ts";
import { messageHash, messagesHash, navigate, txHash } from "../router.ts";

const REFRESH_MS = 5000;
const TYPING_MS = 300;

export function MessagesPage({ query }: { query: MessageQuery }) {
  const chains = useChains();
  const polled = usePoll(JSON.stringify(query), (signal) => api.messages(query, signal), { intervalMs: REFRESH_MS, keepOnChange: true });
  const data = polled.data;
  return (
    <div class="page">
      <h1>Messages</h1>
      <Filters query={query} data={data} chains={chains} />
      <LoadStatus loading={polled.loading} error={polled.error} hasData={data !== null} readAt={polled.readAt} />
      {data !== null && <MessageTable data={data} chains={chains} query={query} />}
    </div>
  );
}

function Filters({ query, data, chains }: { query: MessageQuery; data: MessagePage | null; chains: Chains }) {
  const [text, setText] = useState(query.q);
  const input = useRef<HTMLInputElement>(null);
  const latest = useRef(query);
  latest.current = query;

  // The hash changed from outside (back button, a link): show it, unless the user is typing.
  useEffect(() => {
    if (document.activeElement !== input.current) setText(query.q);
  }, [query.q]);

  // Typing goes into the hash after a pause, replacing the history entry rather than adding one per key.
  useEffect(() => {
    if (text.trim() === latest.current.q) return;
    const timer = setTimeout(() => navigate(messagesHash({ ...latest.current, q: text.trim(), page: 1 }), true), TYPING_MS);
    return () => clearTimeout(timer);
  }, [text]);

  const set = (change: Partial<MessageQuery>) => navigate(messagesHash({ ...query, ...change, page: 1 }));
  const routes = (data?.routes ?? []).map((r) => `${r.srcChainId}-${r.dstChainId}`);
  if (query.route !== "" && !routes.includes(query.route)) routes.push(query.route);
  const states: string[] = [...(data?.states ?? [])];
  if (query.state !== "" && !states.includes(query.state)) states.push(query.state);

  return (
    <form
      class="filters"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        set({ q: text.trim() });
      }}
    >
      <label>
        Search
        <input ref={input} type="search" value={text} placeholder="message id, source tx, sender or receiver" spellcheck={false} onInput={(event) => setText(event.currentTarget.value)} />
      </label>
      <label>
        Route
        <select value={query.route} onChange={(event) => set({ route: event.currentTarget.value })}>
          <option value="">All routes</option>
          {routes.map((route) => (
            <option key={route} value={route}>
              {routeLabel(route, chains)}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select value={query.state} onChange={(event) => set({ state: event.currentTarget.value })}>
          <option value="">All statuses</option>
          {states.map((state) => (
            <option key={state} value={state}>
              {state}
            </option>
          ))}
        </select>
      </label>
    </form>
  );
}

function routeLabel(route: string, chains: Chains): string {
  const match = /^(\d+)-(\d+)$/.exec(route);
  return match === null ? route : `${chains.name(Number(match[1]))} → ${chains.name(Number(match[2]))}`;
}

function MessageTable({ data, chains, query }: { data: MessagePage; chains: Chains; query: MessageQuery }) {
  const pages = Math.max(1, Math.ceil(data.total / Math.max(1, data.pageSize)));
  const go = (page: number) => navigate(messagesHash({ ...query, page }));
  const filtered = query.q !== "" || query.route !== "" || query.state !== "";
  return (
    <>
      {data.items.length === 0 ? (
        <NoMatch q={query.q} filtered={filtered} />
      ) : (
        <div class="table-wrap">
          <table aria-label="Messages" class="list">
            <thead>
              <tr>
                <th>Message</th>
                <th>Route</th>
                <th>Sender</th>
                <th>Receiver</th>
                <th>Status</th>
                <th class="num">Attempts</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((m) => (
                <tr key={m.messageId}>
                  <td>
                    <Hash value={m.messageId} href={messageHash(m.messageId)} />
                  </td>
                  <td>{routeLabel(`${m.srcChainId}-${m.dstChainId}`, chains)}</td>
                  <td>
                    <Hash value={m.sender} />
                  </td>
                  <td>
                    <Hash value={m.receiver} />
                  </td>
                  <td>
                    <Badge state={m.state} />
                  </td>
                  <td class="num">{m.attempts}</td>
                  <td title={new Date(m.updatedAt).toLocaleString()}>{relativeTime(m.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={data.page <= 1} onClick={() => go(data.page - 1)}>
          Previous
        </button>
        <span>
          Page {data.page} of {pages} ({data.total} {data.total === 1 ? "message" : "messages"})
        </span>
        <button type="button" disabled={data.page >= pages} onClick={() => go(data.page + 1)}>
          Next
        </button>
      </nav>
    </>
  );
}

function NoMatch({ q, filtered }: { q: string; filtered: boolean }) {
  return (
    <div class="empty">
      <p>{filtered ? "No messages match." : "The relayer has no messages yet."}</p>
      {isHash32(q) && (
        <p>
          The relayer has no record of it. <a href={messageHash(q.trim())}>Look it up on the chains as a message id</a> or <a href={txHash(q.trim())}>as a source transaction</a>.
        </p>
      )}
    </div>
  );
}
