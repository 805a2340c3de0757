import { Subscription, type SchedulerAction, type SchedulerLike } from "rxjs"
import { Priority, type Clock, type TimerHandle } from "../core/clock.js"
import type { Ns } from "../core/units.js"

/**
 * An RxJS `SchedulerLike` over the injected `Clock`, so time-based operators (`delay`,
 * `bufferTime`, the batching operators here) run unchanged in virtual or wall time. Its unit is
 * the clock's: **integer nanoseconds** (`delay(5_000, s)` waits 5 µs; fractions are rounded).
 * Unlike RxJS's `VirtualTimeScheduler` it adds no queue of its own: every action is one entry in
 * the clock's heap, so nothing is sorted per insert.
 * @example
 * const s = clockScheduler(clock)
 * of(1).pipe(delay(1_000, s)).subscribe(v => log(clock.now())) // 1000
 */
export const clockScheduler = (clock: Clock, priority: number = Priority.stream): SchedulerLike => ({
  now: () => clock.now(),
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new ClockAction<T>(clock, priority, work).schedule(state, delay)
  },
})

/** One scheduled piece of work; rescheduling replaces its pending clock entry (RxJS `AsyncAction` semantics). */
class ClockAction<T> extends Subscription implements SchedulerAction<T> {
  private handle: TimerHandle | undefined
  private state: T | undefined

  constructor(
    private readonly clock: Clock,
    private readonly priority: number,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super()
    this.add(() => this.clearPending())
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this
    this.state = state
    this.clearPending()
    const at = this.clock.now() + Math.max(0, Math.round(delay))
    this.handle = this.clock.schedule(at as Ns, () => this.execute(), this.priority)
    return this
  }

  private execute(): void {
    this.handle = undefined
    if (this.closed) return
    this.work.call(this, this.state)
  }

  private clearPending(): void {
    if (this.handle !== undefined) {
      this.clock.cancel(this.handle)
      this.handle = undefined
    }
  }
}
