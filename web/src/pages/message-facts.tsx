/** A message's route, sender, receiver and nonce, as `<dt>`/`<dd>` pairs for the `<dl>` of the message page and of a transaction's cards. */
import type { MessageDetail } from "../../../relayer/explorer/api-types.ts";
import { Hash } from "../components.tsx";
import { useChains } from "../config.ts";
import { routeWords } from "../format.ts";

export function MessageFacts({ message: m }: { message: MessageDetail["message"] }) {
  const chains = useChains();
  return (
    <>
      <dt>Route</dt>
      <dd>{routeWords(m.srcChainId, m.dstChainId, chains.name)}</dd>
      <dt>Sender</dt>
      <dd>
        <Hash value={m.sender} />
      </dd>
      <dt>Receiver</dt>
      <dd>
        <Hash value={m.receiver} />
      </dd>
      <dt>Nonce</dt>
      <dd>{m.nonce}</dd>
    </>
  );
}
