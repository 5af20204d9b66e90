/** Party lists as the session layer compares them. */
import type { PartyIndex } from "@mpc-relay/mpc";

/** Distinct parties, ascending. */
export function uniqueSorted(parties: readonly PartyIndex[]): PartyIndex[] {
  return [...new Set(parties)].sort((a, b) => a - b);
}
