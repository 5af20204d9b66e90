/**
 * Removal of a member for a protocol fault its own signed messages prove.
 *
 * A node whose session aborted with a fault proof (packages/mpc/src/evidence.ts)
 * holds the culprit's operator signatures of the messages in it (every
 * protocol message is signed, message-signer.ts). What happens next depends on
 * what the SlashingCourt can check itself:
 * - equivocation (two signed messages for one slot): the court checks all of
 *   it, so the node submits removeForEquivocation at once, no votes needed;
 * - a Feldman share or commitment-opening fault: the node proposes
 *   `Removal(epoch, culprit, evidenceHash)` to the other members with the
 *   messages and signatures; each member checks everything itself - the
 *   signatures recover to the accused's operator, the messages prove the
 *   fault, the accused is an active member of the epoch - and only then signs.
 *   Once the signers meet the court's rule the proposer submits proposeRemoval,
 *   which re-checks authorship and the majority and opens a challenge period.
 *   The accused may dispute it (then governance decides); an undisputed removal
 *   is executed by any member once the period is over (executeDue).
 * A node disputes every pending removal against itself (answerAccusation): it
 * does not take a majority's word that it is faulty; governance re-runs the
 * check (packages/mpc/src/evidence.ts) and decides.
 */
import { bytesToHex, getAddress, hashTypedData, hexToBytes, type Address, type Hex } from "viem";
import { checkFaultProof, decodeProtocolMessage, encodeProtocolMessage, FAULT_KINDS, protocolMessageHeader, type FaultKind, type PartyIndex, type ProtocolMessage } from "@mpc-relay/mpc";
import type { ProvenFault } from "../node/plugin.ts";
import { relayStakingAbi, slashingCourtAbi } from "@mpc-relay/sdk";
import { confirmSuccess } from "../shared/transactions.ts";
import { proposalTypedData, type StakingAccess } from "./access.ts";
import { activeMember, activeMembers } from "./directory.ts";
import type { MessageSigner } from "./message-signer.ts";
import { MAX_EVIDENCE_MESSAGES, removalEvidenceHash, type RemovalProposal } from "./typed-data.ts";
import { answerProposal, ProposalRefused, type VoteCollector, type VoteMessage } from "./votes.ts";

/** What a proposer sends (frames.ts `removalProposal`); hex strings on the wire. */
export interface RemovalMessage {
  kind: "removalProposal";
  proposal: { epoch: string; node: string; evidenceHash: string };
  fault: FaultKind;
  evidence: { message: string; signature: string }[];
}

export interface RemovalEvidence {
  fault: FaultKind;
  /** The culprit's messages that prove the fault. */
  messages: ProtocolMessage[];
  /** The culprit's operator signature of each message's header. */
  signatures: Hex[];
}

/** The signed headers RelayStaking hashes and checks (protocolMessageHeader), as hex. */
function headersOf(evidence: RemovalEvidence): Hex[] {
  return evidence.messages.map((m) => bytesToHex(protocolMessageHeader(m)));
}

export class RemovalProposer {
  /** Operators this node has proposed to remove, so that every session proving the same fault doesn't start a proposal. */
  private readonly proposed = new Set<Address>();
  /** Operators with a removal proposed and not yet seen executed or dismissed, and the next block to scan for more. */
  private readonly accused = new Set<Address>();
  private accusationsScannedTo: bigint | null = null;

  constructor(
    private readonly p: StakingAccess & {
      signer: MessageSigner;
      votes: VoteCollector;
      send: (to: PartyIndex, message: RemovalMessage | VoteMessage) => void;
    },
  ) {}

  digest(proposal: RemovalProposal): Hex {
    return hashTypedData(proposalTypedData(this.p, "Removal", proposal));
  }

  /** The proposal and evidence for a fault this node proved in one of its sessions (the culprit must be a member). */
  proposalFor(fault: ProvenFault): { proposal: RemovalProposal; evidence: RemovalEvidence } {
    // During a hand-over the culprit may belong to the active (old) committee only: the proposal names its epoch.
    for (const view of [this.p.directory.committee, this.p.directory.previous]) {
      const accused = view === null ? undefined : activeMembers(view).find((m) => m.index === fault.proof.culprit);
      if (view === null || accused === undefined) continue;
      const evidence: RemovalEvidence = { fault: fault.proof.kind, messages: [...fault.proof.messages], signatures: fault.signatures.map((s) => s as Hex) };
      return { proposal: { epoch: view.epoch, node: accused.operator, evidenceHash: removalEvidenceHash(headersOf(evidence)) }, evidence };
    }
    throw new ProposalRefused(`party ${fault.proof.culprit} is not a member of a current committee`);
  }

