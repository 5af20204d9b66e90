/**
 * A local stand-in for the relay network in a dapp's own tests: gateways on two or more chains with
 * their own chain ids, an attester (a test key, or a real in-process t-of-n key) as the relay, and
 * explicit delivery, so a test decides when a message arrives and sees why a receiver failed.
 *
 *   const kit = await MpcRelayTestKit.fromHardhat(network, [31337, 31338]);
 *   const { source } = kit.chain(31337);                // send through it from your contract
 *   await kit.deliverAll();                             // every message sent so far, both ways
 *   const [failure] = await kit.failures();             // failure.reason.summary: 'Error("not allowed")'
 *
 * Delivery takes the same path as production: the attester signs the message's EIP-712 digest for the
 * target gateway, and anyone submits it with receiveMessage.
 */
import { BaseError, ContractFunctionRevertedError, getAddress, parseEventLogs, type Abi, type Address, type Hex } from "viem";
import {
  sourceGatewayAbi,
  targetGatewayAbi,
  decodeRevertReason,
  type DecodedRevert,
  decodeMessageSent,
  messageTypedData,
  relayRotationTypedData,
  toCompactSignature,
  type Message,
  type SentMessage,
} from "@mpc-relay/sdk";
import { testKeyAttester, type Attester } from "./attesters.ts";
import { clientsOf, deployed, installRelay, mined, TestKitError, type HardhatConnection, type HardhatNetworkManager, type KitChainClients, type KitChainInput } from "./chains.ts";
import { sourceGatewayBytecode, targetGatewayBytecode } from "./bytecode.ts";

export interface KitChain<C = undefined> extends KitChainClients<C> {
  chainId: bigint;
  /** SourceGateway: dapps call sendMessage here. */
  source: Address;
  /** TargetGateway: delivers to receivers on this chain. */
  target: Address;
  /** First block whose messages the kit delivers (a fork's history belongs to the live network's relayers). */
  fromBlock: bigint;
}

export interface TestKitOptions {
  /** Signs as the relay address; a test key by default (see mpcAttester for the threshold path). */
  attester?: Attester;
  /** Fee schedule every source gateway applies to every other chain. */
  destination?: { baseFee?: bigint; gasPrice?: bigint; byteFee?: bigint; maxGasLimit?: number };
  maxPayloadBytes?: number;
  /** TargetGateway's minimum time between signed relay rotations, and how long the previous relay stays valid. */
  rotationDelay?: bigint;
  retentionWindow?: bigint;
  /** Receivers' ABIs, so that their custom errors decode in failures (Error, Panic and the gateway's always do). */
  errorAbis?: readonly Abi[];
}

export interface Delivery {
  messageId: Hex;
  message: Message;
  /** The delivering transaction; null for a retry the receiver refused again (nothing was sent). */
  txHash: Hex | null;
  outcome: "delivered" | "failed";
  /** Set when the receiver reverted: the target stored the message as failed, to be retried. */
  reason: DecodedRevert | null;
}

export interface Failure {
  messageId: Hex;
  message: Message;
  receiver: Address;
  reason: DecodedRevert;
}

/** A live network to fork: its RPC URL (from env or the Hardhat keystore, never the repository) and its deployment. */
export interface ForkSpec {
  url: string;
  /** deployments/<network>.json, as scripts/deploy.ts writes it. */
  deployment: { chainId: number; contracts: { SourceGateway: string; TargetGateway: string } };
  blockNumber?: bigint;
}

export class MpcRelayTestKit<C = undefined> {
  private constructor(
    private readonly chains: ReadonlyMap<bigint, KitChain<C>>,
    private attesterNow: Attester,
    private readonly options: TestKitOptions,
  ) {}

  /** New in-process Hardhat chains, one per chain id, with the gateways deployed on each. */
  static async fromHardhat<C extends HardhatConnection>(network: HardhatNetworkManager<C>, chainIds: readonly number[], options: TestKitOptions = {}): Promise<MpcRelayTestKit<C>> {
    const clients = await Promise.all(chainIds.map(async (chainId) => clientsOf(await network.create({ override: { chainId } }), `chain ${chainId}`)));
    return MpcRelayTestKit.deploy(clients, options);
  }

