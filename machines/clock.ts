/**
 * Wall-clock time for what a machine stamps itself (the turn's tool status frames; history lines are stamped by
 * their writer). A machine reads no clock of its own (docs/decisions.md, 6): src hands it the system clock with the
 * session's setup, a test XState's SimulatedClock (it has the same `now()`).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}
