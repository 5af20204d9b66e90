/**
 * Gathering members' signatures of a proposal (absence slash, removal) until
 * the signers hold more than half of the committee's slashable stake, the rule
 * RelayStaking applies. A vote is a member's EIP-712 signature of the
 * proposal's digest, or its refusal with a reason; a signature counts only
 * when it recovers to that member's operator address.
 */
import { getAddress, recoverAddress, type Address, type Hex, type PublicClient } from "viem";
import type { PartyIndex } from "../mpc/types.ts";
import { relayStakingAbi } from "../sdk/abi.ts";
import type { StakingMember, StakingPeerDirectory } from "./directory.ts";
import { sortBySigner } from "./typed-data.ts";

/** A member's answer to a proposal (frames.ts `vote`). */
export interface VoteMessage {
  kind: "vote";
  digest: string;
  signature: string | null;
  reason: string;
}

/** Answers a member's proposal with our signature of `digest`, or with why we refuse it. */
export async function answerProposal(send: (vote: VoteMessage) => void, digest: Hex, sign: () => Promise<Hex>): Promise<void> {
  try {
    send({ kind: "vote", digest, signature: await sign(), reason: "" });
  } catch (error) {
    send({ kind: "vote", digest, signature: null, reason: (error instanceof Error ? error.message : String(error)).slice(0, 400) });
  }
}

export class ProposalRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProposalRefused";
  }
}

interface Pending {
  votes: Map<Address, Hex>;
  refusals: Map<PartyIndex, string>;
  wake: () => void;
}

export class VoteCollector {
  private readonly pending = new Map<Hex, Pending>();

  constructor(
    private readonly client: PublicClient,
    private readonly directory: StakingPeerDirectory,
  ) {}

  /** Records a member's vote for a proposal being gathered here (others are ignored). */
  async handle(from: PartyIndex, vote: VoteMessage): Promise<void> {
    const pending = this.pending.get(vote.digest as Hex);
    const member = this.directory.byIndex(from);
    if (pending === undefined || member === undefined) return;
    if (vote.signature === null) {
      pending.refusals.set(from, vote.reason);
    } else {
      let signer: Address | null = null;
      try {
        signer = getAddress(await recoverAddress({ hash: vote.digest as Hex, signature: vote.signature as Hex }));
      } catch {
        signer = null;
      }
      if (signer !== member.operator) pending.refusals.set(from, "signature from the wrong key");
      else pending.votes.set(signer, vote.signature as Hex);
    }
    pending.wake();
  }

  /**
   * Asks every other member of `electorate` (the epoch's committee, removed
   * members left out; through `ask`) and waits until the signatures, ours
   * included, hold a stake majority of `epoch`; returns them
   * sorted by signer as the contract wants. Throws ProposalRefused when every
   * member answered or `timeoutMs` passed without a majority.
   */
  async gather(p: {
    digest: Hex;
    own: { signer: Address; signature: Hex };
    epoch: bigint;
    electorate: readonly StakingMember[];
    /** The accused, who is not asked. */
    accused: Address;
    ask: (member: StakingMember) => void;
    timeoutMs: number;
    what: string;
  }): Promise<{ signer: Address; signature: Hex }[]> {
    const pending: Pending = { votes: new Map([[getAddress(p.own.signer), p.own.signature]]), refusals: new Map(), wake: () => {} };
    this.pending.set(p.digest, pending);
    try {
      const others = p.electorate.filter((m) => m.operator !== getAddress(p.own.signer) && m.operator !== getAddress(p.accused));
      for (const member of others) p.ask(member);
      const weights = await this.stakeWeights(p.epoch, p.electorate);
      const deadline = Date.now() + p.timeoutMs;
      while (!hasMajority(pending, weights)) {
        const answered = pending.votes.size - 1 + pending.refusals.size;
        if (answered >= others.length || Date.now() >= deadline) {
          const refusals = [...pending.refusals].map(([party, reason]) => `${party}: ${reason}`).join("; ");
          throw new ProposalRefused(`no stake majority for ${p.what} (${pending.votes.size} signature(s)${refusals ? `; refused by ${refusals}` : ""})`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
          pending.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return sortBySigner([...pending.votes].map(([signer, signature]) => ({ signer, signature })));
    } finally {
      this.pending.delete(p.digest);
    }
  }

  private async stakeWeights(epoch: bigint, members: readonly StakingMember[]): Promise<{ total: bigint; of: Map<Address, bigint> }> {
    const staking = this.directory.staking;
    const [total, ...stakes] = await Promise.all([
      this.client.readContract({ address: staking, abi: relayStakingAbi, functionName: "committeeStake", args: [epoch] }),
      ...members.map((m) => this.client.readContract({ address: staking, abi: relayStakingAbi, functionName: "slashableStake", args: [m.operator] })),
    ]);
    return { total, of: new Map(members.map((m, i) => [m.operator, stakes[i]!])) };
  }
}

function hasMajority(pending: Pending, weights: { total: bigint; of: Map<Address, bigint> }): boolean {
  let signed = 0n;
  for (const signer of pending.votes.keys()) signed += weights.of.get(signer) ?? 0n;
  return signed * 2n > weights.total;
}
