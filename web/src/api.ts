/** The explorer server's JSON API (same origin), with every failure turned into an ApiError carrying words to show. */
import type { ExplorerConfig, MessageDetail, MessagePage, NetworkView, PerformanceView, TransactionMessages } from "../../relayer/explorer/api-types.ts";

/** A request that did not give the expected JSON: `status` is the HTTP status, or 0 when the server could not be reached. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** Any thrown value as an ApiError (so a page always has words to show, never a stack trace). */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof Error) return new ApiError(0, error.message);
  return new ApiError(0, String(error));
}

function serverError(body: unknown): string | null {
  if (typeof body === "object" && body !== null && "error" in body && typeof body.error === "string" && body.error !== "") return body.error;
  return null;
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { signal, headers: { accept: "application/json" } });
  } catch (error) {
    if (signal?.aborted === true) throw error;
    throw new ApiError(0, `The explorer server could not be reached (${error instanceof Error ? error.message : String(error)}).`);
  }
  let body: unknown = null;
  const text = await response.text();
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!response.ok) {
    const why = serverError(body) ?? (text.trim() !== "" && body === null ? text.trim().slice(0, 300) : response.statusText);
    throw new ApiError(response.status, `${why || "request failed"} (HTTP ${response.status})`);
  }
  if (body === null) throw new ApiError(response.status, `The server's answer to ${path} was not JSON.`);
  return body as T;
}

export interface MessageQuery {
  q: string;
  route: string;
  state: string;
  page: number;
}

export const PAGE_SIZE = 25;

export const api = {
  config: (signal?: AbortSignal) => getJson<ExplorerConfig>("api/config", signal),
  messages: (query: MessageQuery, signal?: AbortSignal) => {
    const params = new URLSearchParams();
    if (query.q !== "") params.set("q", query.q);
    if (query.route !== "") params.set("route", query.route);
    if (query.state !== "") params.set("state", query.state);
    params.set("page", String(query.page));
    params.set("pageSize", String(PAGE_SIZE));
    return getJson<MessagePage>(`api/messages?${params.toString()}`, signal);
  },
  message: (id: string, signal?: AbortSignal) => getJson<MessageDetail>(`api/messages/${encodeURIComponent(id)}`, signal),
  transaction: (hash: string, signal?: AbortSignal) => getJson<TransactionMessages>(`api/tx/${encodeURIComponent(hash)}`, signal),
  network: (signal?: AbortSignal) => getJson<NetworkView>("api/network", signal),
  performance: (windowMs: number, signal?: AbortSignal) => getJson<PerformanceView>(`api/performance?window=${windowMs}`, signal),
};