  /** Null when this node agrees the evidence proves the accused's fault, else why not. */
  async check(proposal: RemovalProposal, evidence: RemovalEvidence): Promise<string | null> {
    const view = this.p.directory.committeeOf(proposal.epoch);
    if (view === null) return `epoch ${proposal.epoch} is not a current epoch`;
    const accused = activeMember(view, proposal.node);
    if (accused === undefined) return `${proposal.node} is not a member of epoch ${proposal.epoch}`;
    if (activeMember(view, this.p.account.address) === undefined) return "this node is not a member of the epoch";
    if (accused.operator === getAddress(this.p.account.address)) return "a node does not vote for its own removal";
    if (!FAULT_KINDS.includes(evidence.fault)) return `unknown fault kind ${JSON.stringify(evidence.fault)}`;
    const count = evidence.messages.length;
    if (count === 0 || count > MAX_EVIDENCE_MESSAGES || evidence.signatures.length !== count) return "evidence needs 1 to 8 messages, each with a signature";
    const headers = headersOf(evidence);
    if (removalEvidenceHash(headers) !== proposal.evidenceHash) return "evidenceHash does not match the evidence";
    for (const [i, header] of headers.entries()) {
      if (!this.p.signer.verifyHeader(hexToBytes(header), evidence.signatures[i]!, accused.operator)) return `evidence message ${i} is not signed by ${accused.operator}`;
    }
    try {
      const { culprit } = checkFaultProof(evidence.fault, evidence.messages);
      if (culprit !== accused.index) return `the evidence shows party ${culprit}'s fault, not party ${accused.index}'s`;
    } catch (error) {
      return (error as Error).message;
    }
    const node = await this.p.client.readContract({ address: this.p.directory.staking, abi: relayStakingAbi, functionName: "getNode", args: [accused.operator] });
    if (node.removed) return `${accused.operator} is removed already`;
    return null;
  }

  async sign(proposal: RemovalProposal, evidence: RemovalEvidence): Promise<Hex> {
    const refusal = await this.check(proposal, evidence);
    if (refusal !== null) throw new ProposalRefused(refusal);
    return this.p.account.signTypedData(proposalTypedData(this.p, "Removal", proposal));
  }

  /** A member's proposal: answers with our signature or our refusal. */
  async handle(from: PartyIndex, message: RemovalMessage): Promise<void> {
    if (this.p.directory.byIndex(from) === undefined) return;
    const proposal: RemovalProposal = {
      epoch: BigInt(message.proposal.epoch),
      node: getAddress(message.proposal.node),
      evidenceHash: message.proposal.evidenceHash as Hex,
    };
    await answerProposal(
      (vote) => this.p.send(from, vote),
      this.digest(proposal),
      () => {
        const evidence: RemovalEvidence = {
          fault: message.fault,
          messages: message.evidence.map((e, i) => decodeOrRefuse(e.message, i)),
          signatures: message.evidence.map((e) => e.signature as Hex),
        };
        return this.sign(proposal, evidence);
      },
    );
  }

  /**
   * Has the culprit removed: an equivocation at once (removeForEquivocation), any other fault by proposing it to
   * every other member, gathering the court's quorum and opening its challenge (proposeRemoval). Null when this
   * node already proposed that culprit's removal.
   */
  async proposeAndSubmit(fault: ProvenFault, timeoutMs: number): Promise<RemovalOutcome | null> {
    const { proposal, evidence } = this.proposalFor(fault);
    if (this.proposed.has(proposal.node)) return null;
    this.proposed.add(proposal.node);
    try {
      const refusal = await this.check(proposal, evidence);
      if (refusal !== null) throw new ProposalRefused(refusal);
      const headers = headersOf(evidence);
      if (evidence.fault === "equivocation") {
        const txHash = await this.p.wallet.writeContract({
          address: this.p.directory.court,
          abi: slashingCourtAbi,
          functionName: "removeForEquivocation",
          args: [proposal.node, headers[0]!, headers[1]!, evidence.signatures[0]!, evidence.signatures[1]!],
          account: this.p.account,
          chain: this.p.chain,
        });
        await confirmSuccess(this.p.client, txHash, "removeForEquivocation");
        return { txHash, proposal, signers: [], challenged: false };
      }
      const own = await this.p.account.signTypedData(proposalTypedData(this.p, "Removal", proposal));
      const wire: RemovalMessage = {
        kind: "removalProposal",
        proposal: { epoch: proposal.epoch.toString(), node: proposal.node, evidenceHash: proposal.evidenceHash },
        fault: evidence.fault,
        evidence: evidence.messages.map((m, i) => ({ message: Buffer.from(encodeProtocolMessage(m)).toString("base64"), signature: evidence.signatures[i]! })),
      };
      const signed = await this.p.votes.gather({
        digest: this.digest(proposal),
        own: { signer: getAddress(this.p.account.address), signature: own },
        epoch: proposal.epoch,
        electorate: activeMembers(this.p.directory.committeeOf(proposal.epoch)!),
        accused: proposal.node,
        ask: (member) => this.p.send(member.index, wire),
        timeoutMs,
        what: `removing ${proposal.node}`,
      });
      const txHash = await this.p.wallet.writeContract({
        address: this.p.directory.court,
        abi: slashingCourtAbi,
        functionName: "proposeRemoval",
        args: [proposal, { messages: headers, payloads: evidence.messages.map((m) => bytesToHex(m.payload)), signatures: evidence.signatures }, signed.map((s) => s.signature)],
        account: this.p.account,
        chain: this.p.chain,
      });
      await confirmSuccess(this.p.client, txHash, "proposeRemoval");
      return { txHash, proposal, signers: signed.map((s) => s.signer), challenged: true };
    } catch (error) {
      // Another member's proposal may have won; a refused or failed one may be retried on the next proven fault.
      this.proposed.delete(proposal.node);
      throw error;
    }
  }

