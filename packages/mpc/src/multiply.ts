/**
 * DKLs23 two-party multiplication: the OT-based random vector OLE of
 * ePrint 2023/765, Protocol 5.2 (pi_RVOLE), on top of the pairwise OT setup
 * (verified simplest base OT + KOS OT extension, packages/mpc/src/ot/).
 *
 * Roles per ordered pair: "alice" is the multiplication sender (inputs MUL_ELL
 * scalars; OT-extension sender = base-OT receiver), "bob" the multiplication
 * receiver (gets a random scalar chi; OT-extension receiver = base-OT sender).
 *
 * Per multiplication (2 flows):
 *   bob:   beta <- {0,1}^xi, chi = <g, beta>; OT-extension message for choices beta.
 *   alice: checks the OT extension (KOS); fresh nonce for the OT output hashes;
 *          pads a~ (MUL_ELL) and one check value a^ (rho = 1 since |q| >= kappa);
 *          correlated OT with correlation (a~, a^) gives c_j with c_j + d_j = beta_j * (a~, a^);
 *          theta = H(context, flow 1, nonce, tau) in Z_q^ELL;
 *          mu^ = a^ + <theta, a~>,  mu_j = c^_j + <theta, c~_j>, sends mu^, H(mu), gamma = a - a~;
 *          output <g, c~_k>.
 *   bob:   checks H(beta_j * mu^ - d^_j - <theta, d~_j>) == H(mu) (else MultiplicationCheckError);
 *          output <g, d~_k> + chi * gamma_k.
 * So alice_k + bob_k = <g, beta> a~_k + chi (a_k - a~_k) = a_k * chi.
 * Parameters: kappa = 256, statistical s = 80, xi = kappa + 2s = 416 OTs per
 * multiplication; the gadget g is (2^0 .. 2^255) followed by 2s public
 * hash-derived scalars, so chi is close to uniform even if alice learns up to
 * s choice bits through a selective failure (DKLs19 Section 5 / DKLs23 Section 5).
 * Every hash, PRG expansion and check is bound to the setup sid and the
 * per-use sid, so a setup can serve any number of signatures.
 *
 * Longer than our ~400-line rule: one protocol as one straight-line state machine, its rounds in
 * order, so a reviewer checks it against the paper top to bottom.
 */
import { CURVE_ORDER, randomScalar } from "./curve.ts";
import type { RandomBytes } from "./types.ts";
import { BASE_OT_COUNT, SEED_BYTES, VsotReceiver, VsotSender } from "./ot/base-ot.ts";
import { equalBytes } from "./ot/bits.ts";
import { MulSetupError, OtExtensionCheckError } from "./ot/errors.ts";
import { NONCE_BYTES, OTE_BATCH, OTE_MESSAGE_BYTES, correlateReceive, correlateSend, oteReceive, oteSend, readCanonicalScalar, receiverPads, scalarsFromBytes, writeScalar } from "./ot/extension.ts";
import { oracle, u32 } from "./ot/oracle.ts";

export { MulSetupError, OtExtensionCheckError } from "./ot/errors.ts";

export const MUL_ELL = 2;

export type MulRole = "alice" | "bob";

const SID_BYTES = 32;
const SCALAR_BYTES = 32;
const TAG_BYTES = 16;
/** Correlated-OT width: MUL_ELL pads plus one check value. */
const WIDTH = MUL_ELL + 1;

/** Alice's long-term pairwise state (secret): base-OT choice bits and the seeds she received. */
export interface AliceSetup {
  readonly sid: Uint8Array;
  /** 32 bytes: the 256 base-OT choice bits (KOS Delta), LSB-first. */
  readonly delta: Uint8Array;
  /** 256 x 32 bytes: seed k_{delta_i, i} of each base OT i. */
  readonly seeds: Uint8Array;
}

/** Bob's long-term pairwise state (secret): both seeds of each base OT. */
export interface BobSetup {
  readonly sid: Uint8Array;
  /** 256 x 32 bytes each. */
  readonly seeds0: Uint8Array;
  readonly seeds1: Uint8Array;
}

/** Bob's state between mulBobStart and mulBobFinish (opaque to callers; single use). */
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

export class MultiplicationCheckError extends Error {
  constructor(reason: string) {
    super(`multiplication check failed: ${reason}`);
    this.name = "MultiplicationCheckError";
  }
}

function requireSid(sid: Uint8Array, what: string): void {
  if (!(sid instanceof Uint8Array) || sid.length !== SID_BYTES) throw new RangeError(`${what} must be ${SID_BYTES} bytes`);
}