  /** Deploys a SourceGateway and a TargetGateway on each chain and routes every chain to every other. */
  static async deploy<C = undefined>(clients: readonly KitChainInput<C>[], options: TestKitOptions = {}): Promise<MpcRelayTestKit<C>> {
    if (clients.length < 2) throw new TestKitError("a test kit needs at least two chains");
    const attester = options.attester ?? testKeyAttester();
    const chains = new Map<bigint, KitChain<C>>();
    for (const c of clients) {
      const chainId = BigInt(await c.publicClient.getChainId());
      if (chains.has(chainId)) throw new TestKitError(`two chains share chain id ${chainId}`);
      const owner = c.walletClient.account.address;
      const source = await deployed(
        c,
        await c.walletClient.deployContract({ abi: sourceGatewayAbi, bytecode: sourceGatewayBytecode, args: [owner, owner, options.maxPayloadBytes ?? 16_384], chain: c.walletClient.chain }),
      );
      const target = await deployed(
        c,
        await c.walletClient.deployContract({
          abi: targetGatewayAbi,
          bytecode: targetGatewayBytecode,
          args: [owner, attester.address, options.rotationDelay ?? 3600n, options.retentionWindow ?? 600n],
          chain: c.walletClient.chain,
        }),
      );
      chains.set(chainId, { ...c, connection: c.connection as C, chainId, source, target, fromBlock: 0n });
    }
    const fees = { baseFee: 10n ** 12n, gasPrice: 10n ** 6n, byteFee: 10n ** 9n, maxGasLimit: 5_000_000, ...options.destination };
    for (const from of chains.values()) {
      for (const to of chains.keys()) {
        if (to === from.chainId) continue;
        await mined(from, await from.walletClient.writeContract({ address: from.source, abi: sourceGatewayAbi, functionName: "setDestination", args: [to, fees], chain: from.walletClient.chain }));
      }
    }
    return new MpcRelayTestKit(chains, attester, options);
  }

  /**
   * In-process forks of live networks whose gateways are deployed already (addresses from
   * deployments/<network>.json). The kit's attester becomes each target gateway's relay (the owner is
   * impersonated for setRelay: the gateway trusts that one address), and only messages sent on the
   * forks are delivered. Routes between the networks must be open on the live gateways.
   */
  static async fromForks<C extends HardhatConnection>(network: HardhatNetworkManager<C>, forks: readonly ForkSpec[], options: TestKitOptions = {}): Promise<MpcRelayTestKit<C>> {
    if (forks.length < 2) throw new TestKitError("a test kit needs at least two chains");
    const attester = options.attester ?? testKeyAttester();
    const chains = new Map<bigint, KitChain<C>>();
    for (const fork of forks) {
      const chainId = BigInt(fork.deployment.chainId);
      if (chains.has(chainId)) throw new TestKitError(`two forks share chain id ${chainId}`);
      const forking = { url: fork.url, ...(fork.blockNumber === undefined ? {} : { blockNumber: fork.blockNumber }) };
      const connection = await network.create({ override: { chainId: Number(chainId), forking } }).catch((cause: unknown) => {
        throw new TestKitError(`cannot fork chain ${chainId} from ${fork.url}`, { cause });
      });
      const clients = await clientsOf(connection, `the fork of chain ${chainId}`);
      // Calls at the fork block itself need the remote chain's hardfork history, which Hardhat lacks for
      // chains it does not know; blocks mined on the fork run under the configured hardfork.
      await clients.testClient.mine({ blocks: 1 });
      const fromBlock = await clients.publicClient.getBlockNumber();
      const source = getAddress(fork.deployment.contracts.SourceGateway);
      const target = getAddress(fork.deployment.contracts.TargetGateway);
      for (const [name, address] of [
        ["SourceGateway", source],
        ["TargetGateway", target],
      ] as const) {
        if ((await clients.publicClient.getCode({ address })) === undefined)
          throw new TestKitError(`${name} ${address} has no code on chain ${chainId} at the fork block: wrong deployment file or URL?`);
      }
      await installRelay(clients, target, attester.address).catch((cause: unknown) => {
        throw new TestKitError(`cannot make the kit's relay the relay of TargetGateway ${target} on chain ${chainId}: is it a TargetGateway?`, { cause });
      });
      chains.set(chainId, { ...clients, chainId, source, target, fromBlock });
    }
    return new MpcRelayTestKit(chains, attester, options);
  }

