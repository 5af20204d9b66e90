/**
 * How a client reaches one node's API: over libp2p with its own peer id
 * (p2p.ts; any host, authenticated and encrypted both ways), or over HTTP(S)
 * with the operator's bearer token (loopback, or HTTPS elsewhere: the token
 * never crosses a network in clear text). Errors name the node and the cause.
 */
import { ApiUnreachableError, fetchApi, fetchFailureReason } from "@mpc-relay/sdk";
import type { NodeAddress, P2pApiClient, P2pRequest } from "./p2p.ts";
import type { ApiResponse } from "./routes.ts";

export interface ApiChannel {
  /** How the node is named in errors and logs. */
  readonly name: string;
  request(method: P2pRequest["method"], path: string, body: unknown, signal: AbortSignal): Promise<ApiResponse>;
}

export function httpChannel(apiUrl: string, token: string): ApiChannel {
  const base = apiUrl.replace(/\/$/, "");
  return {
    name: base,
    async request(method, path, body, signal) {
      const response = await fetchApi("node API", base, path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      const text = await response.text();
      try {
        return { status: response.status, body: JSON.parse(text) as unknown };
      } catch {
        return { status: response.status, body: { error: `non-JSON response (${response.status}): ${text.slice(0, 200)}` } };
      }
    },
  };
}

export function p2pChannel(client: P2pApiClient, node: NodeAddress): ApiChannel {
  const name = `${node.address}/p2p/${node.peerId}`;
  return {
    name,
    async request(method, path, body, signal) {
      try {
        return await client.request(node, { method, path, ...(body === undefined ? {} : { body }) }, signal);
      } catch (error) {
        const cause = (error as Error).cause ?? error;
        throw new ApiUnreachableError("node API", name, fetchFailureReason(cause), { cause });
      }
    },
  };
}