// ---------------------------------------------------------------- pairwise setup

function setupFlowTag(sid: Uint8Array, flow: number): Uint8Array {
  return oracle("mul/setup-flow", [sid, u32(flow)], TAG_BYTES);
}

class MulSetupMachine implements MulSetupParty {
  private nextFlow = 1; // number of the next flow to send or receive
  private failed = false;
  private output: AliceSetup | BobSetup | null = null;
  private readonly sender: VsotSender | null;
  private readonly receiver: VsotReceiver | null;
  private readonly delta: Uint8Array | null;

  constructor(
    readonly role: MulRole,
    private readonly sid: Uint8Array,
    rng: RandomBytes,
  ) {
    if (role === "bob") {
      this.sender = new VsotSender(sid, rng);
      this.receiver = null;
      this.delta = null;
    } else {
      this.delta = rng(BASE_OT_COUNT / 8).slice();
      this.receiver = new VsotReceiver(sid, this.delta, rng);
      this.sender = null;
    }
  }

  get done(): boolean {
    return this.output !== null;
  }

  start(): Uint8Array | null {
    if (this.role === "alice") return null;
    if (this.nextFlow !== 1 || this.failed) throw new MulSetupError("start() called twice");
    return this.emit(this.sender!.first());
  }

  receive(flow: Uint8Array): Uint8Array | null {
    if (this.failed) throw new MulSetupError("setup already aborted");
    if (this.done) throw new MulSetupError("setup already finished");
    const bobsTurnToReceive = this.nextFlow % 2 === 0;
    if ((this.role === "bob") !== bobsTurnToReceive) throw new MulSetupError(`unexpected flow (expecting to send flow ${this.nextFlow})`);
    try {
      if (!(flow instanceof Uint8Array) || flow.length < TAG_BYTES) throw new MulSetupError("flow too short");
      if (!equalBytes(flow.subarray(0, TAG_BYTES), setupFlowTag(this.sid, this.nextFlow))) {
        throw new MulSetupError(`flow ${this.nextFlow} is bound to another session, pair or step`);
      }
      const body = flow.subarray(TAG_BYTES);
      this.nextFlow++;
      return this.step(body);
    } catch (e) {
      this.failed = true;
      if (e instanceof MulSetupError) throw e;
      throw new MulSetupError((e as Error).message);
    }
  }

  private step(body: Uint8Array): Uint8Array | null {
    switch (this.nextFlow - 1) {
      case 1:
        return this.emit(this.receiver!.respond(body));
      case 2:
        return this.emit(this.sender!.challenge(body));
      case 3:
        return this.emit(this.receiver!.answer(body));
      case 4: {
        const { opening, output } = this.sender!.verify(body);
        const out = this.emit(opening);
        this.output = { sid: this.sid.slice(), seeds0: output.seeds0, seeds1: output.seeds1 };
        return out;
      }
      default: {
        const seeds = this.receiver!.finish(body);
        this.output = { sid: this.sid.slice(), delta: this.delta!, seeds };
        return null;
      }
    }
  }

  private emit(body: Uint8Array): Uint8Array {
    const out = new Uint8Array(TAG_BYTES + body.length);
    out.set(setupFlowTag(this.sid, this.nextFlow), 0);
    out.set(body, TAG_BYTES);
    this.nextFlow++;
    return out;
  }

  result(): AliceSetup | BobSetup {
    if (!this.output) throw new MulSetupError("setup not finished");
    return this.output;
  }
}

/** One party of the pairwise setup for the ordered pair bound to `sid` (32 bytes). */
export function createMulSetup(role: MulRole, sid: Uint8Array, rng: RandomBytes): MulSetupParty {
  requireSid(sid, "setup sid");
  if (role !== "alice" && role !== "bob") throw new RangeError(`unknown role ${String(role)}`);
  return new MulSetupMachine(role, sid.slice(), rng);
}

// ---------------------------------------------------------------- setup encodings

const SETUP_VERSION = 1;
const ALICE_MAGIC = 0x41;
const BOB_MAGIC = 0x42;
const SEEDS_BYTES = BASE_OT_COUNT * SEED_BYTES;
const ALICE_SETUP_BYTES = 2 + SID_BYTES + BASE_OT_COUNT / 8 + SEEDS_BYTES;
const BOB_SETUP_BYTES = 2 + SID_BYTES + 2 * SEEDS_BYTES;

