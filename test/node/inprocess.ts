/**
 * Signer nodes in one process, for attack tests: each party has the real key
 * store, session manager, commit tracker, operator approvals, Ed25519
 * identity and operator-signed protocol messages; only libp2p is replaced by
 * an in-memory wire that still encodes and decodes every frame (the frame
 * checks run) and lets a test act as the network or as a malicious member:
 * intercept a party's outgoing frames (withhold, duplicate, reorder, alter),
 * inject frames authenticated as a member, cut a party off.
 *
 * Signing requests are message attestations checked by the real validator
 * against each party's own view of "the chain" (an in-memory list of sent
 * messages), so a test can give one node a different view.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { PartyIndex, ProtocolMessage } from "@mpc-relay/mpc";
import { StaticPeerDirectory } from "../../relayer/node/directory.ts";
import { decodeFrame, encodeFrame, FRAME_VERSION, toHex as bytesToHex, type Frame, type FrameBody } from "../../relayer/node/frames.ts";
import { createIdentity, identityStatements, type NodeIdentity } from "../../relayer/node/identity.ts";
import { KeyStore } from "../../relayer/node/keystore.ts";
import { createLogger } from "../../relayer/shared/log.ts";
import { NodeMetrics } from "../../relayer/node/metrics.ts";
import { mpcSuite } from "../../relayer/node/mpc-suite.ts";
import type { ProtocolSuite, ShareFacts } from "../../relayer/node/protocols.ts";
import { OperatorApprovals, type KeyAuthority } from "../../relayer/node/session/authority.ts";
import { CommitTracker } from "../../relayer/node/session/commit.ts";
import type { RefreshSchedule } from "../../relayer/node/session/schedule.ts";
import type { ApprovableOperation } from "../../relayer/node/session/ids.ts";
import { SessionManager, type MessageAuthenticator, type ProvenFault } from "../../relayer/node/session/index.ts";
import { messageAttestationValidator, ValidatorRegistry, type SourceChainView } from "../../relayer/node/validators.ts";
import { messageId, type Message } from "@mpc-relay/sdk";
import { MessageSigner, stakingDomainSeparator } from "../../relayer/staking/message-signer.ts";

export const SRC_CHAIN = 31337;
export const DST_CHAIN = 31338;
export const TARGET = getAddress("0x00000000000000000000000000000000000000a1");
const SOURCE = getAddress("0x00000000000000000000000000000000000000b2");
const separator = stakingDomainSeparator(SRC_CHAIN, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const operatorKey = (party: PartyIndex): Hex => keccak256(toHex(`in-process operator ${party}`));
export const operatorOf = (party: PartyIndex): Address => privateKeyToAccount(operatorKey(party)).address;

/** What a party's "chain" says was sent; messages are found by id. */
export class FakeChain implements SourceChainView {
  readonly sent = new Map<Hex, Message>();
  finalizedMessage(srcChainId: number, id: Hex): Promise<Message | null> {
    return Promise.resolve(srcChainId === SRC_CHAIN ? (this.sent.get(id.toLowerCase() as Hex) ?? null) : null);
  }
  targetGateway(chainId: number): Address | null {
    return chainId === DST_CHAIN ? TARGET : null;
  }
}

let nonce = 0n;
/** A message "sent" on every given chain; returns the signing request that attests it. */
export function sendMessage(chains: readonly FakeChain[]): Record<string, unknown> {
  const message: Message = {
    nonce: nonce++,
    srcChainId: BigInt(SRC_CHAIN),
    srcGateway: SOURCE,
    sender: SOURCE,
    dstChainId: BigInt(DST_CHAIN),
    receiver: SOURCE,
    gasLimit: 100_000n,
    payload: toHex(randomBytes(8)),
  };
  const id = messageId(message);
  for (const chain of chains) chain.sent.set(id.toLowerCase() as Hex, message);
  return { type: "messageAttestation", srcChainId: SRC_CHAIN, messageId: id, dstChainId: DST_CHAIN, targetGateway: TARGET };
}

export interface SignedByParty {
  readonly message: ProtocolMessage;
  readonly signature: string;
}

export interface InProcessNode {
  readonly party: PartyIndex;
  readonly dir: string;
  readonly store: KeyStore;
  readonly identity: NodeIdentity;
  readonly manager: SessionManager;
  readonly commits: CommitTracker;
  readonly approvals: OperatorApprovals;
  readonly chain: FakeChain;
  readonly metrics: NodeMetrics;
  /** Every protocol message this party signed (what could ever be used against it). */
  readonly signed: SignedByParty[];
}

export type Interceptor = (to: PartyIndex, frame: Frame) => Frame[];

