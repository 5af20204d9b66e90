/**
 * DKLs23 two-party multiplication (random vector OLE) on top of the pairwise
 * OT setup (verified simplest base OT + KOS OT extension, relayer/mpc/ot/).
 *
 * Roles per ordered pair: "alice" is the multiplication sender (inputs MUL_ELL
 * scalars; OT-extension sender = base-OT receiver), "bob" the multiplication
 * receiver (gets a random scalar chi; OT-extension receiver = base-OT sender).
 *
 * API skeleton: bodies are being implemented.
 */
import type { RandomBytes } from "./types.ts";

export const MUL_ELL = 2;

export type MulRole = "alice" | "bob";

/** Alice's long-term pairwise state (secret): base-OT choice bits and the seeds she received. */
export interface AliceSetup {
  readonly sid: Uint8Array;
  /** 32 bytes: the 256 base-OT choice bits (KOS Delta). */
  readonly delta: Uint8Array;
  /** 256 x 32 bytes: seed k_{delta_i, i} for each base OT i. */
  readonly seeds: Uint8Array;
}

/** Bob's long-term pairwise state (secret): both seeds of each base OT. */
export interface BobSetup {
  readonly sid: Uint8Array;
  /** 256 x 32 bytes each. */
  readonly seeds0: Uint8Array;
  readonly seeds1: Uint8Array;
}

/** Bob's state between mulBobStart and mulBobFinish (opaque to callers). */
export interface BobMulState {
  readonly sid: Uint8Array;
}

export interface MulSetupParty {
  readonly role: MulRole;
  readonly done: boolean;
  /** First flow if this role moves first (bob), else null. */
  start(): Uint8Array | null;
  /** Next flow to send, or null if none; throws MulSetupError on a failed check. */
  receive(flow: Uint8Array): Uint8Array | null;
  result(): AliceSetup | BobSetup;
}

/** Flows of the pairwise setup, alternating bob -> alice -> bob -> alice -> bob. */
export const MUL_SETUP_FLOWS = 5;

export class MulSetupError extends Error {
  constructor(reason: string) {
    super(`multiplication setup failed: ${reason}`);
    this.name = "MulSetupError";
  }
}

export class OtExtensionCheckError extends Error {
  constructor(reason: string) {
    super(`OT extension check failed: ${reason}`);
    this.name = "OtExtensionCheckError";
  }
}

export class MultiplicationCheckError extends Error {
  constructor(reason: string) {
    super(`multiplication check failed: ${reason}`);
    this.name = "MultiplicationCheckError";
  }
}

export function createMulSetup(_role: MulRole, _sid: Uint8Array, _rng: RandomBytes): MulSetupParty {
  throw new Error("pending");
}

export function encodeAliceSetup(_s: AliceSetup): Uint8Array {
  throw new Error("pending");
}
export function decodeAliceSetup(_b: Uint8Array): AliceSetup {
  throw new Error("pending");
}
export function encodeBobSetup(_s: BobSetup): Uint8Array {
  throw new Error("pending");
}
export function decodeBobSetup(_b: Uint8Array): BobSetup {
  throw new Error("pending");
}

/** Per multiplication, flow 1 (bob -> alice). */
export function mulBobStart(
  _setup: BobSetup,
  _sid: Uint8Array,
  _rng: RandomBytes,
): { state: BobMulState; message: Uint8Array; chi: bigint } {
  throw new Error("pending");
}

/** Flow 2 (alice -> bob). Invariant: aliceShares[k] + bobShares[k] == inputs[k] * chi (mod q). */
export function mulAliceRespond(
  _setup: AliceSetup,
  _sid: Uint8Array,
  _inputs: readonly bigint[],
  _message: Uint8Array,
  _rng: RandomBytes,
): { shares: bigint[]; message: Uint8Array } {
  throw new Error("pending");
}

export function mulBobFinish(_state: BobMulState, _message: Uint8Array): { shares: bigint[] } {
  throw new Error("pending");
}
