/**
 * The node API over libp2p, for relayers and operators on other machines: Noise
 * authenticates both ends by their Ed25519 peer ids and encrypts the stream,
 * so no token or certificate authority is needed and nothing crosses the
 * network in clear text. A node serves only the peer ids its operator
 * admitted (config `apiPeers`), each in its role: a relayer only the relayer routes (routes.ts).
 *
 * One request per stream: a length-prefixed JSON {method, path, body}, then a
 * length-prefixed JSON {status, body}.
 *
 * Why libp2p rather than HTTPS with pinned certificates: the node already
 * runs it, its identities are what operators already exchange, and a relayer
 * key is one more peer id to admit, without certificate files, expiry or a
 * CA to run.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import type { PeerId, Stream } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import * as lp from "it-length-prefixed";
import { createLibp2p, type Libp2p } from "libp2p";
import { z } from "zod";
import type { NodeIdentity } from "../identity.ts";
import type { ApiResponse } from "./routes.ts";

export const API_PROTOCOL = "/mpc-relay/api/1.0.0";
/** A request or response: signing requests and key records are small. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

const requestSchema = z.object({ method: z.enum(["GET", "POST", "DELETE"]), path: z.string().min(1).max(2_048), body: z.unknown().optional() }).strict();
const responseSchema = z.object({ status: z.number().int().min(100).max(599), body: z.unknown() }).strict();

export type P2pRequest = z.infer<typeof requestSchema>;

/** Serves one API request from a stream of an admitted peer; anything else ends the stream. */
export async function serveApiStream(stream: Stream, peerId: string, handle: (peerId: string, request: P2pRequest) => Promise<ApiResponse>): Promise<void> {
  let response: ApiResponse;
  try {
    const request = await readOne(stream, requestSchema);
    response = await handle(peerId, request);
  } catch (error) {
    response = { status: 400, body: { error: `bad API request: ${error instanceof Error ? error.message : String(error)}` } };
  }
  await stream.sink(lp.encode([new TextEncoder().encode(JSON.stringify(response))], { maxDataLength: MAX_MESSAGE_BYTES }));
}

async function readOne<T>(stream: Stream, schema: z.ZodType<T>): Promise<T> {
  for await (const chunk of lp.decode(stream.source, { maxDataLength: MAX_MESSAGE_BYTES })) {
    const parsed = schema.safeParse(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(chunk.subarray())));
    if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? "malformed");
    return parsed.data;
  }
  throw new Error("the stream ended before a message");
}

/** A node as the relayer dials it. */
export interface NodeAddress {
  readonly peerId: string;
  /** Multiaddr without /p2p (relayer/shared/addresses.ts peerAddressSchema). */
  readonly address: string;
}

export class NodeApiUnreachable extends Error {
  constructor(
    readonly node: NodeAddress,
    options: { cause: unknown },
  ) {
    super(`cannot reach node ${node.peerId} at ${node.address}: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
    this.name = "NodeApiUnreachable";
  }
}

/** The relayer's side: a dial-only libp2p host with the relayer's identity, which dials only its configured nodes. */
export class P2pApiClient {
  private constructor(
    private readonly host: Libp2p,
    private readonly allowed: Set<string>,
  ) {}

  static async start(identity: NodeIdentity, nodes: readonly NodeAddress[]): Promise<P2pApiClient> {
    const allowed = new Set(nodes.map((n) => n.peerId));
    const host = await createLibp2p({
      privateKey: identity.privateKey,
      addresses: { listen: [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: (peerId: PeerId) => !allowed.has(peerId.toString()),
        denyInboundConnection: () => true,
      },
      connectionMonitor: { enabled: false },
    });
    await host.start();
    return new P2pApiClient(host, allowed);
  }

  /** Lets this client dial one more node. */
  admit(node: NodeAddress): void {
    this.allowed.add(node.peerId);
  }

  get peerId(): string {
    return this.host.peerId.toString();
  }

  async request(node: NodeAddress, request: P2pRequest, signal: AbortSignal): Promise<ApiResponse> {
    let stream: Stream;
    try {
      stream = await this.host.dialProtocol(multiaddr(`${node.address}/p2p/${node.peerId}`), API_PROTOCOL, { signal });
    } catch (error) {
      throw new NodeApiUnreachable(node, { cause: error });
    }
    try {
      await stream.sink(lp.encode([new TextEncoder().encode(JSON.stringify(request))], { maxDataLength: MAX_MESSAGE_BYTES }));
      const onAbort = () => stream.abort(new Error("request aborted"));
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        return await readOne(stream, responseSchema);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    } catch (error) {
      throw new NodeApiUnreachable(node, { cause: signal.aborted ? (signal.reason ?? error) : error });
    } finally {
      await stream.close().catch(() => stream.abort(new Error("close failed")));
    }
  }

  async stop(): Promise<void> {
    await this.host.stop();
  }
}
