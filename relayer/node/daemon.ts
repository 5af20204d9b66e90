/**
 * Assembles and runs one signer node: key store (unlocked by the passphrase),
 * libp2p transport, session manager, presignature pool and HTTP API.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import { join } from "node:path";
import { startHttpApi } from "./api/http.ts";
import { route } from "./api/routes.ts";
import { readiness } from "./readiness.ts";
import { plainTextRpcWarning } from "../shared/addresses.ts";
import { relayTransactionLimits, type NodeConfig } from "./config.ts";
import { StaticPeerDirectory, type PeerDirectory } from "./directory.ts";
import { identityStatements, loadIdentity } from "./identity.ts";
import { KeyStore, sharings } from "./keystore.ts";
import { createLogger, type Logger } from "../shared/log.ts";
import { NodeMetrics } from "./metrics.ts";
import { PresignPool } from "./pool.ts";
import type { ProtocolSuite, ShareFacts } from "./protocols.ts";
import { NodeService } from "./service.ts";
import { RecoveryDriver } from "./recovery-driver.ts";
import { RefreshScheduler } from "./refresh-scheduler.ts";
import { SessionManager } from "./session/index.ts";
import { OperatorApprovals } from "./session/authority.ts";
import { CommitTracker } from "./session/commit.ts";
import { Transport } from "./transport.ts";
import { registerChainValidators } from "./chain/validators.ts";
import { chainsReadiness } from "./chain/health.ts";
import { ValidatorRegistry } from "./validators.ts";
import { FRAME_VERSION, isStakingFrame, toHex, type FrameBody } from "./frames.ts";
import type { NodePlugin, PluginFactory } from "./plugin.ts";

export interface RunningNode {
  readonly service: NodeService;
  readonly httpPort: number;
  readonly peerId: string;
  stop(): Promise<void>;
}

export async function startNode<Share extends ShareFacts, Presignature>(p: {
  config: NodeConfig;
  passphrase: string;
  apiToken: string;
  suite: ProtocolSuite<Share, Presignature>;
  directory?: PeerDirectory;
  validators?: ValidatorRegistry;
  /** The extension a `staking` config section needs (relayer/staking/plugin.ts). */
  plugin?: PluginFactory;
  log?: Logger;
}): Promise<RunningNode> {
  const { config } = p;
  const log = p.log ?? createLogger({ node: config.index }, config.logLevel);
  if (p.apiToken.length < 16) throw new Error("the API token must have at least 16 characters");
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await KeyStore.open(join(config.dataDir, "keystore"), p.passphrase, { N: 2 ** config.kdfLog2N, r: 8, p: 1 });
  const interrupted = await store.failInterruptedKeys();
  if (interrupted.length > 0) log.warn("keys interrupted by a restart marked ERROR", { keys: interrupted });
  const keys = await store.listKeys();
  log.info("key store unlocked", { keys: keys.length, ready: keys.filter((k) => k.status === "READY").length });

  const metrics = new NodeMetrics();
  metrics.watchSharings(async () => sharings(await store.listKeys()));
  const identity = await loadIdentity(config.identityKeyFile);
  let transportRef: Transport | null = null;
  if (config.staking !== undefined && p.plugin === undefined) {
    await store.close();
    throw new Error("this node's config has a staking section, but no staking extension was given to start it with");
  }
  const staking: NodePlugin | null =
    config.staking === undefined || p.plugin === undefined
      ? null
      : await p.plugin({ config: config.staking, chains: config.chains, store, log, send: (to, body) => frameTo(to, body) }).catch(async (error: unknown) => {
          await store.close();
          throw error;
        });
  const directory = p.directory ?? staking?.directory ?? new StaticPeerDirectory(config.peers);
  const own = directory.byIndex(config.index);
  if (own === undefined || own.peerId !== identity.peerId) {
    await store.close();
    throw new Error(`identity ${identity.peerId} is not party ${config.index} in the peer directory`);
  }

  let sessions: SessionManager<Share, Presignature> | null = null;
  const frameTo = (to: number, body: FrameBody): void =>
    transportRef?.send(to, { v: FRAME_VERSION, id: toHex(randomBytes(16)), ts: Date.now(), from: config.index, sessionId: toHex(randomBytes(32)), body });
  let apiContext: Parameters<typeof route>[1] | null = null;
  const apiRoles = new Map(config.apiPeers.map((peer) => [peer.peerId, peer.role]));
  const apiPeers = new Set(apiRoles.keys());
  const transport = await Transport.start({
    identity,
    directory,
    listen: config.listen,
    announce: config.announce,
    api: {
      peers: apiPeers,
      handle: async (peerId, request) =>
        apiContext === null ? { status: 503, body: { error: "the node is starting" } } : route({ ...request, body: request.body, principal: { kind: apiRoles.get(peerId)!, peerId } }, apiContext),
    },
    log,
    events: {
      onFrame: (from, frame) => {
        metrics.framesReceived.inc();
        if (isStakingFrame(frame.body)) staking?.handle(from, frame.body);
        else sessions?.handleFrame(from, frame);
      },
      onDrop: (reason, peerId) => {
        metrics.framesDropped.inc({ reason });
        log.warn("frame dropped", { reason, peerId });
      },
      onUndelivered: (_to, frames) => metrics.framesUndelivered.inc(frames),
    },
  });
  transportRef = transport;
  const approvals = new OperatorApprovals(store);
  const authority = staking?.keyAuthority(approvals) ?? approvals;
  const commits = new CommitTracker(config.index, store, identityStatements(identity, directory), frameTo, authority, log.child({ component: "commit" }));
  sessions = new SessionManager(
    {
      self: config.index,
      store,
      suite: p.suite,
      validators: p.validators ?? nodeValidators(config, store, log),
      authority,
      commits,
      timeouts: config.timeouts,
      limits: config.limits,
      schedule: config.refreshSchedule,
      log,
      metrics,
    },
    transport,
    staking?.messageAuthenticator() ?? null,
    config.signAttempts,
  );
  sessions.onFault = (fault) => staking?.onFault(fault);
  const pool = new PresignPool(config.index, store, sessions, config.presignPoolSize, log, metrics);
  commits.onChange = (keyId) => {
    pool.forget(keyId);
    sessions?.generationsChanged(keyId);
  };
  await pool.load();
  pool.start();
  commits.start();
  const recovery = new RecoveryDriver((certificate, avoid) => sessions!.recover(certificate, avoid), log.child({ component: "recovery" }));
  commits.onAwaiting = (certificate) => recovery.offer(certificate);
  recovery.start();
  const scheduler = new RefreshScheduler(
    config.index,
    store,
    config.refreshSchedule,
    (keyId, slot) => sessions!.refresh(keyId, slot),
    (keyId) => sessions!.dealing(keyId),
    metrics,
    log.child({ component: "schedule" }),
  );
  scheduler.start();
  const housekeeping = setInterval(() => void prune(store, log), HOUSEKEEPING_MS);
  housekeeping.unref();

  const service = new NodeService(
    config.index,
    identity.peerId,
    store,
    sessions as unknown as SessionManager,
    authority,
    pool,
    directory,
    () => transport.connectedPeers(),
    log,
    metrics,
    config.maxConcurrentSigns,
  );
  pool.busy = () => service.signingBusy;
  apiContext = { service, plugin: staking };
  const chainsCheck = chainsReadiness(config.chains);
  const server: Server = await startHttpApi({
    host: config.httpHost,
    port: config.httpPort,
    token: p.apiToken,
    tls: config.httpTls,
    context: apiContext,
    identity: { index: config.index, peerId: identity.peerId },
    readiness: () =>
      readiness({
        self: config.index,
        keys: () => store.listKeys(),
        connectedMembers: () => transport.connectedMembers(),
        chains: chainsCheck,
        ...(staking === null ? {} : { staking: () => staking.readiness() }),
      }),
    metrics,
    log,
  });
  for (const url of [config.staking?.rpcUrl, ...config.chains.flatMap((c) => c.rpcUrls)]) {
    const warning = url === undefined ? null : plainTextRpcWarning(url);
    if (warning !== null) log.warn("RPC endpoint without encryption", { warning });
  }
  staking?.start({ dropNonMembers: () => transport.dropNonMembers(apiPeers), reshare: (keyId, parties, threshold) => sessions!.reshare(keyId, parties, threshold) });
  const address = server.address();
  const httpPort = typeof address === "object" && address !== null ? address.port : config.httpPort;
  const gauge = setInterval(() => metrics.connectedPeers.set(transport.connectedPeers()), 5_000);
  gauge.unref();
  log.info("node started", {
    index: config.index,
    peerId: identity.peerId,
    listen: transport.listenAddresses(),
    httpHost: config.httpHost,
    httpPort,
    apiPeers: config.apiPeers.map((p) => `${p.role} ${p.peerId}`),
  });

  return {
    service,
    httpPort,
    peerId: identity.peerId,
    async stop() {
      log.info("stopping: finishing the signing requests under way");
      scheduler.stop();
      recovery.stop();
      const left = await service.drain(STOP_GRACE_MS);
      if (left.inFlight > 0 || left.sessions > 0) log.warn("stopping with work still under way", left);
      clearInterval(gauge);
      clearInterval(housekeeping);
      await staking?.stop();
      commits.stop();
      pool.stop();
      // Work under way was drained above: a connection a client still holds open after a moment is cut.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const cut = setTimeout(() => server.closeAllConnections(), 2_000);
      await closed;
      clearTimeout(cut);
      log.debug("stopping: HTTP API closed");
      await transport.stop();
      log.debug("stopping: transport closed");
      await store.close();
      log.info("node stopped");
    },
  };
}

