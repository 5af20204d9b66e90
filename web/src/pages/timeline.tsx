/** A message's life as steps, and what to do when it has not run. */
import type { MessageDetail, Remedy, TimelineStep } from "../../../relayer/explorer/api-types.ts";
import { CopyButton, Time, TxRef } from "../components.tsx";
import { useChains } from "../config.ts";
import { capitalise } from "../format.ts";

export function Timeline({ detail }: { detail: MessageDetail }) {
  return (
    <ol class="timeline" aria-label="Timeline">
      {detail.timeline.map((step, index) => (
        <Step key={`${step.step}-${index}`} step={step} detail={detail} />
      ))}
    </ol>
  );
}

function Step({ step, detail }: { step: TimelineStep; detail: MessageDetail }) {
  const chains = useChains();
  return (
    <li class={`step step-${step.step}`} data-step={step.step}>
      <div class="step-head">
        <strong class="step-name">{capitalise(step.step)}</strong>
        {step.at !== null ? <Time at={step.at} /> : <span class="muted">time not recorded</span>}
      </div>
      {step.text !== "" && <p class="step-text">{step.text}</p>}
      {step.signers !== null && step.signers.length > 0 && <p class="signers">by parties {step.signers.join(", ")}</p>}
      {step.tx !== null && (
        <p class="step-tx">
          tx on {chains.name(step.tx.chainId)}: <TxRef chainId={step.tx.chainId} hash={step.tx.hash} internal={isSourceTx(step.tx, detail)} />
        </p>
      )}
    </li>
  );
}

/** A transaction on the source chain (the one that sent the message, or another there) opens the transaction page. */
function isSourceTx(tx: { chainId: number; hash: string }, detail: MessageDetail): boolean {
  if (tx.hash.toLowerCase() === detail.source.txHash.toLowerCase()) return true;
  return tx.chainId === detail.source.chainId && detail.source.chainId !== detail.message.dstChainId;
}

export function Failure({ detail }: { detail: MessageDetail }) {
  return (
    <>
      {detail.failure !== null && (
        <div class="failure" role="alert">
          <h2>Why it has not run</h2>
          <p>{detail.failure}</p>
        </div>
      )}
      {detail.remedies.length > 0 && (
        <section class="card remedies" aria-label="What you can do">
          <h2>What you can do</h2>
          <ul>
            {detail.remedies.map((remedy, index) => (
              <RemedyItem key={`${remedy.action}-${index}`} remedy={remedy} />
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

function RemedyItem({ remedy }: { remedy: Remedy }) {
  return (
    <li data-action={remedy.action}>
      <p>{remedy.text}</p>
      {remedy.command !== null && (
        <div class="command">
          <code>{remedy.command}</code>
          <CopyButton text={remedy.command} />
        </div>
      )}
    </li>
  );
}
