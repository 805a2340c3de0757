import type { Ns } from "./units.js"

/**
 * The one source of time for actors and streams. Sim mode provides a virtual discrete-event clock
 * (integer ns, ordered by `(at, priority, seq)`); live mode provides a wall-clock one.
 * Nothing else may read real time.
 * @example const h = clock.schedule(clock.now() + 1000, () => console.log("1 µs later"))
 */
export interface Clock {
  /** Current time in integer ns since the run started. */
  now(): Ns
  /**
   * Runs `fn` at absolute time `at` (≥ now). Lower `priority` runs first among equal times;
   * ties then break by insertion order. Returns a handle for `cancel`.
   */
  schedule(at: Ns, fn: () => void, priority?: number): TimerHandle
  /**
   * `schedule` again into `handle`, an entry this clock returned whose callback has run: the same
   * order (a new seq) and the same event as a `schedule`, without a new entry. Hot paths that keep
   * one record per piece of work in flight (the priced executor's completions, millions in a long
   * replay) schedule through it. Throws while the entry is still queued (pending, or cancelled and
   * not yet dropped). Returns `handle`.
   */
  reschedule(handle: TimerHandle, at: Ns, fn: () => void, priority?: number): TimerHandle
  /** Cancels a pending callback; a no-op if it already ran. */
  cancel(handle: TimerHandle): void
}

/** Opaque handle of a scheduled callback. */
export interface TimerHandle {
  readonly id: number
}

/** Priorities used by the graph (lower runs first at the same instant). */
export const Priority = {
  /** Completion of GPU work frees resources before new work is admitted. */
  completion: 0,
  /** Request arrivals. */
  arrival: 10,
  /** Batch formation and dispatch decisions see everything that happened at this instant. */
  dispatch: 20,
  /** Stream operators scheduled through the RxJS scheduler adapter. */
  stream: 30,
} as const