function checkAliceSetup(s: AliceSetup): void {
  if (s.sid.length !== SID_BYTES || s.delta.length !== BASE_OT_COUNT / 8 || s.seeds.length !== SEEDS_BYTES) {
    throw new RangeError("malformed alice setup");
  }
}
function checkBobSetup(s: BobSetup): void {
  if (s.sid.length !== SID_BYTES || s.seeds0.length !== SEEDS_BYTES || s.seeds1.length !== SEEDS_BYTES) {
    throw new RangeError("malformed bob setup");
  }
}

export function encodeAliceSetup(s: AliceSetup): Uint8Array {
  checkAliceSetup(s);
  const out = new Uint8Array(ALICE_SETUP_BYTES);
  out[0] = SETUP_VERSION;
  out[1] = ALICE_MAGIC;
  out.set(s.sid, 2);
  out.set(s.delta, 2 + SID_BYTES);
  out.set(s.seeds, 2 + SID_BYTES + BASE_OT_COUNT / 8);
  return out;
}

export function decodeAliceSetup(b: Uint8Array): AliceSetup {
  decodeHeader(b, ALICE_MAGIC, ALICE_SETUP_BYTES, "alice");
  return {
    sid: b.slice(2, 2 + SID_BYTES),
    delta: b.slice(2 + SID_BYTES, 2 + SID_BYTES + BASE_OT_COUNT / 8),
    seeds: b.slice(2 + SID_BYTES + BASE_OT_COUNT / 8),
  };
}

export function encodeBobSetup(s: BobSetup): Uint8Array {
  checkBobSetup(s);
  const out = new Uint8Array(BOB_SETUP_BYTES);
  out[0] = SETUP_VERSION;
  out[1] = BOB_MAGIC;
  out.set(s.sid, 2);
  out.set(s.seeds0, 2 + SID_BYTES);
  out.set(s.seeds1, 2 + SID_BYTES + SEEDS_BYTES);
  return out;
}

export function decodeBobSetup(b: Uint8Array): BobSetup {
  decodeHeader(b, BOB_MAGIC, BOB_SETUP_BYTES, "bob");
  return {
    sid: b.slice(2, 2 + SID_BYTES),
    seeds0: b.slice(2 + SID_BYTES, 2 + SID_BYTES + SEEDS_BYTES),
    seeds1: b.slice(2 + SID_BYTES + SEEDS_BYTES),
  };
}

function decodeHeader(b: Uint8Array, magic: number, length: number, role: MulRole): void {
  if (!(b instanceof Uint8Array) || b.length !== length) {
    throw new RangeError(`${role} setup encoding must be ${length} bytes, got ${b?.length}`);
  }
  if (b[0] !== SETUP_VERSION) throw new RangeError(`unsupported ${role} setup version ${b[0]}`);
  if (b[1] !== magic) throw new RangeError(`setup encoding is not for role ${role}`);
}

// ---------------------------------------------------------------- multiplication

/** Public gadget vector: 2^j for j < 256, then 2s hash-derived scalars. */
const GADGET: readonly bigint[] = (() => {
  const g: bigint[] = [];
  for (let j = 0; j < BASE_OT_COUNT; j++) g.push((1n << BigInt(j)) % CURVE_ORDER);
  const tail: bigint[] = [];
  scalarsFromBytes(oracle("mul/gadget", [], (OTE_BATCH - BASE_OT_COUNT) * SCALAR_BYTES), tail);
  return [...g, ...tail];
})();

const CORRECTIONS_BYTES = OTE_BATCH * WIDTH * SCALAR_BYTES;
/** Bytes of bob's first multiplication message. */
export const MUL_BOB_MESSAGE_BYTES = TAG_BYTES + OTE_MESSAGE_BYTES;
/** Bytes of alice's reply: tag, nonce, tau, mu^, H(mu), gamma. */
export const MUL_ALICE_MESSAGE_BYTES = TAG_BYTES + NONCE_BYTES + CORRECTIONS_BYTES + SCALAR_BYTES + 32 + MUL_ELL * SCALAR_BYTES;
const CORRECTIONS_OFFSET = TAG_BYTES + NONCE_BYTES;

/** Canonical representative in [0, q) of any integer (the OT pads are summed unreduced). */
function reduce(x: bigint): bigint {
  const r = x % CURVE_ORDER;
  return r < 0n ? r + CURVE_ORDER : r;
}

