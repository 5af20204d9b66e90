/**
 * Wire frames between signer nodes.
 *
 * A frame is a UTF-8 JSON object carried length-prefixed on a libp2p stream.
 * It is size-limited before parsing, then schema-validated (zod) before any
 * field is used. Every frame carries a version, a random frame id (replay
 * detection), a timestamp (bounded replay window), the claimed sender index
 * (checked against the authenticated peer) and the session id it belongs to.
 */
import { z } from "zod";
import { MAX_PARTY_INDEX, MIN_THRESHOLD } from "@mpc-relay/mpc";

/** 4: protocol frames carry the sender's joint session id; full signing may start without `start` (session/direct.ts). */
export const FRAME_VERSION = 4;
/** Upper bound for one frame; key generation's OT setup flows are the largest (tens of KiB). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));
const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/)
  .max(Math.ceil((MAX_FRAME_BYTES * 4) / 3));
export const partyIndexSchema = z.number().int().min(1).max(MAX_PARTY_INDEX);
export const keyIdSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "keyId: 1-128 chars of [A-Za-z0-9._:-]");
/** A threshold: at least MIN_THRESHOLD (packages/mpc/src/vss.ts), the one rule everywhere. */
export const thresholdSchema = z.number().int().min(MIN_THRESHOLD, `threshold must be at least ${MIN_THRESHOLD}`).max(MAX_PARTY_INDEX);
const partyList = z.array(partyIndexSchema).min(1).max(256);
const uint = z.string().regex(/^\d{1,20}$/);
const evmAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
/** A generation of a key's sharing: the joint session id of the session that made it. */
export const generationSchema = hex(32);
const ed25519Signature = hex(64);

export const operationSchema = z.enum(["keygen", "sign", "presign", "refresh", "reshare", "recover"]);
export type Operation = z.infer<typeof operationSchema>;

const generationFacts = {
  keyId: keyIdSchema,
  generation: generationSchema,
  threshold: thresholdSchema,
  parties: partyList,
  publicKey: hex(33),
  digest: hex(32),
  /** Members of the key's committee a refresh went ahead without: they hold no share of this generation until they recover one. */
  awaiting: z.array(partyIndexSchema).max(256).optional(),
};

/** Every holder's signed confirmation that it holds one generation (session/commit.ts). */
export const certificateSchema = z
  .object({
    ...generationFacts,
    confirmations: z
      .array(z.object({ party: partyIndexSchema, signature: ed25519Signature }).strict())
      .min(1)
      .max(256),
  })
  .strict();
export type Certificate = z.infer<typeof certificateSchema>;

/** Operation parameters sent in `prepare`. Signing requests are typed and validated by each node (validators.ts). */
export const prepareParamsSchema = z.discriminatedUnion("operation", [
  z.object({ operation: z.literal("keygen"), parties: partyList, threshold: thresholdSchema }).strict(),
  z
    .object({
      operation: z.literal("sign"),
      request: z.record(z.string(), z.unknown()),
      presignId: hex(32).nullable(),
      signers: partyList.nullable(),
    })
    .strict(),
  z.object({ operation: z.literal("presign") }).strict(),
  /**
   * `slot`: a scheduled refresh (session/schedule.ts); without it, an operator's refresh under `limits.minRefreshIntervalMs`.
   * `absent`: members a scheduled refresh goes ahead without (they recover later); `rejoin`: the recovered member this refresh brings back.
   */
  z
    .object({
      operation: z.literal("refresh"),
      slot: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      absent: partyList.optional(),
      rejoin: partyIndexSchema.optional(),
    })
    .strict(),
  /** The coordinator, named awaiting in the generation's certificate, regains its share from t holders (operations/recover.ts). */
  z.object({ operation: z.literal("recover"), certificate: certificateSchema }).strict(),
  z
    .object({
      operation: z.literal("reshare"),
      oldParties: partyList,
      newParties: partyList,
      newThreshold: thresholdSchema,
      publicKey: hex(33),
    })
    .strict(),
]);
export type PrepareParams = z.infer<typeof prepareParamsSchema>;

/** The public facts of one generation that its holders confirm (session/commit.ts). */

const bodySchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("prepare"),
      keyId: keyIdSchema,
      params: prepareParamsSchema,
      /** The generation (sharing) the operation runs on; null for keyGen. */
      generation: generationSchema.nullable(),
    })
    .strict(),
  /** Ready, with this participant's fresh contribution to the joint session id. */
  z.object({ kind: z.literal("ready"), nonce: hex(32) }).strict(),
  z.object({ kind: z.literal("refuse"), reason: z.string().max(500), code: z.string().max(40) }).strict(),
  z
    .object({
      kind: z.literal("start"),
      participants: partyList,
      /** Reshare only: the old parties that deal (t of them). */
      dealers: partyList.nullable(),
      /** Every participant's nonce from its `ready` (the coordinator's too): the joint session id is their hash. */
      nonces: z
        .array(z.object({ party: partyIndexSchema, nonce: hex(32) }).strict())
        .min(2)
        .max(256),
    })
    .strict(),
  z
    .object({
      kind: z.literal("protocol"),
      protocol: z.enum(["keygen", "presign", "sign", "refresh", "reshare", "recover"]),
      round: z.number().int().min(0).max(1000),
      to: partyIndexSchema.nullable(),
      /** The joint session id the sender runs under: a receiver under another id (the nonces it got differed) ends the session without blaming the sender. */
      sid: hex(32),
      payload: base64,
      /** Staking nodes: the sender's operator signature of the message (relayer/staking/message-signer.ts), else null. */
      sig: z
        .string()
        .regex(/^0x[0-9a-f]{130}$/)
        .nullable(),
    })
    .strict(),
  z
    .object({
      kind: z.literal("done"),
      ok: z.boolean(),
      detail: z.string().max(500),
      /**
       * Direct start (session/direct.ts): the named signers the sender could not run with, a ready that
       * never reached it or another joint session id. The coordinator records neither side absent.
       */
      disputed: z.array(partyIndexSchema).max(256).optional(),
    })
    .strict(),
  /**
   * After an echo showed that parties saw different broadcasts: the signed broadcasts this node
   * received in the session, so that the others can find the sender of two versions.
   */
  z
    .object({
      kind: z.literal("broadcasts"),
      messages: z
        .array(
          z
            .object({
              protocol: z.enum(["keygen", "presign", "sign", "refresh", "reshare", "recover"]),
              round: z.number().int().min(1).max(1000),
              from: partyIndexSchema,
              payload: base64,
              sig: z.string().regex(/^0x[0-9a-f]{130}$/),
            })
            .strict(),
        )
        .max(4096),
    })
    .strict(),
  z.object({ kind: z.literal("abort"), reason: z.string().max(500) }).strict(),
  /** A holder's signed confirmation that it holds this generation (session/commit.ts). */
  z.object({ kind: z.literal("confirm"), ...generationFacts, signature: ed25519Signature }).strict(),
  /** Every holder's confirmation of a generation: whoever holds it commits it. */
  z.object({ kind: z.literal("certificate"), certificate: certificateSchema }).strict(),
  /** A keyGen participant's signed statement that it will never hold this generation (its keyGen failed). */
  z.object({ kind: z.literal("nack"), keyId: keyIdSchema, generation: generationSchema, signature: ed25519Signature }).strict(),
  /** Asks a holder how a generation stands: it answers with the certificate, its confirmation or its nack. */
  z.object({ kind: z.literal("commitQuery"), keyId: keyIdSchema, generation: generationSchema }).strict(),
  /** Staking (relayer/staking/absence.ts): an absence slash proposal. */
  z.object({
    kind: z.literal("absenceProposal"),
    proposal: z.object({ epoch: uint, node: evmAddress, fromBlock: uint, toBlock: uint }).strict(),
  }),
  /** Staking (relayer/staking/removal.ts): removal of a member whose own signed messages prove a protocol fault. */
  z.object({
    kind: z.literal("removalProposal"),
    proposal: z.object({ epoch: uint, node: evmAddress, evidenceHash: z.string().regex(/^0x[0-9a-f]{64}$/) }).strict(),
    fault: z.enum(["feldman-share", "commitment-opening", "equivocation"]),
    evidence: z
      .array(z.object({ message: base64, signature: z.string().regex(/^0x[0-9a-f]{130}$/) }).strict())
      .min(1)
      .max(8),
  }),
  /** A member's signature of a staking proposal's digest, or its refusal (relayer/staking/votes.ts). */
  z.object({
    kind: z.literal("vote"),
    digest: z.string().regex(/^0x[0-9a-f]{64}$/),
    signature: z
      .string()
      .regex(/^0x[0-9a-fA-F]{130}$/)
      .nullable(),
    reason: z.string().max(500),
  }),
]);

export const frameSchema = z
  .object({
    v: z.literal(FRAME_VERSION),
    id: hex(16),
    ts: z.number().int().nonnegative(),
    from: partyIndexSchema,
    sessionId: hex(32),
    body: bodySchema,
  })
  .strict();

export type Frame = z.infer<typeof frameSchema>;
export type FrameBody = Frame["body"];

/** Frames about generations of a key's sharing (session/commit.ts), outside any session. */
export type CommitFrameBody = Extract<FrameBody, { kind: "confirm" | "certificate" | "nack" | "commitQuery" }>;

export function isCommitFrame(body: FrameBody): body is CommitFrameBody {
  return body.kind === "confirm" || body.kind === "certificate" || body.kind === "nack" || body.kind === "commitQuery";
}

/** Frames the staking agent handles (relayer/staking), not the session manager. */
export type StakingFrameBody = Extract<FrameBody, { kind: "absenceProposal" | "removalProposal" | "vote" }>;

export function isStakingFrame(body: FrameBody): body is StakingFrameBody {
  return body.kind === "absenceProposal" || body.kind === "removalProposal" || body.kind === "vote";
}

export class FrameError extends Error {
  constructor(
    readonly reason: "oversized" | "malformed" | "schema",
    message: string,
  ) {
    super(message);
    this.name = "FrameError";
  }
}

export function encodeFrame(frame: Frame): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(frame));
  if (bytes.length > MAX_FRAME_BYTES) throw new FrameError("oversized", `frame of ${bytes.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  return bytes;
}

export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length > MAX_FRAME_BYTES) throw new FrameError("oversized", `frame of ${bytes.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new FrameError("malformed", "frame is not UTF-8 JSON");
  }
  const parsed = frameSchema.safeParse(json);
  if (!parsed.success) throw new FrameError("schema", `frame rejected: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
export const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "hex"));
export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
export const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "base64"));

/**
 * Drops frames seen before (same id from the same peer) and frames outside the
 * replay window, so a captured frame can't be replayed later.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns null when fresh, else why the frame must be dropped. */
  check(peer: number, frame: Frame): "replayed" | "stale" | null {
    const now = this.now();
    if (Math.abs(now - frame.ts) > this.windowMs) return "stale";
    const key = `${peer}/${frame.id}`;
    if (this.seen.has(key)) return "replayed";
    this.seen.set(key, now);
    if (this.seen.size > 50_000) this.prune(now);
    return null;
  }

  private prune(now: number): void {
    for (const [key, at] of this.seen) if (now - at > 2 * this.windowMs) this.seen.delete(key);
  }
}
