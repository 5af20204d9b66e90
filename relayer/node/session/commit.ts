/**
 * Two-phase replacement of a key's sharing.
 *
 * A keyGen, refresh or reshare ends with each new holder storing its share as
 * an uncommitted generation (keystore.ts) and sending every holder its signed
 * confirmation: "I hold generation g of key k with these public facts". A node
 * commits g once it has every holder's confirmation (the certificate); the
 * commit deletes the older generations here, and the node forwards the
 * certificate to the holders and the old committee so that laggards and
 * leavers commit too.
 *
 * Why this keeps the key usable: a generation is deleted only when a newer
 * one commits, and that needs every holder of the newer one to have confirmed
 * it, i.e. to hold its share durably. A holder never drops a confirmed
 * generation of a refresh or reshare, so every two honest members always hold
 * one common generation, whatever a member withholds or whenever it releases
 * its confirmation. A withheld confirmation costs only the deletion of the old
 * sharing, which the next successful replacement performs. Only a keyGen's
 * uncommitted generation may be dropped (on a holder's signed nack), because
 * nothing older depends on it.
 *
 * A refresh that went ahead without some members (operations/refresh.ts: at
 * least 2t-1 present) names them `awaiting`: the holders are the present
 * members, the certificate is every holder's confirmation of facts that list
 * the awaiting ones, and it commits like any other. Deleting the old sharing
 * then is safe for the absent: at least t honest members hold the new one
 * whatever t-1 holders do, so an awaiting member can always recover its share
 * from honest helpers (operations/recover.ts), and it keeps its old share
 * until it has. Holders send the certificate to awaiting members again with
 * backoff, so a member that comes back learns what it missed.
 *
 * Longer than our ~400-line rule: the two-phase commit's inbound frames, commit and sweep share
 * one state (early confirmations, waiters, query backoff) and read best as one class.
 *
 * Trust: each statement is checked against the sender's identity key (the
 * peer id the directory lists); a certificate is only as good as every
 * holder's signature in it; a leaver deletes its share only when its own
 * authority (authority.ts) allows the committee the reshare moved to.
 */
import { type PartyIndex, Transcript } from "@mpc-relay/mpc";
import { fromHex, toHex, type Certificate, type CommitFrameBody, type FrameBody } from "../frames.ts";
import type { StatementSigner } from "../identity.ts";
import type { Generation, KeyRecord, KeyStore } from "../keystore.ts";
import type { Logger } from "../../shared/log.ts";
import type { KeyAuthority } from "./authority.ts";
import { uniqueSorted } from "./parties.ts";
import { backoffMs, type BackoffLimits } from "../../shared/backoff.ts";

/** The public facts a holder confirms. */
export interface SharingStatement {
  readonly keyId: string;
  readonly generation: string;
  readonly threshold: number;
  readonly parties: readonly PartyIndex[];
  readonly publicKey: string;
  readonly digest: string;
  /** Members the sharing covers that hold no share of it yet (a refresh went ahead without them). */
  readonly awaiting?: readonly PartyIndex[];
}

export type Settlement = "committed" | "deleted" | "dropped" | "pending";

/** Confirmations that arrive before this node holds the generation wait here (bounded). */
const EARLY_LIMIT = 1024;
const EARLY_TTL_MS = 10 * 60_000;
/** Uncommitted generations ask the missing holders again after this, doubling up to the maximum. */
const QUERY_BACKOFF: BackoffLimits = { firstMs: 2_000, maxMs: 120_000 };
/** Leaver markers a certificate may create per key: a member can't fill the store with invented generations. */
const MAX_MARKERS = 4;

export function confirmStatement(s: SharingStatement): Uint8Array {
  const t = new Transcript("generation-confirm")
    .absorb("key", s.keyId)
    .absorb("generation", s.generation)
    .absorb("threshold", s.threshold)
    .absorbList(
      "parties",
      [...s.parties].sort((a, b) => a - b),
    )
    .absorb("public-key", s.publicKey.toLowerCase())
    .absorb("digest", s.digest.toLowerCase());
  // Absorbed only when some are awaiting, so a whole committee's statements read as before.
  const awaiting = sortedAwaiting(s);
  if (awaiting.length > 0) t.absorbList("awaiting", awaiting);
  return t.digest();
}