  /** The relay address every target gateway trusts now. */
  get relay(): Address {
    return this.attesterNow.address;
  }

  chain(chainId: bigint | number): KitChain<C> {
    const chain = this.chains.get(BigInt(chainId));
    if (chain === undefined) throw new TestKitError(`no kit chain with id ${chainId} (kit chains: ${[...this.chains.keys()].join(", ")})`);
    return chain;
  }

  /** Every message sent on a kit chain that its target gateway has not received yet, oldest first. */
  async pending(): Promise<SentMessage[]> {
    const out: SentMessage[] = [];
    for (const sent of await this.sent()) if (!(await this.isReceived(sent.message))) out.push(sent);
    return out;
  }

  /** Attests and submits one message; a reverting receiver leaves it stored as failed (see `reason`). */
  async deliver(messageId: Hex): Promise<Delivery> {
    const sent = (await this.sent()).find((s) => s.messageId.toLowerCase() === messageId.toLowerCase());
    if (sent === undefined) throw new TestKitError(`message ${messageId} was not sent by any kit chain's source gateway`);
    if (await this.isReceived(sent.message)) throw new TestKitError(`message ${messageId} was delivered already`);
    return this.deliverSent(sent);
  }

  /** Attests and submits a sent message the target has not received. */
  private async deliverSent(sent: SentMessage): Promise<Delivery> {
    const to = this.destinationOf(sent.message);
    const signature = await this.attesterNow.signTypedData(messageTypedData(sent.message, to.target));
    const txHash = await to.walletClient.writeContract({
      address: to.target,
      abi: targetGatewayAbi,
      functionName: "receiveMessage",
      args: [sent.message, ...toCompactSignature(signature)],
      chain: to.walletClient.chain,
    });
    return this.outcome(to, sent, txHash);
  }

  /**
   * Delivers every pending message, then whatever the receivers sent while handling them, until none
   * is left (at most `maxRounds` rounds, against receivers that answer every message with another).
   */
  async deliverAll(maxRounds = 10): Promise<Delivery[]> {
    const deliveries: Delivery[] = [];
    for (let round = 0; round < maxRounds; round++) {
      const pending = await this.pending();
      if (pending.length === 0) return deliveries;
      for (const sent of pending) deliveries.push(await this.deliverSent(sent));
    }
    if ((await this.pending()).length > 0) throw new TestKitError(`messages still pending after ${maxRounds} delivery rounds: do the receivers answer each other for ever?`);
    return deliveries;
  }

  /** Messages the target gateways hold as failed (not delivered by a retry, not abandoned), with decoded reasons. */
  async failures(): Promise<Failure[]> {
    const sentById = new Map((await this.sent()).map((s) => [s.messageId, s.message]));
    const out: Failure[] = [];
    for (const chain of this.chains.values()) {
      const logs = await chain.publicClient.getContractEvents({ address: chain.target, abi: targetGatewayAbi, eventName: "MessageFailed", fromBlock: chain.fromBlock });
      const latest = new Map<Hex, (typeof logs)[number]>();
      for (const log of logs) latest.set(log.args.messageId!, log);
      for (const [messageId, log] of latest) {
        const state = await chain.publicClient.readContract({ address: chain.target, abi: targetGatewayAbi, functionName: "failedState", args: [messageId] });
        const message = sentById.get(messageId);
        if (state !== 1 || message === undefined) continue;
        out.push({ messageId, message, receiver: log.args.receiver!, reason: this.decodeReason(log.args.reason!) });
      }
    }
    return out;
  }

