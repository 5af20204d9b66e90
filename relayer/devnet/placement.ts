/**
 * Where each devnet process runs, at which address the others reach it, and
 * how its command is started there. The devnet's own choice is `loopback`:
 * every process on this machine at 127.0.0.1 with free ports. A test that
 * builds separate hosts (network namespaces, test/multihost) passes its own
 * placement; the devnet itself never assumes loopback beyond this file.
 */
import { assertPortFree, freePort } from "../shared/ports.ts";

export type Site = { kind: "chain"; name: string } | { kind: "node"; index: number } | { kind: "relayer" };

export interface Placement {
  /** The IP address a process at `site` binds and the others dial. */
  host(site: Site): string;
  /** A port for a server at `site`; `preferred` when the caller names one (a chain's configured RPC port). */
  port(site: Site, purpose: string, preferred?: number): Promise<number>;
  /** The command line that runs `command args` at `site`. */
  command(site: Site, command: string, args: readonly string[]): { command: string; args: string[] };
}

export const loopback: Placement = {
  host: () => "127.0.0.1",
  async port(_site, purpose, preferred) {
    if (preferred === undefined) return freePort();
    await assertPortFree(preferred, purpose);
    return preferred;
  },
  command: (_site, command, args) => ({ command, args: [...args] }),
};

/** A URL host part: IPv6 addresses go in brackets. */
export function urlHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** The libp2p multiaddr of a TCP address. */
export function tcpMultiaddr(address: string, port: number): string {
  return `/${address.includes(":") ? "ip6" : "ip4"}/${address}/tcp/${port}`;
}