const HOUSEKEEPING_MS = 60 * 60 * 1000;
/** How long a graceful stop waits for signing requests and sessions under way. */
const STOP_GRACE_MS = 30_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Bounds what the store keeps: used session ids for a week, absences for a month, expired approvals not at all. */
async function prune(store: KeyStore, log: Logger): Promise<void> {
  try {
    const now = Date.now();
    const removed = { sessionIds: await store.pruneSessionIds(now - 7 * DAY_MS), absences: await store.pruneAbsences(now - 30 * DAY_MS), approvals: await store.pruneApprovals(now) };
    for (const key of await store.listKeys()) await store.deleteConsumedPresigns(key.keyId);
    log.debug("store pruned", removed);
  } catch (error) {
    log.warn("store pruning failed", { error: String(error) });
  }
}

/** The validators a node runs, all backed by its configured chains (none without). */
function nodeValidators(config: NodeConfig, store: KeyStore, log: Logger): ValidatorRegistry {
  const readyAddresses = async (): Promise<string[]> => (await store.listKeys()).flatMap((key) => (key.status === "READY" && key.address !== null ? [key.address] : []));
  return registerChainValidators(new ValidatorRegistry(), {
    chains: config.chains,
    relayTransactions: relayTransactionLimits(config.policy),
    feeBudgetPath: join(config.dataDir, "relay-fee-budget.json"),
    rotations: store,
    allowedRelays: config.allowedRelays,
    readyAddresses,
    log,
  });
}
