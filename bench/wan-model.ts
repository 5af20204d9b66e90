/**
 * Round trips per node operation: what the session flow predicts and what a
 * latency sweep measures.
 *
 * Prediction. A session (relayer/node/session/engine.ts) sends prepare
 * (coordinator to candidates), ready (back) and start (to the participants)
 * before any peer can send a protocol message: the joint session id needs
 * every participant's nonce. Full signing names its signers in prepare and
 * skips start (session/direct.ts): each signer starts once every signer's
 * ready reached it. Then the protocol runs its own depth of one-way
 * delays (protocol-depth.ts, read off @mpc-relay/mpc). A keyGen ends when every
 * holder's confirmation reached the coordinator (commit.ts), a pooled presign
 * when every signer's `done` did; a signature ends with the coordinator's own
 * last round. Two one-way delays are one round trip.
 *
 * Measurement. Latency grows linearly with the RTT when compute does not
 * depend on it: the least-squares slope of p50 latency against RTT is the
 * number of round trips, its intercept the compute (and loopback) time.
 */
import type { ProtocolDepths } from "./protocol-depth.ts";

/** prepare, ready, start. */
export const SESSION_SETUP_HOPS = 3;
/** prepare, then readies between the named signers (direct start). */
const DIRECT_SETUP_HOPS = 2;
/** A confirmation or `done` from each participant back to the coordinator. */
const REPORT_BACK_HOPS = 1;

export type OperationName = "keygen" | "sign" | "presigned" | "presign";

export function expectedRoundTrips(depths: ProtocolDepths): Record<OperationName, number> {
  const rtts = (hops: number) => hops / 2;
  return {
    keygen: rtts(SESSION_SETUP_HOPS + depths.keygen + REPORT_BACK_HOPS),
    sign: rtts(DIRECT_SETUP_HOPS + depths.sign),
    presigned: rtts(SESSION_SETUP_HOPS + depths.online),
    presign: rtts(SESSION_SETUP_HOPS + depths.presign + REPORT_BACK_HOPS),
  };
}

/** Least squares of y against x: slope and intercept; null with fewer than two distinct x. */
export function linearFit(points: readonly { x: number; y: number }[]): { slope: number; intercept: number } | null {
  const n = points.length;
  const meanX = points.reduce((s, p) => s + p.x, 0) / n;
  const meanY = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - meanX) ** 2, 0);
  if (n < 2 || sxx === 0) return null;
  const slope = points.reduce((s, p) => s + (p.x - meanX) * (p.y - meanY), 0) / sxx;
  return { slope, intercept: meanY - slope * meanX };
}
