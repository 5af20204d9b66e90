/** Small pieces every page uses: hashes, status badges, transaction links, error boxes, a copy button. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { ApiError } from "./api.ts";
import { useChains } from "./config.ts";
import { relativeTime, shortHash } from "./format.ts";
import { useNow } from "./poll.ts";
import { txHash } from "./router.ts";

/** A hash or address shortened in monospace, the full value in its title. */
export function Hash({ value, href }: { value: string; href?: string }) {
  const text = shortHash(value);
  return href === undefined ? (
    <span class="hash" title={value}>
      {text}
    </span>
  ) : (
    <a class="hash" href={href} title={value}>
      {text}
    </a>
  );
}

export function MaybeHash({ value }: { value: string | null }) {
  return value === null ? <span class="muted">–</span> : <Hash value={value} />;
}

export type Tone = "ok" | "bad" | "warn" | "info" | "pending" | "muted";

const TONES: Record<string, Tone> = {
  delivered: "ok",
  ready: "ok",
  reachable: "ok",
  READY: "ok",
  PENDING: "warn",
  ERROR: "bad",
  stable: "ok",
  failed: "bad",
  unreachable: "bad",
  "not ready": "bad",
  retryable: "warn",
  retried: "warn",
  rotating: "warn",
  paused: "warn",
  attested: "info",
  final: "pending",
  sent: "pending",
  seen: "pending",
  abandoned: "muted",
  dropped: "muted",
};

/** A coloured status word (delivered green, failed red, ...); `data-state` carries the raw state. */
export function Badge({ state, label, tone }: { state: string; label?: string; tone?: Tone }) {
  const shown = tone ?? TONES[state] ?? "pending";
  return (
    <span class={`badge badge-${shown}`} data-state={state}>
      {label ?? state}
    </span>
  );
}

/** A transaction: to its explorer page here when `internal` (a source transaction), and to the chain's block explorer when configured. */
export function TxRef({ chainId, hash, internal = false }: { chainId: number; hash: string; internal?: boolean }) {
  const chains = useChains();
  const external = chains.txUrl(chainId, hash);
  return (
    <span class="tx-ref">
      <Hash value={hash} href={internal ? txHash(hash) : undefined} />
      {external !== null && (
        <>
          {" "}
          <a class="external" href={external} target="_blank" rel="noopener noreferrer" title={`${hash} on the ${chains.name(chainId)} block explorer`}>
            explorer ↗
          </a>
        </>
      )}
    </span>
  );
}

/** A time as local date-time plus "12 s ago", kept moving. */
export function Time({ at }: { at: number }) {
  const now = useNow(1000);
  // A time outside what Date can show (another party's word) is shown as the number it is.
  if (!Number.isFinite(new Date(at).getTime())) return <span class="muted">at {String(at)}</span>;
  return (
    <time dateTime={new Date(at).toISOString()} title={new Date(at).toISOString()}>
      {new Date(at).toLocaleString()} <span class="muted">({relativeTime(at, now)})</span>
    </time>
  );
}

export function ErrorBox({ error, title }: { error: ApiError; title?: string }) {
  return (
    <div class="error-box" role="alert">
      {title !== undefined && <strong>{title}</strong>}
      <p>{error.message}</p>
    </div>
  );
}

/** What a page shows around its data: loading, a first-load error, or a refresh that failed while older data is shown. */
export function LoadStatus({ loading, error, hasData, readAt }: { loading: boolean; error: ApiError | null; hasData: boolean; readAt: number | null }) {
  if (error !== null && !hasData) return <ErrorBox error={error} title="Could not load this page" />;
  if (error !== null)
    return (
      <p class="stale" role="status">
        Refresh failed: {error.message}
        {readAt !== null && ` (showing what was read at ${new Date(readAt).toLocaleTimeString()})`}
      </p>
    );
  if (loading && !hasData) return <p class="loading">Loading…</p>;
  return null;
}

/** The clipboard API needs a secure context; plain http on another host falls back to a selection copy. */
function copyBySelection(text: string): boolean {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

export function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (done === "idle") return;
    const timer = setTimeout(() => setDone("idle"), 2000);
    return () => clearTimeout(timer);
  }, [done]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("copied");
    } catch {
      setDone(copyBySelection(text) ? "copied" : "failed");
    }
  };
  return (
    <button type="button" class="copy" onClick={() => void copy()} title="Copy the command">
      {done === "copied" ? "Copied" : done === "failed" ? "Copy failed" : "Copy"}
    </button>
  );
}

export function Section({ title, children, label }: { title: string; children: ComponentChildren; label?: string }) {
  return (
    <section class="card" aria-label={label ?? title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