function sortedAwaiting(s: Pick<SharingStatement, "awaiting">): PartyIndex[] {
  return uniqueSorted(s.awaiting ?? []);
}

export function nackStatement(keyId: string, generation: string): Uint8Array {
  return new Transcript("generation-nack").absorb("key", keyId).absorb("generation", generation).digest();
}

export class CommitTracker {
  /** Called after a key's generations changed (the presignature pool forgets the key). */
  onChange: (keyId: string) => void = () => {};
  /** A verified certificate names this node awaiting recovery of its share (operations/recover.ts). */
  onAwaiting: (certificate: Certificate) => void = () => {};
  private readonly early = new Map<string, { from: PartyIndex; body: Extract<CommitFrameBody, { kind: "confirm" }>; at: number }[]>();
  private readonly waiters = new Map<string, ((settled: Settlement) => void)[]>();
  /** Per slot (a pending generation's query, an awaiting member's reminder): when it is next due and how often it was sent. */
  private readonly nextQuery = new Map<string, { at: number; sent: number }>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly self: PartyIndex,
    private readonly store: KeyStore,
    private readonly statements: StatementSigner,
    private readonly send: (to: PartyIndex, body: FrameBody) => void,
    private readonly authority: KeyAuthority,
    private readonly log: Logger,
    private readonly sweepMs = 5_000,
  ) {}

  start(): void {
    void this.askPeers();
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.sweepMs);
    this.timer.unref();
  }

  /** Stops the sweep and turns away frames that arrive later (the store is about to close). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** A session gave this node a share of generation `statement.generation`: store it, then confirm it to the holders. */
  async hold(statement: SharingStatement, address: string, share: Uint8Array, origin: Generation["origin"], notify: readonly PartyIndex[]): Promise<void> {
    const { keyId, generation } = statement;
    await this.store.holdGeneration(
      keyId,
      generation,
      generation,
      {
        threshold: statement.threshold,
        participants: [...statement.parties],
        publicKey: statement.publicKey,
        address,
        digest: statement.digest,
        origin,
        notify: [...notify],
        ...awaitingFact(statement),
      },
      share,
    );
    // Durable before the confirmation leaves: a holder that confirmed always has the share.
    const signature = toHex(await this.statements.sign(confirmStatement(statement)));
    await this.store.addConfirmation(keyId, generation, this.self, signature);
    for (const party of statement.parties) {
      if (party !== this.self) this.send(party, { kind: "confirm", ...statementFields(statement), signature });
    }
    await this.applyEarly(keyId, generation);
    await this.tryCommit(keyId, generation);
  }

  /** A dealer that is not in the new committee: it holds no share of the generation, and deletes its old one when it commits. */
  async leave(keyId: string, generation: string, threshold: number, parties: readonly PartyIndex[]): Promise<void> {
    await this.store.holdGeneration(keyId, generation, generation, { threshold, participants: [...parties], publicKey: null, address: null, digest: null, origin: "reshare", notify: [] }, null);
    await this.applyEarly(keyId, generation);
    await this.tryCommit(keyId, generation);
  }

  /**
   * A recovered share of a certified generation this node awaited (operations/recover.ts): stored with the
   * holders' confirmations and committed at once, which deletes this node's older sharing.
   */
  async holdRecovered(certificate: Certificate, address: string, share: Uint8Array): Promise<void> {
    const { keyId, generation } = certificate;
    if (!sortedAwaiting(certificate).includes(this.self) || !(await this.verifyCertificate(certificate)))
      throw new Error(`no valid certificate naming party ${this.self} awaiting generation ${generation}`);
    await this.store.holdGeneration(
      keyId,
      generation,
      generation,
      {
        threshold: certificate.threshold,
        participants: certificate.parties,
        publicKey: certificate.publicKey,
        address,
        digest: certificate.digest,
        origin: "refresh",
        notify: [],
        ...awaitingFact(certificate),
      },
      share,
    );
    for (const { party, signature } of certificate.confirmations) await this.store.addConfirmation(keyId, generation, party, signature);
    await this.tryCommit(keyId, generation);
  }

  /** Tells a keyGen's participants that this node will never hold generation `generation` (its keyGen failed here). */
  async nack(keyId: string, generation: string, parties: readonly PartyIndex[]): Promise<void> {
    const signature = toHex(await this.statements.sign(nackStatement(keyId, generation)));
    for (const party of parties) if (party !== this.self) this.send(party, { kind: "nack", keyId, generation, signature });
  }

  handle(from: PartyIndex, body: CommitFrameBody): void {
    if (this.stopped) return;
    const work =
      body.kind === "confirm"
        ? this.onConfirm(from, body)
        : body.kind === "certificate"
          ? this.onCertificate(body.certificate)
          : body.kind === "nack"
            ? this.onNack(from, body)
            : this.onQuery(from, body);
    void work.catch((error: unknown) => this.log.warn("commit frame failed", { from, kind: body.kind, error: String(error) }));
  }

  /** Resolves when the generation committed or was dropped here, or the key was deleted; "pending" after `ms`. */
  async waitSettled(keyId: string, generation: string, ms: number): Promise<Settlement> {
    const now = await this.settlement(keyId, generation);
    if (now !== "pending") return now;
    return new Promise((resolve) => {
      const key = `${keyId}/${generation}`;
      const timer = setTimeout(() => resolve("pending"), ms);
      timer.unref();
      const list = this.waiters.get(key) ?? [];
      list.push((settled) => {
        clearTimeout(timer);
        resolve(settled);
      });
      this.waiters.set(key, list);
    });
  }

  /** The certificate of a committed generation this node holds. */
  certificate(key: KeyRecord, generation: Generation): Certificate | null {
    if (!generation.committed || generation.publicKey === null || generation.digest === null) return null;
    return {
      keyId: key.keyId,
      generation: generation.id,
      threshold: generation.threshold,
      parties: generation.participants,
      publicKey: generation.publicKey,
      digest: generation.digest,
      confirmations: generation.participants.map((party) => ({ party, signature: generation.confirmations[String(party)]! })),
      ...awaitingFact(generation),
    };
  }

  // ---- inbound ----

  private async onConfirm(from: PartyIndex, body: Extract<CommitFrameBody, { kind: "confirm" }>): Promise<void> {
    if (!body.parties.includes(from)) return this.ignore("confirmation from a non-holder", { from, keyId: body.keyId });
    const key = await this.store.getKey(body.keyId);
    const generation = key?.generations.find((g) => g.id === body.generation);
    if (key === null || generation === undefined) return this.keepEarly(from, body);
    if (!matches(key, generation, body)) return this.ignore("confirmation of other facts than this node holds", { from, keyId: body.keyId, generation: body.generation });
    if (!(await this.statements.verify(from, confirmStatement(body), fromHex(body.signature)))) return this.ignore("confirmation with a bad signature", { from, keyId: body.keyId });
    await this.store.addConfirmation(body.keyId, body.generation, from, body.signature);
    await this.tryCommit(body.keyId, body.generation);
  }

  private async onCertificate(certificate: Certificate): Promise<void> {
    const { keyId } = certificate;
    const key = await this.store.getKey(keyId);
    if (key === null) return;
    let generation = key.generations.find((g) => g.id === certificate.generation);
    // Committed here already: it holds every confirmation, so the certificate can teach nothing. Skipping the
    // n signature checks matters: every holder sends one to every other, n^2 certificates after each commit.
    if (generation?.committed === true) return;
    if (generation === undefined && sortedAwaiting(certificate).includes(this.self)) {
      // A refresh went ahead without this node: keep the old share, and recover a share of this one.
      if (key.publicKey?.toLowerCase() !== certificate.publicKey.toLowerCase() || certificate.parties.includes(this.self))
        return this.ignore("certificate naming this node awaiting another key", { keyId });
      if (!(await this.verifyCertificate(certificate))) return this.ignore("certificate with a bad signature", { keyId, generation: certificate.generation });
      return this.onAwaiting(certificate);
    }
    if (generation === undefined) {
      // A reshare that left this node out without it dealing: keep a marker; the authority decides when the share goes.
      if (certificate.parties.includes(this.self) || key.publicKey?.toLowerCase() !== certificate.publicKey.toLowerCase())
        return this.ignore("certificate for a generation this node can't hold", { keyId });
      if (key.generations.filter((g) => !g.holder).length >= MAX_MARKERS) return this.ignore("too many leaver markers", { keyId });
      if (!(await this.verifyCertificate(certificate))) return this.ignore("certificate with a bad signature", { keyId, generation: certificate.generation });
      generation = await this.store.holdGeneration(
        keyId,
        certificate.generation,
        certificate.generation,
        { threshold: certificate.threshold, participants: certificate.parties, publicKey: null, address: null, digest: null, origin: "reshare", notify: [] },
        null,
      );
    } else if (!matches(key, generation, { ...certificate, parties: certificate.parties }) || !(await this.verifyCertificate(certificate))) {
      return this.ignore("certificate that does not prove this generation", { keyId, generation: certificate.generation });
    }
    for (const { party, signature } of certificate.confirmations) {
      if (generation.confirmations[String(party)] === undefined) await this.store.addConfirmation(keyId, certificate.generation, party, signature);
    }
    await this.tryCommit(keyId, certificate.generation);
  }

  private async onNack(from: PartyIndex, body: Extract<CommitFrameBody, { kind: "nack" }>): Promise<void> {
    const key = await this.store.getKey(body.keyId);
    const generation = key?.generations.find((g) => g.id === body.generation);
    if (generation === undefined || generation.committed || !generation.participants.includes(from)) return;
    // Only a keyGen's generation: dropping a refresh's or reshare's could leave holders without a common sharing.
    if (generation.origin !== "keygen") return this.ignore("nack of a generation that replaces another", { from, keyId: body.keyId });
    if (!(await this.statements.verify(from, nackStatement(body.keyId, body.generation), fromHex(body.signature)))) return this.ignore("nack with a bad signature", { from });
    if (await this.store.dropGeneration(body.keyId, body.generation, `party ${from} will never hold this keyGen's share`)) {
      this.log.warn("keyGen generation dropped: a party's keyGen failed", { keyId: body.keyId, generation: body.generation, party: from });
      this.settled(body.keyId, body.generation, "dropped");
    }
  }

  private async onQuery(from: PartyIndex, body: Extract<CommitFrameBody, { kind: "commitQuery" }>): Promise<void> {
    const key = await this.store.getKey(body.keyId);
    const generation = key?.generations.find((g) => g.id === body.generation);
    if (key === null) return;
    // A member asks about a sharing a refresh replaced without it: the certificate tells it what to recover.
    const awaited = key.generations.find((g) => g.committed && g.holder && g.id !== body.generation && (g.awaiting ?? []).includes(from));
    const awaitedCertificate = awaited === undefined ? null : this.certificate(key, awaited);
    if (awaitedCertificate !== null) return this.send(from, { kind: "certificate", certificate: awaitedCertificate });
    if (generation?.holder === true) {
      const certificate = this.certificate(key, generation);
      if (certificate !== null) return this.send(from, { kind: "certificate", certificate });
      const own = generation.confirmations[String(this.self)];
      if (own !== undefined && generation.publicKey !== null && generation.digest !== null) {
        this.send(from, { kind: "confirm", ...statementFields(toStatement(key.keyId, generation)), signature: own });
      }
      return;
    }
    if (generation === undefined && key.status === "ERROR" && key.sessionId === body.generation) await this.nack(key.keyId, body.generation, [from]);
  }

  // ---- commit ----

  private async tryCommit(keyId: string, id: string): Promise<void> {
    const key = await this.store.getKey(keyId);
    const generation = key?.generations.find((g) => g.id === id);
    if (key === null || generation === undefined || generation.committed) return;
    if (!generation.participants.every((p) => generation.confirmations[String(p)] !== undefined)) return;
    if (!generation.holder && !(await this.authority.mayRetire(key, { newParties: generation.participants, newThreshold: generation.threshold }))) {
      this.log.info("reshare committed; this node's share stays until its authority allows deleting it", { keyId, generation: id });
      return;
    }
    const informed = [...new Set([...generation.participants, ...generation.notify, ...key.generations.filter((g) => g.seq < generation.seq).flatMap((g) => g.participants)])];
    const outcome = await this.store.commitGeneration(keyId, id);
    if (outcome === null) return;
    this.nextQuery.delete(`${keyId}/${id}`);
    if (outcome.keyDeleted) {
      this.log.info("left the key's committee: share deleted after every new holder confirmed", { keyId, generation: id });
      this.onChange(keyId);
      return this.settled(keyId, id, "deleted");
    }
    this.log.info("generation committed", { keyId, generation: id, deleted: outcome.deleted });
    this.onChange(keyId);
    this.settled(keyId, id, "committed");
    const committed = (await this.store.getKey(keyId))?.generations.find((g) => g.id === id);
    const certificate = committed === undefined || key === null ? null : this.certificate(key, committed);
    if (certificate !== null) for (const party of informed) if (party !== this.self) this.send(party, { kind: "certificate", certificate });
  }

  /** Whether every holder named in the certificate signed its facts. */
  verifies(certificate: Certificate): Promise<boolean> {
    return this.verifyCertificate(certificate);
  }

  private async verifyCertificate(certificate: Certificate): Promise<boolean> {
    const parties = [...new Set(certificate.parties)];
    if (parties.length !== certificate.parties.length || certificate.confirmations.length !== parties.length) return false;
    const statement = confirmStatement(certificate);
    for (const party of parties) {
      const entry = certificate.confirmations.find((c) => c.party === party);
      if (entry === undefined || !(await this.statements.verify(party, statement, fromHex(entry.signature)))) return false;
    }
    return true;
  }

  // ---- housekeeping ----

  /** Asks missing holders again (with backoff) and re-checks leavers whose certificate is complete. */
  private async sweep(): Promise<void> {
    try {
      const now = Date.now();
      for (const [key, list] of this.early) {
        const fresh = list.filter((entry) => now - entry.at < EARLY_TTL_MS);
        if (fresh.length === 0) this.early.delete(key);
        else this.early.set(key, fresh);
      }
      const visited = new Set<string>();
      for (const key of await this.store.listKeys()) {
        for (const generation of key.generations) {
          if (generation.committed) {
            this.remindAwaiting(key, generation, now, visited);
            continue;
          }
          const missing = generation.participants.filter((p) => generation.confirmations[String(p)] === undefined);
          if (missing.length === 0) {
            await this.tryCommit(key.keyId, generation.id);
            continue;
          }
          if (!this.turn(`${key.keyId}/${generation.id}`, now, generation.createdAt + QUERY_BACKOFF.firstMs, visited)) continue;
          for (const party of missing) if (party !== this.self) this.send(party, { kind: "commitQuery", keyId: key.keyId, generation: generation.id });
        }
      }
      // Slots of generations gone, or whose awaiting members all recovered, are forgotten.
      for (const slot of this.nextQuery.keys()) if (!visited.has(slot)) this.nextQuery.delete(slot);
    } catch (error) {
      this.log.warn("commit sweep failed", { error: String(error) });
    }
  }

  /** At start: asks the other members about each key's signing generation, so a member back from a crash learns what it missed. */
  private async askPeers(): Promise<void> {
    try {
      for (const key of await this.store.listKeys()) {
        if (key.status !== "READY" || key.generation === null) continue;
        for (const party of key.participants) if (party !== this.self) this.send(party, { kind: "commitQuery", keyId: key.keyId, generation: key.generation });
      }
    } catch (error) {
      this.log.warn("asking the members about this node's sharings failed", { error: String(error) });
    }
  }

  /** Sends an awaiting member the certificate again (backoff): a member that was down learns it has a share to recover. */
  private remindAwaiting(key: KeyRecord, generation: Generation, now: number, visited: Set<string>): void {
    const awaiting = sortedAwaiting(generation);
    if (awaiting.length === 0 || !generation.holder) return;
    if (!this.turn(`await/${key.keyId}/${generation.id}`, now, now, visited)) return;
    const certificate = this.certificate(key, generation);
    if (certificate !== null) for (const party of awaiting) if (party !== this.self) this.send(party, { kind: "certificate", certificate });
  }

  /** Whether `slot` is due now (a new slot first at `firstAt`); if so, its next turn comes after twice the last wait. */
  private turn(slot: string, now: number, firstAt: number, visited: Set<string>): boolean {
    visited.add(slot);
    const due = this.nextQuery.get(slot) ?? { at: firstAt, sent: 0 };
    if (due.at > now) {
      this.nextQuery.set(slot, due);
      return false;
    }
    const sent = due.sent + 1;
    this.nextQuery.set(slot, { at: now + backoffMs(sent + 1, QUERY_BACKOFF), sent });
    return true;
  }

  private keepEarly(from: PartyIndex, body: Extract<CommitFrameBody, { kind: "confirm" }>): void {
    const size = [...this.early.values()].reduce((n, list) => n + list.length, 0);
    if (size >= EARLY_LIMIT) return this.ignore("early confirmation dropped: buffer full", { from, keyId: body.keyId });
    const key = `${body.keyId}/${body.generation}`;
    const list = this.early.get(key) ?? [];
    if (!list.some((entry) => entry.from === from)) list.push({ from, body, at: Date.now() });
    this.early.set(key, list);
  }

  private async applyEarly(keyId: string, generation: string): Promise<void> {
    const list = this.early.get(`${keyId}/${generation}`) ?? [];
    this.early.delete(`${keyId}/${generation}`);
    for (const { from, body } of list) await this.onConfirm(from, body);
  }

  private async settlement(keyId: string, id: string): Promise<Settlement> {
    const key = await this.store.getKey(keyId);
    if (key === null) return "deleted";
    const generation = key.generations.find((g) => g.id === id);
    if (generation?.committed === true) return "committed";
    if (generation === undefined) return key.generations.length === 0 && key.status === "ERROR" ? "dropped" : "committed";
    return "pending";
  }

  private settled(keyId: string, id: string, settled: Settlement): void {
    const key = `${keyId}/${id}`;
    for (const wake of this.waiters.get(key) ?? []) wake(settled);
    this.waiters.delete(key);
  }

  private ignore(reason: string, fields: Record<string, unknown>): void {
    this.log.warn(`ignored: ${reason}`, fields);
  }
}