export interface NetworkOptions {
  parties: PartyIndex[];
  /** Per party: the protocol suite (a dishonest party may corrupt its protocol instances). */
  suite?: (party: PartyIndex) => ProtocolSuite<ShareFacts, unknown>;
  /** Per party: its key authority (default: its operator's approvals). */
  authority?: (party: PartyIndex, approvals: OperatorApprovals) => KeyAuthority;
  limits?: { minRefreshIntervalMs?: number; maxPresignaturesPerOwner?: number };
  timeouts?: { prepareMs?: number; roundMs?: number; keygenRoundMs?: number };
  commitSweepMs?: number;
  /** The members' refresh schedule (default: none, so no scheduled refresh is accepted). */
  schedule?: RefreshSchedule;
  /** Per party: where its proposal ids come from (a dishonest coordinator may reuse one). */
  proposalIds?: (party: PartyIndex) => (() => string) | undefined;
}

export class InProcessNetwork {
  readonly nodes = new Map<PartyIndex, InProcessNode>();
  readonly faults: ProvenFault[] = [];
  private readonly interceptors = new Map<PartyIndex, Interceptor>();
  private readonly inbound = new Map<PartyIndex, (from: PartyIndex, frame: Frame) => Frame>();
  /** The product's timers are unref'd (a node's servers keep it alive); in a test this does. */
  private readonly keepAlive = setInterval(() => {}, 1_000);
  private readonly cut = new Set<PartyIndex>();
  private readonly delivered: { from: PartyIndex; to: PartyIndex; frame: Frame }[] = [];

  private constructor() {}

  static async create(options: NetworkOptions): Promise<InProcessNetwork> {
    const net = new InProcessNetwork();
    const identities = new Map<PartyIndex, NodeIdentity>();
    for (const party of options.parties) identities.set(party, await createIdentity());
    const directory = new StaticPeerDirectory(options.parties.map((index) => ({ index, peerId: identities.get(index)!.peerId, address: "" })));
    for (const party of options.parties) {
      const dir = await mkdtemp(join(tmpdir(), `inprocess-${party}-`));
      const store = await KeyStore.open(join(dir, "keystore"), "an in-process test passphrase", { N: 2 ** 10, r: 8, p: 1 });
      const identity = identities.get(party)!;
      const signer = new MessageSigner(operatorKey(party), separator);
      const signed: SignedByParty[] = [];
      const auth: MessageAuthenticator = {
        sign: (message) => {
          const signature = signer.sign(message);
          signed.push({ message, signature });
          return signature;
        },
        verify: (message, signature) => signer.verify(message, signature as Hex, operatorOf(message.from)),
      };
      const log = createLogger({ node: party }, process.env.INPROCESS_LOG === undefined ? "error" : "debug", process.env.INPROCESS_LOG === undefined ? () => {} : undefined);
      const approvals = new OperatorApprovals(store);
      const authority = options.authority?.(party, approvals) ?? approvals;
      const send = (to: PartyIndex, body: FrameBody) =>
        net.send(party, to, { v: FRAME_VERSION, id: bytesToHex(randomBytes(16)), ts: Date.now(), from: party, sessionId: bytesToHex(randomBytes(32)), body });
      const commits = new CommitTracker(party, store, identityStatements(identity, directory), send, authority, log, options.commitSweepMs ?? 200);
      const chain = new FakeChain();
      const validators = new ValidatorRegistry();
      validators.register(messageAttestationValidator(chain));
      const metrics = new NodeMetrics();
      const manager = new SessionManager(
        {
          self: party,
          store,
          suite: options.suite?.(party) ?? (mpcSuite as unknown as ProtocolSuite<ShareFacts, unknown>),
          validators,
          authority,
          commits,
          timeouts: { prepareMs: 1_500, roundMs: 3_000, keygenRoundMs: 5_000, ...options.timeouts },
          limits: { minRefreshIntervalMs: 0, maxPresignaturesPerOwner: 256, ...options.limits },
          schedule: options.schedule ?? null,
          log,
          metrics,
        },
        { send: (to, frame) => net.send(party, to, frame) },
        auth,
        3,
        options.proposalIds?.(party),
      );
      manager.onFault = (fault) => net.faults.push(fault);
      commits.start();
      net.nodes.set(party, { party, dir, store, identity, manager, commits, approvals, chain, metrics, signed });
    }
    return net;
  }

  node(party: PartyIndex): InProcessNode {
    const node = this.nodes.get(party);
    if (node === undefined) throw new Error(`no party ${party}`);
    return node;
  }

  manager(party: PartyIndex): SessionManager {
    return this.node(party).manager;
  }

  chains(parties: readonly PartyIndex[] = [...this.nodes.keys()]): FakeChain[] {
    return parties.map((p) => this.node(p).chain);
  }

