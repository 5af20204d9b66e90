/**
 * Free TCP ports on 127.0.0.1 for servers the devnet, tests and benches start
 * a moment later, and a clear error for a port that is taken.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Fails with a clear message when something already listens on 127.0.0.1:port. */
export async function assertPortFree(port: number, purpose: string): Promise<void> {
  await new Promise<void>((resolveFree, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") reject(new Error(`port ${port} on 127.0.0.1 (${purpose}) is already in use: stop what runs there or choose another port`));
      else reject(new Error(`cannot use port ${port} on 127.0.0.1 (${purpose}): ${error.message}`));
    });
    server.listen(port, "127.0.0.1", () => server.close(() => resolveFree()));
  });
}

/** Lowest port of the kernel's range for outgoing connections (Linux; 32768 elsewhere). */
function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 20_000) return first;
  } catch {
    // Not Linux: fall through to the common default.
  }
  return 32_768;
}

const PORT_RANGE_START = 20_000;
const handedOut = new Set<number>();

async function canListen(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once("error", () => resolveFree(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolveFree(true)));
  });
}

/**
 * An unused TCP port on 127.0.0.1 for a server that starts a moment later. It is
 * drawn below the ephemeral range: a port the OS picks (listen on 0) can be taken
 * by any outgoing connection before the server binds it, which on a busy machine
 * happens. Ports are not handed out twice by this process.
 */
export async function freePort(): Promise<number> {
  const end = ephemeralRangeStart();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_RANGE_START + Math.floor(Math.random() * (end - PORT_RANGE_START));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found on 127.0.0.1 between ${PORT_RANGE_START} and ${end}`);
}
