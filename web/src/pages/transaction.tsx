/** #/tx/<hash>: the messages one source transaction sent, each as a card linking to its page. */
import type { MessageDetail } from "../../../relayer/explorer/api-types.ts";
import { api } from "../api.ts";
import { Badge, ErrorBox, LoadStatus, TxRef } from "../components.tsx";
import { useChains } from "../config.ts";
import { usePoll } from "../poll.ts";
import { messageHash } from "../router.ts";
import { MessageFacts } from "./message-facts.tsx";

const REFRESH_MS = 5000;

export function TransactionPage({ hash }: { hash: string }) {
  const chains = useChains();
  const polled = usePoll(hash, (signal) => api.transaction(hash, signal), {
    intervalMs: REFRESH_MS,
    keepGoing: (tx) => tx.messages.some((m) => m.state !== "delivered" && m.state !== "abandoned"),
  });
  const tx = polled.data;
  if (tx === null && polled.error?.status === 404) {
    return (
      <div class="page">
        <h1 class="hash-heading">Transaction {hash}</h1>
        <ErrorBox error={polled.error} title={`Transaction ${hash} is not known on the source chains`} />
      </div>
    );
  }
  return (
    <div class="page">
      <h1 class="hash-heading">Transaction {tx?.txHash ?? hash}</h1>
      <LoadStatus loading={polled.loading} error={polled.error} hasData={tx !== null} readAt={polled.readAt} />
      {tx !== null && (
        <>
          <p>
            On {chains.name(tx.chainId)}: <TxRef chainId={tx.chainId} hash={tx.txHash} />. It sent {tx.messages.length} {tx.messages.length === 1 ? "message" : "messages"}.
          </p>
          {tx.messages.length === 0 ? (
            <p class="empty">This transaction sent no messages through the gateway.</p>
          ) : (
            <ul class="cards" aria-label="Messages sent">
              {tx.messages.map((m) => (
                <MessageCard key={m.messageId} detail={m} />
              ))}
            </ul>
          )}
        </>
      )}
    </div>
  );
}

function MessageCard({ detail }: { detail: MessageDetail }) {
  return (
    <li class="card message-card">
      <div class="card-head">
        <a href={messageHash(detail.messageId)} class="hash" title={detail.messageId}>
          Message {detail.messageId.slice(0, 10)}…{detail.messageId.slice(-6)}
        </a>
        <Badge state={detail.state} />
      </div>
      <dl class="facts compact">
        <MessageFacts message={detail.message} />
      </dl>
      {detail.failure !== null && <p class="card-failure">{detail.failure}</p>}
    </li>
  );
}
