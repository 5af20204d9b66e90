/**
 * A signer node's staking duties, run in the daemon when its config has a
 * `staking` section:
 * - the committee (PeerDirectory) follows RelayStaking's latest epoch and its removals;
 * - once this node holds the READY key `epoch-<n>` of the pending epoch n (or
 *   the key named by `staking.keyId`), it submits that key as the epoch's
 *   cluster key from its operator account;
 * - when its own records show a member absent at least `minAbsences` times,
 *   spread over the minimum window, since that member's last slashed window,
 *   it proposes the absence slash, gathers the other members' signatures over
 *   the transport and submits it (AbsenceSlasher.slashDue, with backoff);
 * - it signs its protocol messages with the operator key and checks the
 *   members' (messageAuthenticator); a peer's fault proven by its own signed
 *   messages becomes a removal (RemovalProposer); it disputes a removal
 *   proposed against itself and executes others' undisputed ones when due;
 * - it watches the TargetGateway of every chain in its `chains` config and
 *   proves forgeries of messages from the staking chain (ForgeryWatcher).
 */
import { createPublicClient, createWalletClient, getAddress, http, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { backoffMs, type BackoffLimits } from "../shared/backoff.ts";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { PartyIndex } from "@mpc-relay/mpc";
import type { Logger } from "../shared/log.ts";
import {
  sameMembers,
  type KeyAuthority,
  type KeyRecord,
  type KeyStore,
  type MessageAuthenticator,
  type NodeChainConfig,
  type OperatorApprovals,
  type ProvenFault,
  type StakingConfig,
  type StakingFrameBody,
} from "../node/plugin.ts";
import { epochKeyId, StakingKeyAuthority } from "./authority.ts";
import { AbsenceSlasher } from "./absence.ts";
import { ChainClock } from "./chain-clock.ts";
import { activeMember, activeMembers, StakingPeerDirectory, type CommitteeView } from "./directory.ts";
import { MessageSigner, stakingDomainSeparator } from "./message-signer.ts";
import { clusterKeyStatus, loadOperatorKey, submitClusterKey } from "./operator.ts";
import { RemovalProposer } from "./removal.ts";
import { ProposalRefused, VoteCollector } from "./votes.ts";
import { ForgeryWatcher } from "./watcher.ts";

/** The key id a committee generates for epoch n, and submits as its cluster key. */
const WATCH_INTERVAL_MS = 2_000;
/** A failed hand-over is retried after 2 s, doubling up to a minute (new members may still be starting). */
const HAND_OVER_RETRY: BackoffLimits = { firstMs: 2_000, maxMs: 60_000 };

/** What the agent needs from the node's session manager. */
export interface KeyOperations {
  reshare(keyId: string, newParties: PartyIndex[], newThreshold: number): Promise<unknown>;
}

export interface StakingStatus {
  contract: Address;
  operator: Address;
  epoch: string;
  threshold: number;
  members: { index: PartyIndex; operator: Address; peerId: string; removed: boolean }[];
  keyId: string;
  submittedRelay: Address | null;
  confirmedRelay: Address | null;
}

export class StakingAgent {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private keys: KeyOperations | null = null;
  /** No hand-over attempt before this time (backoff after failed ones). */
  private nextHandOver = 0;
  private handOverFailures = 0;
  private lastWatch = 0;

  private constructor(
    readonly directory: StakingPeerDirectory,
    private readonly client: PublicClient,
    private readonly wallet: WalletClient,
    private readonly account: PrivateKeyAccount,
    private readonly slasher: AbsenceSlasher,
    private readonly removal: RemovalProposer,
    private readonly votes: VoteCollector,
    private readonly signer: MessageSigner,
    private readonly store: KeyStore,
    private readonly clock: ChainClock,
    private readonly watcher: ForgeryWatcher | null,
    private readonly config: StakingConfig,
    private readonly log: Logger,
  ) {}

  static async create(p: {
    config: StakingConfig;
    /** The chains the node reads; the one with the staking contract's chain id is the watched source. */
    chains: readonly NodeChainConfig[];
    store: KeyStore;
    send: (to: PartyIndex, message: StakingFrameBody) => void;
    log: Logger;
  }): Promise<StakingAgent> {
    const operatorKey = await loadOperatorKey({ keyFile: p.config.operatorKeyFile, keyEnv: p.config.operatorKeyEnv });
    const account = privateKeyToAccount(operatorKey);
    const transport = http(p.config.rpcUrl, { timeout: 10_000, retryCount: 1 });
    const client = createPublicClient({ transport, cacheTime: 0 }) as PublicClient;
    const wallet = createWalletClient({ transport, account });
    const chainId = await client.getChainId();
    const directory = await StakingPeerDirectory.load(client, p.config.contract as Address, p.config.peerAddresses);
    // Resumes the observations stored before a restart; windows never start before the epoch, so older ones go.
    const clock = await ChainClock.load({ journal: p.store, log: p.log.child({ component: "chain-clock" }) }, { keepFromBlock: () => directory.committee.startBlock });
    clock.observe(await client.getBlockNumber());
    const votes = new VoteCollector(client, directory);
    const slasher = new AbsenceSlasher({ client, wallet, account, chain: null, chainId, directory, records: p.store, clock, minAbsences: p.config.minAbsences, votes, send: p.send });
    const signer = new MessageSigner(operatorKey, stakingDomainSeparator(chainId, directory.staking));
    const removal = new RemovalProposer({ client, wallet, account, chain: null, chainId, directory, signer, votes, send: p.send });
    const watched = p.chains.map((chain) => ({
      chainId: chain.chainId,
      client: (chain.chainId === chainId ? client : createPublicClient({ transport: http(chain.rpcUrls[0]!, { timeout: chain.rpcTimeoutMs }), cacheTime: 0 })) as PublicClient,
      targetGateway: getAddress(chain.targetGateway),
      source: chain.chainId === chainId ? { gateway: getAddress(chain.sourceGateway), staking: directory.staking, court: directory.court, wallet } : undefined,
      fromBlock: BigInt(chain.fromBlock),
    }));
    const watcher = watched.some((chain) => chain.source !== undefined) ? new ForgeryWatcher(watched, account, p.log) : null;
    return new StakingAgent(directory, client, wallet, account, slasher, removal, votes, signer, p.store, clock, watcher, p.config, p.log);
  }

  /**
   * The READY key this node holds for `view`'s epoch: the configured
   * `staking.keyId`; else `epoch-<n>` (a fresh keyGen); else, after a
   * hand-over, the active relay's key reshared to exactly this committee.
   */
  private async epochKey(view: CommitteeView): Promise<KeyRecord | null> {
    const ready = (key: KeyRecord | null) => (key?.status === "READY" && key.publicKey !== null ? key : null);
    if (this.config.keyId !== undefined) return ready(await this.store.getKey(this.config.keyId));
    const named = ready(await this.store.getKey(epochKeyId(view.epoch)));
    if (named !== null) return named;
    // The epoch's own relay once confirmed, else the active one it is being handed over from.
    const relay = view.relay ?? this.directory.previous?.relay ?? null;
    if (relay === null) return null;
    const parties = view.members.map((m) => m.index);
    const keys = await this.store.listKeys();
    return keys.find((key) => ready(key) !== null && holdsRelay(key, relay) && sameMembers(key.participants, parties) && key.threshold === view.threshold) ?? null;
  }

  get operator(): Address {
    return this.account.address;
  }

  /**
   * `onCommitteeChange` runs after every change of the committee (the daemon closes connections to
   * non-members); `keys` runs the hand-over reshare (the node's session manager).
   */
  start(onCommitteeChange: () => Promise<void>, keys: KeyOperations): void {
    this.keys = keys;
    this.directory.onChange = (view) => {
      this.log.info("committee changed", { epoch: view.epoch.toString(), relay: view.relay, members: view.members.map((m) => m.operator) });
      void onCommitteeChange().catch((error: unknown) => this.log.warn("committee change not applied", { error: String(error) }));
    };
    this.timer = setInterval(() => void this.tick(), this.config.pollMs);
    this.timer.unref();
  }

  /** Stops the duties and waits for the clock's pending writes, so the key store can close after it. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.clock.flush();
  }

  handle(from: PartyIndex, message: StakingFrameBody): void {
    const handled = message.kind === "vote" ? this.votes.handle(from, message) : message.kind === "removalProposal" ? this.removal.handle(from, message) : this.slasher.handle(from, message);
    void handled.catch((error: unknown) => this.log.warn("staking message failed", { from, kind: message.kind, error: String(error) }));
  }

  /** Key operations on the relay key must be what RelayStaking elected; other keys need the operator's approvals. */
  keyAuthority(approvals: OperatorApprovals): KeyAuthority {
    return new StakingKeyAuthority(this.directory, this.account.address, approvals, this.config.keyId);
  }

  /** Signs this node's protocol messages with the operator key and checks each member's against its operator address. */
  messageAuthenticator(): MessageAuthenticator {
    return {
      sign: (message) => this.signer.sign(message),
      verify: (message, signature) => {
        const member = this.directory.byIndex(message.from);
        return member !== undefined && this.signer.verify(message, signature as Hex, member.operator);
      },
    };
  }

  /** A peer's fault proven in one of our sessions: propose its removal to the other members and submit it. */
  removeForFault(fault: ProvenFault): void {
    void this.removal
      .proposeAndSubmit(fault, this.config.proposalTimeoutMs)
      .then((result) => {
        if (result !== null) {
          const what = result.challenged ? "removal of a member proposed; its challenge period runs" : "member removed for a proven fault";
          this.log.warn(what, { operator: result.proposal.node, fault: fault.proof.kind, sessionId: fault.sessionId, signers: result.signers, txHash: result.txHash });
        }
      })
      .catch((error: unknown) => {
        const level = error instanceof ProposalRefused || String(error).includes("NodeIsRemoved") ? "info" : "warn";
        this.log[level]("removal not submitted", { culprit: fault.proof.culprit, fault: fault.proof.kind, error: error instanceof Error ? error.message : String(error) });
      });
  }

  async status(): Promise<StakingStatus> {
    const view = this.directory.committee;
    const keys = await clusterKeyStatus(this.client, this.directory.staking, view.epoch, this.account.address);
    return {
      contract: this.directory.staking,
      operator: this.account.address,
      epoch: view.epoch.toString(),
      threshold: view.threshold,
      members: view.members.map((m) => ({ index: m.index, operator: m.operator, peerId: m.peerId, removed: m.removed })),
      keyId: (await this.epochKey(view))?.keyId ?? this.config.keyId ?? epochKeyId(view.epoch),
      submittedRelay: keys.submitted,
      confirmedRelay: keys.confirmed,
    };
  }

  /** Submits the READY key of the current epoch as its cluster key (no-op when already submitted or confirmed). */
  async submitEpochKey(): Promise<{ relay: Address; txHash: Hex | null } | null> {
    const view = this.directory.committee;
    if (view.relay !== null || activeMember(view, this.account.address) === undefined) return null;
    const key = await this.epochKey(view);
    if (key === null || key.publicKey === null) return null;
    const result = await submitClusterKey({
      client: this.client,
      wallet: this.wallet,
      account: this.account,
      chain: null,
      staking: this.directory.staking,
      epoch: view.epoch,
      publicKey: key.publicKey,
    });
    if (result.txHash !== null) this.log.info("cluster key submitted", { epoch: view.epoch.toString(), relay: result.relay, txHash: result.txHash });
    return result;
  }

  /** Proposes, gathers and submits the absence slash of `accused` over the widest open window. */
  proposeAbsence(accused: Address): ReturnType<AbsenceSlasher["proposeAndSubmit"]> {
    return this.slasher.proposeAndSubmit(getAddress(accused), this.config.proposalTimeoutMs);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      this.clock.observe(await this.client.getBlockNumber());
      await this.directory.refresh();
      await this.handOver();
      await this.submitEpochKey();
      await this.slashAbsentees();
      await this.removalDuties();
    } catch (error) {
      this.log.warn("staking duty failed", { error: error instanceof Error ? error.message : String(error) });
    }
    try {
      // Deliveries need no faster look than every couple of seconds; every node of the committee watches.
      if (this.watcher !== null && Date.now() - this.lastWatch >= WATCH_INTERVAL_MS) {
        this.lastWatch = Date.now();
        await this.watcher.scan();
      }
    } catch (error) {
      this.log.warn("forgery watch failed", { error: error instanceof Error ? error.message : String(error) });
    } finally {
      this.busy = false;
    }
  }

  /**
   * Hand-over to a newly elected committee without a new relay address: while
   * the latest epoch waits for its key, the active committee's member with the
   * lowest party index reshares the active relay's key to the new committee
   * and threshold (t old members deal; old members outside the new committee
   * drop their shares). The new members then submit the same key, and the
   * gateways keep trusting the same address. Failed attempts back off
   * (HAND_OVER_RETRY_MS).
   */
  private async handOver(): Promise<void> {
    const view = this.directory.committee;
    const previous = this.directory.previous;
    if (view.relay !== null || previous === null || previous.relay === null || this.keys === null || Date.now() < this.nextHandOver) return;
    const self = activeMember(previous, this.account.address);
    const old = activeMembers(previous);
    if (self === undefined || self.index !== Math.min(...old.map((m) => m.index))) return;
    const parties = view.members.map((m) => m.index);
    const key = (await this.store.listKeys()).find((k) => k.status === "READY" && holdsRelay(k, previous.relay!));
    if (key === undefined || (sameMembers(key.participants, parties) && key.threshold === view.threshold)) return;
    const fields = { keyId: key.keyId, fromEpoch: previous.epoch.toString(), toEpoch: view.epoch.toString(), parties, threshold: view.threshold };
    try {
      this.log.info("handing the relay key over to the new committee", fields);
      await this.keys.reshare(key.keyId, parties, view.threshold);
      this.handOverFailures = 0;
      this.log.info("relay key handed over", fields);
    } catch (error) {
      this.nextHandOver = Date.now() + backoffMs(++this.handOverFailures, HAND_OVER_RETRY);
      this.log.warn("hand-over failed; will retry", { ...fields, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Members this node saw absent, sustained over the minimum window, get proposed (AbsenceSlasher.slashDue). */
  private async slashAbsentees(): Promise<void> {
    for (const outcome of await this.slasher.slashDue(this.config.proposalTimeoutMs)) {
      const fields = { operator: outcome.operator, party: outcome.party };
      if ("slashed" in outcome) {
        const { proposal, signers, txHash } = outcome.slashed;
        this.log.warn("absence slashed", { ...fields, fromBlock: proposal.fromBlock.toString(), toBlock: proposal.toBlock.toString(), signers, txHash });
      } else {
        this.log[outcome.refused ? "info" : "warn"]("absence slash not submitted; backing off", { ...fields, error: outcome.notSubmitted });
      }
    }
  }

  /** Disputes a removal proposed against this node, and executes others' undisputed removals once due. */
  private async removalDuties(): Promise<void> {
    const disputed = await this.removal.answerAccusation();
    if (disputed !== null) this.log.warn("a removal was proposed against this node: disputed, governance decides", { txHash: disputed });
    for (const operator of await this.removal.executeDue()) this.log.warn("member removed after its challenge period", { operator });
  }
}

function holdsRelay(key: KeyRecord, relay: Address): boolean {
  return key.address !== null && getAddress(key.address) === relay;
}
