/**
 * Wall-clock time for what a machine stamps (history entries, tool status frames). A machine reads no clock of its
 * own (DESIGN rule 10): src hands it the system clock, a test XState's SimulatedClock (it has the same `now()`).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}
