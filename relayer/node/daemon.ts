/**
 * Assembles and runs one signer node: key store (unlocked by the passphrase),
 * libp2p transport, session manager, presignature pool and HTTP API.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import { join } from "node:path";
import { startApi } from "./api.ts";
import { relayTransactionLimits, type NodeConfig } from "./config.ts";
import { StaticPeerDirectory, type PeerDirectory } from "./directory.ts";
import { loadIdentity } from "./identity.ts";
import { KeyStore } from "./keystore.ts";
import { createLogger, type Logger } from "./log.ts";
import { NodeMetrics } from "./metrics.ts";
import { PresignPool } from "./pool.ts";
import type { ProtocolSuite, ShareFacts } from "./protocols.ts";
import { NodeService } from "./service.ts";
import { SessionManager } from "./sessions.ts";
import { Transport } from "./transport.ts";
import { registerChainValidators } from "./chain/validators.ts";
import { ValidatorRegistry } from "./validators.ts";
import { FRAME_VERSION, isStakingFrame, toHex } from "./frames.ts";
import { StakingAgent } from "../staking/agent.ts";

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
  const identity = await loadIdentity(config.identityKeyFile);
  let transportRef: Transport | null = null;
  const staking =
    config.staking === undefined
      ? null
      : await StakingAgent.create({
          config: config.staking,
          chains: config.chains,
          store,
          log,
          send: (to, body) => transportRef?.send(to, { v: FRAME_VERSION, id: toHex(randomBytes(16)), ts: Date.now(), from: config.index, sessionId: toHex(randomBytes(32)), body }),
        }).catch(async (error: unknown) => {
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
  const transport = await Transport.start({
    identity,
    directory,
    listenPort: config.listenPort,
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
  sessions = new SessionManager(
    config.index,
    store,
    p.suite,
    p.validators ?? nodeValidators(config, store, log),
    transport,
    config.timeouts,
    config.signAttempts,
    log,
    metrics,
    staking?.messageAuthenticator() ?? null,
  );
  sessions.onFault = (fault) => staking?.removeForFault(fault);
  const pool = new PresignPool(config.index, store, sessions, config.presignPoolSize, log, metrics);
  sessions.onKeyChanged = (keyId) => pool.forget(keyId);
  await pool.load();
  pool.start();

  const service = new NodeService(
    config.index,
    identity.peerId,
    store,
    sessions as unknown as SessionManager<ShareFacts, unknown>,
    pool,
    directory,
    () => transport.connectedPeers(),
    log,
    metrics,
    config.maxConcurrentSigns,
  );
  pool.busy = () => service.signingBusy;
  const server: Server = await startApi({ port: config.httpPort, token: p.apiToken, service, staking, metrics, log });
  staking?.start(() => transport.dropNonMembers(), { reshare: (keyId, parties, threshold) => sessions!.reshare(keyId, parties, threshold) });
  const address = server.address();
  const httpPort = typeof address === "object" && address !== null ? address.port : config.httpPort;
  const gauge = setInterval(() => metrics.connectedPeers.set(transport.connectedPeers()), 5_000);
  gauge.unref();
  log.info("node started", { index: config.index, peerId: identity.peerId, listenPort: config.listenPort, httpPort });

  return {
    service,
    httpPort,
    peerId: identity.peerId,
    async stop() {
      clearInterval(gauge);
      await staking?.stop();
      pool.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await transport.stop();
      await store.close();
      log.info("node stopped");
    },
  };
}

/** The validators a node runs, all backed by its configured chains (none without). */
function nodeValidators(config: NodeConfig, store: KeyStore, log: Logger): ValidatorRegistry {
  const readyAddresses = async (): Promise<string[]> =>
    (await store.listKeys()).flatMap((key) => (key.status === "READY" && key.address !== null ? [key.address] : []));
  return registerChainValidators(new ValidatorRegistry(), {
    chains: config.chains,
    relayTransactions: relayTransactionLimits(config.policy),
    feeBudgetPath: join(config.dataDir, "relay-fee-budget.json"),
    allowedRelays: config.allowedRelays,
    readyAddresses,
    log,
  });
}