  /**
   * Executes every undisputed removal whose challenge period is over; returns the operators. The court's
   * RemovalProposed events since the last call say who is accused, so only those records are read.
   */
  async executeDue(): Promise<Address[]> {
    const court = this.p.directory.court;
    const [now] = await Promise.all([this.p.client.getBlock().then((b) => b.timestamp), this.readAccusations()]);
    const executed: Address[] = [];
    for (const operator of this.accused) {
      const [, deadline, disputed] = await this.p.client.readContract({ address: court, abi: slashingCourtAbi, functionName: "pendingRemoval", args: [operator] });
      if (deadline === 0n) this.accused.delete(operator); // executed or dismissed
      if (deadline === 0n || disputed || now < deadline) continue;
      const txHash = await this.p.wallet.writeContract({ address: court, abi: slashingCourtAbi, functionName: "executeRemoval", args: [operator], account: this.p.account, chain: this.p.chain });
      await confirmSuccess(this.p.client, txHash, "executeRemoval");
      this.accused.delete(operator);
      executed.push(operator);
    }
    return executed;
  }

  /** Disputes a pending removal against this node within its challenge period; the transaction hash, or null. */
  async answerAccusation(): Promise<Hex | null> {
    await this.readAccusations();
    const self = getAddress(this.p.account.address);
    if (!this.accused.has(self)) return null;
    const court = this.p.directory.court;
    const [[, deadline, disputed], block] = await Promise.all([
      this.p.client.readContract({ address: court, abi: slashingCourtAbi, functionName: "pendingRemoval", args: [self] }),
      this.p.client.getBlock(),
    ]);
    if (deadline === 0n || disputed || block.timestamp >= deadline) return null;
    const txHash = await this.p.wallet.writeContract({ address: court, abi: slashingCourtAbi, functionName: "disputeRemoval", args: [self], account: this.p.account, chain: this.p.chain });
    await confirmSuccess(this.p.client, txHash, "disputeRemoval");
    return txHash;
  }

  /** Adds the operators the court's RemovalProposed events name since the last look (from the oldest current epoch's start). */
  private async readAccusations(): Promise<void> {
    const head = await this.p.client.getBlockNumber();
    const views = [this.p.directory.committee, this.p.directory.previous].filter((v) => v !== null);
    const from = this.accusationsScannedTo ?? views.reduce((oldest, v) => (v.startBlock < oldest ? v.startBlock : oldest), head);
    if (head < from) return;
    const events = await this.p.client.getContractEvents({ address: this.p.directory.court, abi: slashingCourtAbi, eventName: "RemovalProposed", fromBlock: from, toBlock: head });
    for (const event of events) if (event.args.operator !== undefined) this.accused.add(getAddress(event.args.operator));
    this.accusationsScannedTo = head + 1n;
  }
}

/** A removal this node submitted: done at once (equivocation), or opened for its challenge period. */
export interface RemovalOutcome {
  txHash: Hex;
  proposal: RemovalProposal;
  signers: Address[];
  challenged: boolean;
}

function decodeOrRefuse(base64: string, index: number): ProtocolMessage {
  try {
    return decodeProtocolMessage(new Uint8Array(Buffer.from(base64, "base64")));
  } catch (error) {
    throw new ProposalRefused(`evidence message ${index} is undecodable: ${(error as Error).message}`);
  }
}