function useContext(setupSid: Uint8Array, sid: Uint8Array): Uint8Array {
  return oracle("mul/context", [setupSid, sid]);
}
function flowTag(context: Uint8Array, flow: number): Uint8Array {
  return oracle("mul/flow", [context, u32(flow)], TAG_BYTES);
}
/** theta = H(context, bob's message, alice's nonce and corrections) in Z_q^ELL. */
function challengeTheta(context: Uint8Array, bobMessage: Uint8Array, nonceAndCorrections: Uint8Array): bigint[] {
  const theta: bigint[] = [];
  scalarsFromBytes(oracle("mul/theta", [context, bobMessage, nonceAndCorrections], MUL_ELL * SCALAR_BYTES), theta);
  return theta;
}
function muDigest(context: Uint8Array, mu: Uint8Array): Uint8Array {
  return oracle("mul/mu", [context, mu]);
}
interface BobMulStateInternal extends BobMulState {
  readonly context: Uint8Array;
  readonly choices: Uint8Array;
  readonly columns: Uint32Array;
  readonly chi: bigint;
  readonly message: Uint8Array;
  used: boolean;
}

/** Per multiplication, flow 1 (bob -> alice). `sid`: 32-byte per-use sub-session id. */
export function mulBobStart(setup: BobSetup, sid: Uint8Array, rng: RandomBytes): { state: BobMulState; message: Uint8Array; chi: bigint } {
  checkBobSetup(setup);
  requireSid(sid, "multiplication sid");
  const context = useContext(setup.sid, sid);
  const choices = rng(OTE_BATCH / 8).slice();
  let chi = 0n;
  for (let j = 0; j < OTE_BATCH; j++) chi += GADGET[j]! * BigInt((choices[j >> 3]! >> (j & 7)) & 1);
  chi %= CURVE_ORDER;
  const ote = oteReceive(setup.seeds0, setup.seeds1, context, choices, rng);
  const message = new Uint8Array(MUL_BOB_MESSAGE_BYTES);
  message.set(flowTag(context, 1), 0);
  message.set(ote.message, TAG_BYTES);
  const state: BobMulStateInternal = { sid: sid.slice(), context, choices, columns: ote.columns, chi, message: ote.message, used: false };
  return { state, message, chi };
}

/** Flow 2 (alice -> bob). Invariant: aliceShares[k] + bobShares[k] == inputs[k] * chi (mod q). */
export function mulAliceRespond(setup: AliceSetup, sid: Uint8Array, inputs: readonly bigint[], message: Uint8Array, rng: RandomBytes): { shares: bigint[]; message: Uint8Array } {
  checkAliceSetup(setup);
  requireSid(sid, "multiplication sid");
  if (inputs.length !== MUL_ELL) throw new RangeError(`expected ${MUL_ELL} inputs, got ${inputs.length}`);
  for (const a of inputs) {
    if (typeof a !== "bigint" || a < 0n || a >= CURVE_ORDER) throw new RangeError("inputs must be scalars in [0, q)");
  }
  const context = useContext(setup.sid, sid);
  if (!(message instanceof Uint8Array) || message.length !== MUL_BOB_MESSAGE_BYTES) {
    throw new OtExtensionCheckError(`bob's message must be ${MUL_BOB_MESSAGE_BYTES} bytes, got ${message?.length}`);
  }
  if (!equalBytes(message.subarray(0, TAG_BYTES), flowTag(context, 1))) {
    throw new OtExtensionCheckError("bob's message is bound to another session or pair");
  }
  const bobMessage = message.subarray(TAG_BYTES);
  const nonce = rng(NONCE_BYTES).slice();
  const pads = oteSend(setup.seeds, setup.delta, context, bobMessage, nonce, WIDTH);

  const padsA: bigint[] = [];
  for (let k = 0; k < MUL_ELL; k++) padsA.push(randomScalar(rng));
  const check = randomScalar(rng);
  const { shares: c, corrections } = correlateSend(pads, [...padsA, check]);

  const out = new Uint8Array(MUL_ALICE_MESSAGE_BYTES);
  const view = new DataView(out.buffer);
  out.set(flowTag(context, 2), 0);
  out.set(nonce, TAG_BYTES);
  out.set(corrections, CORRECTIONS_OFFSET);
  const theta = challengeTheta(context, bobMessage, out.subarray(TAG_BYTES, CORRECTIONS_OFFSET + CORRECTIONS_BYTES));
  let muHat = check;
  for (let k = 0; k < MUL_ELL; k++) muHat += theta[k]! * padsA[k]!;
  muHat %= CURVE_ORDER;
  const mu = new Uint8Array(OTE_BATCH * SCALAR_BYTES);
  const muView = new DataView(mu.buffer);
  for (let j = 0; j < OTE_BATCH; j++) {
    let v = c[j * WIDTH + MUL_ELL]!;
    for (let k = 0; k < MUL_ELL; k++) v += theta[k]! * c[j * WIDTH + k]!;
    writeScalar(muView, j * SCALAR_BYTES, reduce(v));
  }

  const shares: bigint[] = [];
  for (let k = 0; k < MUL_ELL; k++) {
    let acc = 0n;
    for (let j = 0; j < OTE_BATCH; j++) acc += GADGET[j]! * c[j * WIDTH + k]!;
    shares.push(reduce(acc));
  }

  let off = CORRECTIONS_OFFSET + CORRECTIONS_BYTES;
  writeScalar(view, off, muHat);
  off += SCALAR_BYTES;
  out.set(muDigest(context, mu), off);
  off += 32;
  for (let k = 0; k < MUL_ELL; k++) {
    let gamma = (inputs[k]! - padsA[k]!) % CURVE_ORDER;
    if (gamma < 0n) gamma += CURVE_ORDER;
    writeScalar(view, off + k * SCALAR_BYTES, gamma);
  }
  return { shares, message: out };
}

