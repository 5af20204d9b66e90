/**
 * Network addresses, one rule each, for every package: peer multiaddrs (what
 * a node listens on, announces, and dials), HTTP bind hosts, and RPC URLs.
 * Loopback is never required: the devnet chooses it for itself.
 */
import { isIP } from "node:net";
import { multiaddr } from "@multiformats/multiaddr";
import { z } from "zod";

/** Protocols a peer address may start with. */
const PEER_ADDRESS = /^\/(ip4|ip6|dns4|dns6|dns|dnsaddr)\//;

/**
 * A libp2p multiaddr a node listens on or a peer is dialled at: /ip4, /ip6,
 * /dns4, /dns6 or /dns with /tcp/<port>, or /dnsaddr/<name> (resolved through
 * DNS TXT records). No /p2p suffix: the peer id is configured beside it.
 */
export const peerAddressSchema = z.string().superRefine((text, ctx) => {
  if (!PEER_ADDRESS.test(text)) {
    ctx.addIssue({ code: "custom", message: `${text}: a peer address starts with /ip4, /ip6, /dns4, /dns6, /dns or /dnsaddr` });
    return;
  }
  let protos: string[];
  try {
    protos = multiaddr(text).protoNames();
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `${text}: not a multiaddr (${(error as Error).message})` });
    return;
  }
  if (protos.includes("p2p")) ctx.addIssue({ code: "custom", message: `${text}: leave out /p2p/<peer id>; the peer id is configured beside the address` });
  else if (protos[0] === "dnsaddr" ? protos.length !== 1 : protos.length !== 2 || protos[1] !== "tcp") {
    ctx.addIssue({ code: "custom", message: `${text}: expected /<ip4|ip6|dns4|dns6|dns>/<host>/tcp/<port> or /dnsaddr/<name>` });
  }
});

/** A host an HTTP server binds: an IPv4 or IPv6 address, or a name. */
export const bindHostSchema = z
  .string()
  .min(1)
  .max(253)
  .refine((host) => isIP(host) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host), "an IP address or a host name");

/** Loopback hosts: traffic to them never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** An RPC endpoint: http(s) or ws(s), any host. */
export const rpcUrlSchema = z.string().refine((text) => {
  try {
    return ["http:", "https:", "ws:", "wss:"].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}, "an http(s) or ws(s) URL");

/** Why an RPC URL deserves a warning (plain http or ws to another machine), or null. */
export function plainTextRpcWarning(url: string): string | null {
  const parsed = new URL(url);
  if ((parsed.protocol === "http:" || parsed.protocol === "ws:") && !isLoopbackHost(parsed.hostname)) {
    return `${parsed.protocol}//${parsed.host} is not encrypted: answers from it can be altered on the way (use https or wss to another machine)`;
  }
  return null;
}

/** The http URL of a server bound to `host`:`port`, as a client on the same machine reaches it (a wildcard host means this machine). */
export function localHttpUrl(host: string, port: number): string {
  const reachable = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;
}
