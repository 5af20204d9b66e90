/**
 * Errors of HTTP clients that name what failed: the API, its URL and the
 * cause in words (a refused connection, an unknown host, a TLS failure), not
 * undici's "fetch failed". Shared by the node API client, the relayer's status
 * client and the CLI.
 */

/** An HTTP API answered, with an error status. `message` is the server's own reason. */
export class ApiError extends Error {
  constructor(
    /** Which API, e.g. "node API". */
    readonly api: string,
    /** The request's URL. */
    readonly url: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** An HTTP API could not be asked at all: nothing listening, unknown host, timeout, TLS. */
export class ApiUnreachableError extends Error {
  constructor(
    readonly api: string,
    readonly baseUrl: string,
    readonly reason: string,
    options: { cause: unknown },
  ) {
    super(`cannot reach ${api} ${baseUrl}: ${reason}`, options);
    this.name = "ApiUnreachableError";
  }
}

/** Network error codes (Node's and undici's) in words. */
const FAILURE_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  UND_ERR_SOCKET: "connection closed by the server",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed (temporary)",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_HEADERS_TIMEOUT: "no answer in time",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EADDRNOTAVAIL: "address not available",
};

/** The first error code in a fetch failure's cause chain (an AggregateError holds one per address tried). */
function errorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 4) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code !== "") return code;
  if (error instanceof AggregateError) return errorCode(error.errors[0], depth + 1);
  return errorCode((error as { cause?: unknown }).cause, depth + 1);
}

/** Why a fetch threw, in words: the network cause, not undici's "fetch failed". */
export function fetchFailureReason(error: unknown): string {
  const code = errorCode(error);
  if (code !== undefined && code in FAILURE_REASONS) return FAILURE_REASONS[code]!;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (code !== undefined && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS: ${message}`;
  return code === undefined ? message : `${message} (${code})`;
}

/** fetch, with a failure to connect turned into an ApiUnreachableError naming the API and its URL. */
export async function fetchApi(api: string, baseUrl: string, path: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(baseUrl + path, init);
  } catch (error) {
    throw new ApiUnreachableError(api, baseUrl, fetchFailureReason(error), { cause: error });
  }
}