  /**
   * Runs a failed message again (anyone may), with at least its gasLimit for the receiver. A retry the
   * receiver still refuses reverts as a whole: nothing is sent then, and the result carries its reason.
   */
  async retry(messageId: Hex): Promise<Delivery> {
    const failure = (await this.failures()).find((f) => f.messageId.toLowerCase() === messageId.toLowerCase());
    if (failure === undefined) throw new TestKitError(`message ${messageId} is not stored as failed on any kit chain`);
    const to = this.destinationOf(failure.message);
    const call = { address: to.target, abi: targetGatewayAbi, functionName: "retryMessage", args: [failure.message], account: to.walletClient.account } as const;
    try {
      await to.publicClient.simulateContract(call);
    } catch (error) {
      const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
      if (!(reverted instanceof ContractFunctionRevertedError) || reverted.data?.errorName !== "RetryFailed") throw new TestKitError(`retry of ${messageId} cannot be sent`, { cause: error });
      const reason = this.decodeReason(reverted.data.args![1] as Hex);
      return { messageId: failure.messageId, message: failure.message, txHash: null, outcome: "failed", reason };
    }
    const txHash = await to.walletClient.writeContract({ ...call, chain: to.walletClient.chain });
    return this.outcome(to, { messageId: failure.messageId, message: failure.message, fee: 0n }, txHash);
  }

  /**
   * Hands the relay over to `next` on every target gateway, signed by the current attester, as the
   * network does after a key change. The old relay stays valid for the retention window (see
   * `increaseTime`); a second rotation must wait for the rotation delay.
   */
  async rotateRelay(next: Attester, validForSeconds = 3600n): Promise<void> {
    for (const chain of this.chains.values()) {
      const nonce = await chain.publicClient.readContract({ address: chain.target, abi: targetGatewayAbi, functionName: "rotationNonce" });
      const { timestamp } = await chain.publicClient.getBlock();
      const rotation = { newRelay: next.address, nonce, deadline: timestamp + validForSeconds };
      const signature = await this.attesterNow.signTypedData(relayRotationTypedData(rotation, chain.chainId, chain.target));
      await mined(
        chain,
        await chain.walletClient.writeContract({
          address: chain.target,
          abi: targetGatewayAbi,
          functionName: "rotateRelay",
          args: [next.address, rotation.deadline, signature],
          chain: chain.walletClient.chain,
        }),
      );
    }
    this.attesterNow = next;
  }

  /** Moves every kit chain's clock forward and mines a block on each. */
  async increaseTime(seconds: bigint | number): Promise<void> {
    for (const chain of this.chains.values()) {
      await chain.testClient.increaseTime({ seconds: Number(seconds) });
      await chain.testClient.mine({ blocks: 1 });
    }
  }

  private async sent(): Promise<SentMessage[]> {
    const out: SentMessage[] = [];
    for (const chain of this.chains.values()) {
      const logs = await chain.publicClient.getContractEvents({ address: chain.source, abi: sourceGatewayAbi, eventName: "MessageSent", fromBlock: chain.fromBlock });
      out.push(...logs.map((log) => decodeMessageSent(log)));
    }
    return out;
  }

  private destinationOf(message: Message): KitChain<C> {
    const to = this.chains.get(message.dstChainId);
    if (to === undefined) throw new TestKitError(`message to chain ${message.dstChainId}, which is not a kit chain`);
    return to;
  }

  private isReceived(message: Message): Promise<boolean> {
    const to = this.destinationOf(message);
    return to.publicClient.readContract({ address: to.target, abi: targetGatewayAbi, functionName: "isReceived", args: [message.srcChainId, message.srcGateway, message.nonce] });
  }

  private async outcome(to: KitChain<C>, sent: SentMessage, txHash: Hex): Promise<Delivery> {
    const receipt = await mined(to, txHash);
    const [failed] = parseEventLogs({ abi: targetGatewayAbi, logs: receipt.logs, eventName: "MessageFailed" });
    return {
      messageId: sent.messageId,
      message: sent.message,
      txHash,
      outcome: failed === undefined ? "delivered" : "failed",
      reason: failed === undefined ? null : this.decodeReason(failed.args.reason),
    };
  }

  private decodeReason(data: Hex): DecodedRevert {
    return decodeRevertReason(data, this.options.errorAbis?.flat() ?? []);
  }
}