function toStatement(keyId: string, generation: Generation): SharingStatement {
  return {
    keyId,
    generation: generation.id,
    threshold: generation.threshold,
    parties: generation.participants,
    publicKey: generation.publicKey ?? "",
    digest: generation.digest ?? "",
    ...awaitingFact(generation),
  };
}

function statementFields(s: SharingStatement): Omit<Extract<CommitFrameBody, { kind: "confirm" }>, "kind" | "signature"> {
  return { keyId: s.keyId, generation: s.generation, threshold: s.threshold, parties: [...s.parties], publicKey: s.publicKey, digest: s.digest, ...awaitingFact(s) };
}

/** `awaiting` as records and frames carry it: only when some are. */
function awaitingFact(s: Pick<SharingStatement, "awaiting">): { awaiting?: PartyIndex[] } {
  const awaiting = sortedAwaiting(s);
  return awaiting.length === 0 ? {} : { awaiting };
}

/** Does a statement describe the generation as this node knows it? A leaver knows the new committee and the key's public key only. */
function matches(key: KeyRecord, generation: Generation, s: Pick<SharingStatement, "threshold" | "parties" | "publicKey" | "digest" | "awaiting">): boolean {
  const parties = [...s.parties].sort((a, b) => a - b);
  if (s.threshold !== generation.threshold || parties.length !== generation.participants.length || parties.some((p, i) => p !== generation.participants[i])) return false;
  if (sortedAwaiting(s).join(",") !== sortedAwaiting(generation).join(",")) return false;
  if (!generation.holder) return key.publicKey !== null && key.publicKey.toLowerCase() === s.publicKey.toLowerCase();
  return generation.publicKey?.toLowerCase() === s.publicKey.toLowerCase() && generation.digest?.toLowerCase() === s.digest.toLowerCase();
}