/** Flow 2 in: checks alice's correction values and returns bob's shares. Throws MultiplicationCheckError. */
export function mulBobFinish(state: BobMulState, message: Uint8Array): { shares: bigint[] } {
  const s = state as BobMulStateInternal;
  if (!(s.context instanceof Uint8Array) || !(s.columns instanceof Uint32Array)) throw new TypeError("not a state from mulBobStart");
  if (s.used) throw new Error("multiplication state already used");
  s.used = true;
  if (!(message instanceof Uint8Array) || message.length !== MUL_ALICE_MESSAGE_BYTES) {
    throw new MultiplicationCheckError(`alice's message must be ${MUL_ALICE_MESSAGE_BYTES} bytes, got ${message?.length}`);
  }
  if (!equalBytes(message.subarray(0, TAG_BYTES), flowTag(s.context, 2))) {
    throw new MultiplicationCheckError("alice's message is bound to another session or pair");
  }
  const view = new DataView(message.buffer, message.byteOffset, message.length);
  const taus: bigint[] = new Array<bigint>(OTE_BATCH * WIDTH);
  for (let n = 0; n < OTE_BATCH * WIDTH; n++) {
    const tau = readCanonicalScalar(view, CORRECTIONS_OFFSET + n * SCALAR_BYTES);
    if (tau === null) throw new MultiplicationCheckError(`correction value ${n} is not reduced mod q`);
    taus[n] = tau;
  }
  let off = CORRECTIONS_OFFSET + CORRECTIONS_BYTES;
  const muHat = readCanonicalScalar(view, off);
  if (muHat === null) throw new MultiplicationCheckError("check value is not reduced mod q");
  off += SCALAR_BYTES;
  const claimedDigest = message.subarray(off, off + 32);
  off += 32;
  const gammas: bigint[] = [];
  for (let k = 0; k < MUL_ELL; k++) {
    const g = readCanonicalScalar(view, off + k * SCALAR_BYTES);
    if (g === null) throw new MultiplicationCheckError(`adjustment ${k} is not reduced mod q`);
    gammas.push(g);
  }

  const pads = receiverPads(s.columns, s.context, message.subarray(TAG_BYTES, CORRECTIONS_OFFSET), WIDTH);
  const d = correlateReceive(pads, s.choices, taus, WIDTH);
  const theta = challengeTheta(s.context, s.message, message.subarray(TAG_BYTES, CORRECTIONS_OFFSET + CORRECTIONS_BYTES));
  const mu = new Uint8Array(OTE_BATCH * SCALAR_BYTES);
  const muView = new DataView(mu.buffer);
  for (let j = 0; j < OTE_BATCH; j++) {
    const bit = BigInt((s.choices[j >> 3]! >> (j & 7)) & 1);
    let v = bit * muHat - d[j * WIDTH + MUL_ELL]!;
    for (let k = 0; k < MUL_ELL; k++) v -= theta[k]! * d[j * WIDTH + k]!;
    writeScalar(muView, j * SCALAR_BYTES, reduce(v));
  }
  if (!equalBytes(muDigest(s.context, mu), claimedDigest)) {
    throw new MultiplicationCheckError("alice's correction values are inconsistent");
  }

  const shares: bigint[] = [];
  for (let k = 0; k < MUL_ELL; k++) {
    let acc = s.chi * gammas[k]!;
    for (let j = 0; j < OTE_BATCH; j++) acc += GADGET[j]! * d[j * WIDTH + k]!;
    shares.push(reduce(acc));
  }
  return { shares };
}