  /** Every listed party's operator approves `op` (honest operators agreeing out of band). */
  async approve(op: ApprovableOperation, parties: readonly PartyIndex[] = [...this.nodes.keys()]): Promise<void> {
    for (const party of parties) await this.node(party).approvals.approve(op);
  }

  /** `from`'s outgoing frames pass through `interceptor` (which returns what is really sent). */
  intercept(from: PartyIndex, interceptor: Interceptor | null): void {
    if (interceptor === null) this.interceptors.delete(from);
    else this.interceptors.set(from, interceptor);
  }

  /** Frames reaching `to` pass through `rewrite` first (a malicious member's own receiving side). */
  interceptInbound(to: PartyIndex, rewrite: ((from: PartyIndex, frame: Frame) => Frame) | null): void {
    if (rewrite === null) this.inbound.delete(to);
    else this.inbound.set(to, rewrite);
  }

  /** Nothing reaches or leaves `party` until reconnected. */
  isolate(party: PartyIndex): void {
    this.cut.add(party);
  }

  reconnect(party: PartyIndex): void {
    this.cut.delete(party);
  }

  /** A frame from member `from` (as its authenticated connection would carry it), bypassing its session layer. */
  inject(from: PartyIndex, to: PartyIndex, body: FrameBody, sessionId: string = bytesToHex(randomBytes(32))): void {
    this.deliver(from, to, { v: FRAME_VERSION, id: bytesToHex(randomBytes(16)), ts: Date.now(), from, sessionId, body });
  }

  /** Frames `from` sent (after interception) and that reached `to`, in order. */
  frames(filter: (entry: { from: PartyIndex; to: PartyIndex; frame: Frame }) => boolean): Frame[] {
    return this.delivered.filter(filter).map((entry) => entry.frame);
  }

  async destroy(): Promise<void> {
    clearInterval(this.keepAlive);
    for (const node of this.nodes.values()) node.commits.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const node of this.nodes.values()) {
      await node.store.close();
      await rm(node.dir, { recursive: true, force: true });
    }
  }

  private send(from: PartyIndex, to: PartyIndex, frame: Frame): void {
    const interceptor = this.interceptors.get(from);
    for (const out of interceptor === undefined ? [frame] : interceptor(to, frame)) this.deliver(from, to, out);
  }

  private deliver(from: PartyIndex, to: PartyIndex, frame: Frame): void {
    if (this.cut.has(from) || this.cut.has(to)) return;
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(frame);
    } catch {
      return;
    }
    setImmediate(() => {
      if (this.cut.has(from) || this.cut.has(to)) return;
      const target = this.nodes.get(to);
      if (target === undefined) return;
      let decoded: Frame;
      try {
        decoded = decodeFrame(bytes);
      } catch {
        target.metrics.framesDropped.inc({ reason: "schema" });
        return;
      }
      // The transport's checks: the claimed sender is the authenticated peer.
      if (decoded.from !== from) return;
      this.delivered.push({ from, to, frame: decoded });
      const rewrite = this.inbound.get(to);
      target.manager.handleFrame(from, rewrite === undefined ? decoded : rewrite(from, decoded));
    });
  }
}

/** Retries an assertion until it holds or `ms` passed. */
export async function eventually(check: () => Promise<void> | void, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** The committee of the attack tests: members 1-4 honest, member 5 the attacker's. */
export const ALL = [1, 2, 3, 4, 5];
export const HONEST = [1, 2, 3, 4];
export const ATTACKER = 5;

/**
 * Networks whose members generated the key "relay" (3-of-5) before the attack starts; `destroy` (in an
 * afterEach) ends the one made last.
 */
export function keyedNetworks(): {
  withKey(options?: NetworkOptions): Promise<{ net: InProcessNetwork; publicKey: string; address: string }>;
  destroy(): Promise<void>;
} {
  let current: InProcessNetwork | null = null;
  return {
    async withKey(options = { parties: ALL }) {
      const net = await InProcessNetwork.create(options);
      current = net;
      await net.approve({ operation: "keygen", keyId: "relay", parties: ALL, threshold: 3 });
      const key = await net.manager(1).keygen("relay", ALL, 3);
      // The coordinator returns once its own part is done; the attack starts when every member is done too.
      await eventually(async () => {
        for (const party of ALL) {
          assert.equal(net.manager(party).activeSessions(), 0, `member ${party} still runs the keyGen`);
          assert.equal((await net.node(party).store.getKey("relay"))?.status, "READY", `member ${party} has not committed the key`);
        }
      }, 30_000);
      return { net, publicKey: key.publicKey!, address: key.address! };
    },
    async destroy() {
      await current?.destroy();
      current = null;
    },
  };
}
