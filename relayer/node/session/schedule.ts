/**
 * The refresh schedule every member computes on its own (issue 14): wall-clock
 * slots of `periodMs` aligned to the Unix epoch, and for each slot an order of
 * coordinators, one per `graceMs` window: member (slot + window) mod n of the
 * key's sorted committee. No member decides when a key is refreshed or who
 * starts it, and a coordinator that crashes or stalls only costs one window.
 *
 * The one rule a participant applies to a scheduled refresh (`checkScheduled`):
 * its own clock places the proposal in the named slot, the proposer's window
 * has come, and the key got no new sharing since the slot began. So a member
 * can't refresh a key more than once per slot, nor ahead of the schedule.
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import { SessionError } from "./errors.ts";

export interface RefreshSchedule {
  /** Length of a slot; 0 turns scheduled refreshes off. */
  readonly periodMs: number;
  /** How long each coordinator in a slot's order has before the next one may start. */
  readonly graceMs: number;
}

/** Clocks of honest members may differ by up to this (capped at a tenth of the period). */
const MAX_SKEW_MS = 5_000;

function skewOf(schedule: RefreshSchedule): number {
  return Math.min(MAX_SKEW_MS, Math.floor(schedule.periodMs / 10));
}

export function slotAt(schedule: RefreshSchedule, now: number): number {
  return Math.floor(now / schedule.periodMs);
}

export function slotStart(schedule: RefreshSchedule, slot: number): number {
  return slot * schedule.periodMs;
}

/** The window of the slot `now` falls in (0 at the slot's start). */
export function windowAt(schedule: RefreshSchedule, slot: number, now: number): number {
  return Math.max(0, Math.floor((now - slotStart(schedule, slot)) / schedule.graceMs));
}

/** The member whose turn window `window` of `slot` is. */
export function coordinatorOf(committee: readonly PartyIndex[], slot: number, window: number): PartyIndex {
  const sorted = [...committee].sort((a, b) => a - b);
  return sorted[(slot + window) % sorted.length]!;
}

/** Whether the key's sharing is older than the slot (so the slot's refresh is still due). */
export function dueIn(schedule: RefreshSchedule, slot: number, newestSharingAt: number): boolean {
  return newestSharingAt < slotStart(schedule, slot);
}

/**
 * Participant side: throws unless this node's own clock says the proposer may
 * start the refresh of `slot` now. `newestSharingAt` is when this node got its
 * newest generation of the key.
 */
export function checkScheduled(schedule: RefreshSchedule | null, committee: readonly PartyIndex[], proposer: PartyIndex, slot: number, newestSharingAt: number, now: number): void {
  if (schedule === null || schedule.periodMs === 0) throw new SessionError("unauthorized", "this node refreshes on no schedule");
  const skew = skewOf(schedule);
  const start = slotStart(schedule, slot);
  if (now < start - skew || now >= start + schedule.periodMs + skew) throw new SessionError("conflict", `refresh slot ${slot} is not due by this node's clock (slot ${slotAt(schedule, now)})`);
  if (!dueIn(schedule, slot, newestSharingAt)) throw new SessionError("conflict", `the key already got a new sharing in slot ${slot}`);
  // The proposer's turn: any window up to the one this node's clock (plus skew) has reached.
  const reached = Math.min(committee.length - 1, windowAt(schedule, slot, now + skew));
  for (let window = 0; window <= reached; window++) if (coordinatorOf(committee, slot, window) === proposer) return;
  throw new SessionError("unauthorized", `party ${proposer} is not (yet) a coordinator of refresh slot ${slot}`);
}
