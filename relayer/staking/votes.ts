/**
 * Gathering members' signatures of a proposal (absence slash, removal) until
 * they meet the rule the SlashingCourt applies (court/MajorityApproval.sol):
 * at least the epoch's threshold of signers other than the accused, holding
 * more than half of the snapshot voting weight of the members other than the
 * accused (removed members neither sign nor count). A vote is a member's
 * EIP-712 signature of the proposal's digest, or its refusal with a reason; a
 * signature counts only when it recovers to that member's operator address.
 */
import { getAddress, recoverAddress, type Address, type Hex, type PublicClient } from "viem";
import type { PartyIndex } from "@mpc-relay/mpc";
import { relayStakingAbi } from "@mpc-relay/sdk";
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
   * included, meet the court's rule for `epoch` and `accused`; returns them
   * sorted by signer as the court wants. Throws ProposalRefused when every
   * member answered or `timeoutMs` passed without it.
   */
  async gather(p: {
    digest: Hex;
    own: { signer: Address; signature: Hex };
    epoch: bigint;
    electorate: readonly StakingMember[];
    /** The accused, who is not asked and whose weight does not count. */
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
      const rule = await this.quorumRule(p.epoch, p.electorate, getAddress(p.accused));
      const deadline = Date.now() + p.timeoutMs;
      while (!meetsQuorum(pending, rule)) {
        const answered = pending.votes.size - 1 + pending.refusals.size;
        if (answered >= others.length || Date.now() >= deadline) {
          const refusals = [...pending.refusals].map(([party, reason]) => `${party}: ${reason}`).join("; ");
          throw new ProposalRefused(`no quorum for ${p.what} (${pending.votes.size} signature(s), ${rule.threshold} and a weight majority needed${refusals ? `; refused by ${refusals}` : ""})`);
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

  /** The epoch's threshold, the snapshot weights of its members, and the weight the others hold (accused left out). */
  private async quorumRule(epoch: bigint, members: readonly StakingMember[], accused: Address): Promise<QuorumRule> {
    const staking = this.directory.staking;
    const weightOf = (operator: Address) => this.client.readContract({ address: staking, abi: relayStakingAbi, functionName: "votingWeight", args: [epoch, operator] });
    const [info, accusedWeight, ...weights] = await Promise.all([
      this.client.readContract({ address: staking, abi: relayStakingAbi, functionName: "epochInfo", args: [epoch] }),
      weightOf(accused),
      ...members.map((m) => weightOf(m.operator)),
    ]);
    return { threshold: info.threshold, othersWeight: info.activeWeight - accusedWeight, accused, of: new Map(members.map((m, i) => [m.operator, weights[i]!])) };
  }
}

interface QuorumRule {
  threshold: number;
  othersWeight: bigint;
  accused: Address;
  of: Map<Address, bigint>;
}

function meetsQuorum(pending: Pending, rule: QuorumRule): boolean {
  let signed = 0n;
  let count = 0;
  for (const signer of pending.votes.keys()) {
    if (signer === rule.accused) continue;
    signed += rule.of.get(signer) ?? 0n;
    count++;
  }
  return count >= rule.threshold && signed * 2n > rule.othersWeight;
}
