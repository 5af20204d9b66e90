/** The URL of an HTTP request, or null when its target is no valid URL path (e.g. "//"): one rule for every server here. */
import type { IncomingMessage } from "node:http";

export function requestUrl(req: IncomingMessage): URL | null {
  try {
    // The base only completes the path: the host a client names is never used.
    return new URL(req.url ?? "/", "http://server.invalid");
  } catch {
    return null;
  }
}
