/** Hash routing: #/messages?q=&route=&state=&page=, #/message/<id>, #/tx/<hash>, #/network, #/performance?window=<ms>. */
import { useEffect, useState } from "preact/hooks";
import type { MessageQuery } from "./api.ts";

export const WINDOWS = [
  { label: "15 min", ms: 15 * 60_000 },
  { label: "1 h", ms: 60 * 60_000 },
  { label: "24 h", ms: 24 * 60 * 60_000 },
  { label: "7 days", ms: 7 * 24 * 60 * 60_000 },
] as const;

export const DEFAULT_WINDOW_MS = 60 * 60_000;

export type Route =
  | { page: "messages"; query: MessageQuery }
  | { page: "message"; id: string }
  | { page: "tx"; hash: string }
  | { page: "network" }
  | { page: "performance"; windowMs: number }
  | { page: "not-found"; path: string };

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const [pathPart = "", search = ""] = raw.split("?", 2);
  const params = new URLSearchParams(search);
  const parts = pathPart.split("/").filter((p) => p !== "");
  const [head, arg] = parts;
  if (head === undefined || head === "messages") {
    const page = Number.parseInt(params.get("page") ?? "1", 10);
    return { page: "messages", query: { q: params.get("q") ?? "", route: params.get("route") ?? "", state: params.get("state") ?? "", page: Number.isFinite(page) && page > 0 ? page : 1 } };
  }
  if (head === "message" && arg !== undefined && parts.length === 2) return { page: "message", id: decode(arg) };
  if (head === "tx" && arg !== undefined && parts.length === 2) return { page: "tx", hash: decode(arg) };
  if (head === "network" && parts.length === 1) return { page: "network" };
  if (head === "performance" && parts.length === 1) {
    const windowMs = Number.parseInt(params.get("window") ?? "", 10);
    return { page: "performance", windowMs: Number.isFinite(windowMs) && windowMs > 0 ? windowMs : DEFAULT_WINDOW_MS };
  }
  return { page: "not-found", path: raw };
}

export function messagesHash(query: MessageQuery): string {
  const params = new URLSearchParams();
  if (query.q !== "") params.set("q", query.q);
  if (query.route !== "") params.set("route", query.route);
  if (query.state !== "") params.set("state", query.state);
  if (query.page !== 1) params.set("page", String(query.page));
  const search = params.toString();
  return search === "" ? "#/messages" : `#/messages?${search}`;
}

export const messageHash = (id: string) => `#/message/${encodeURIComponent(id)}`;
export const txHash = (hash: string) => `#/tx/${encodeURIComponent(hash)}`;
export const performanceHash = (windowMs: number) => `#/performance?window=${windowMs}`;

const NAVIGATED = "explorer:navigated";

/** Goes to a hash; `replace` rewrites the current history entry (typing in the search box) instead of adding one. */
export function navigate(hash: string, replace = false): void {
  if (window.location.hash === hash) return;
  if (replace) {
    history.replaceState(history.state, "", hash);
    window.dispatchEvent(new Event(NAVIGATED));
  } else {
    window.location.hash = hash;
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener("hashchange", update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return route;
}
