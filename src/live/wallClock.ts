import type { Clock, TimerHandle } from "../core/clock.js"
import { ClockLagExceeded } from "../core/errors.js"
import type { Ns } from "../core/units.js"
import { reuseTimerEntry, TimerHeap, type TimerEntry as Entry } from "../streams/timerHeap.js"
import { LagHistogram, type LagStats } from "./lagHistogram.js"

/** "12.3 ms", "5 ms": one decimal, none when it is zero. */
const ms = (ns: number): string => `${Number((ns / 1e6).toFixed(1))} ms`

// Node's timers fire ~0.1 ms after their (whole-ms) delay at best, so a timer is only worth arming
// for gaps above 1.5 ms, and then for 1 ms before the deadline; setImmediate (~3 µs a turn, and it
// lets I/O run in between) covers the rest. Measured in LIVE.md "Wall clock in Node".
const TIMER_MIN_GAP_NS = 1_500_000
const TIMER_EARLY_NS = 1_000_000
/** Node clamps longer timeouts to 1 ms (with a warning); a far deadline wakes at this bound and re-arms. */
const TIMER_MAX_MS = 2 ** 31 - 1

/** Options of a WallClock. */
export interface WallClockOptions {
  /**
   * Clock ns per wall ns: 1 = real time, 2 = twice as fast (SimPy's `factor` is 1/speed).
   * Lags are measured in clock ns.
   */
  readonly speed?: number
  /** Fail the run (reject `done` with ClockLagExceeded) when a callback runs more than `maxLagNs` late. */
  readonly strict?: { readonly maxLagNs: number }
}

/**
 * The live Clock: integer ns since `start()` from the monotonic `process.hrtime`, and the same
 * `(at, priority, seq)` heap as the sim's VirtualClock, so one graph orders its callbacks the same
 * way in both modes. Deadlines are absolute (anchored at start, as SimPy's RealtimeEnvironment
 * does), so chained timers do not drift. Each wake runs everything due, including what those
 * callbacks schedule at or before now, then re-arms for the next deadline: `setTimeout` for gaps
 * above 1.5 ms, `setImmediate` for the last millisecond; a `schedule` earlier than the armed
 * timer (from I/O, say) re-arms it. Every run records its lag (now − due); with `strict` a lag
 * above the bound stops the clock, because results from a host that cannot keep up are not live
 * results. `now()` reads the wall inside callbacks too, so timestamps are real.
 * A callback that throws stops the clock and rejects `done` (and `runUntil`) with the error; await
 * one of them, since Node reports a rejection nobody observes as unhandled and exits.
 * @example
 * const clock = new WallClock({ strict: { maxLagNs: 5_000_000 } })
 * buildGraph(clock) // schedules arrivals etc.
 * await clock.runUntil(() => finished === total) // starts, then stops once the condition holds
 * console.log(clock.lagStats().p99Ns)
 */
export class WallClock implements Clock {
  private readonly speed: number
  private readonly maxLagNs: number
  private readonly heap = new TimerHeap()
  private seq = 0
  private live = 0
  private t0: bigint | undefined
  private stoppedAt: number | undefined
  private dispatching = false
  /** Clock time the armed wake is for, and how it is armed; undefined when nothing is armed. */
  private armedAt: number | undefined
  private timeout: ReturnType<typeof setTimeout> | undefined
  private immediate: ReturnType<typeof setImmediate> | undefined
  private readonly lags = new LagHistogram()
  private readonly waiters: Array<{ readonly until: () => boolean; readonly resolve: () => void }> = []
  private settle!: { resolve: () => void; reject: (e: unknown) => void }
  /** Settles once: resolves when `stop()` is called, rejects when a callback throws or strict lag is exceeded. */
  readonly done: Promise<void>
  /** Callbacks run so far (cancelled ones are not counted). */
  events = 0
  /** Times the clock woke up (timer or immediate turns), for seeing how work was batched. */
  wakes = 0

  constructor(options: WallClockOptions = {}) {
    this.speed = options.speed ?? 1
    if (!(this.speed > 0) || !Number.isFinite(this.speed)) {
      throw new RangeError(`WallClock: speed must be a positive finite number (got ${options.speed})`)
    }
    this.maxLagNs = options.strict?.maxLagNs ?? Number.POSITIVE_INFINITY
    if (!(this.maxLagNs > 0)) {
      throw new RangeError(`WallClock: strict.maxLagNs must be a positive number of ns (got ${options.strict?.maxLagNs})`)
    }
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject }
    })
  }

  /** Integer ns since `start()`: 0 before it, frozen after `stop()` or a failure. */
  now(): Ns {
    if (this.stoppedAt !== undefined) return this.stoppedAt as Ns
    if (this.t0 === undefined) return 0 as Ns
    return this.read() as Ns
  }

  /**
   * Runs `fn` at clock time `at`. A time already past is allowed (real time moves between reading
   * `now()` and calling this) and runs at the next wake, its lateness counted as lag.
   */
  schedule(at: Ns, fn: () => void, priority = 0): TimerHandle {
    if (!Number.isInteger(at) || at < 0) {
      throw new RangeError(`WallClock.schedule: time must be a non-negative integer ns, got ${at}`)
    }
    return this.push({ id: this.seq++, at, priority, fn, queued: false })
  }

  reschedule(handle: TimerHandle, at: Ns, fn: () => void, priority = 0): TimerHandle {
    if (!Number.isInteger(at) || at < 0) {
      throw new RangeError(`WallClock.reschedule: time must be a non-negative integer ns, got ${at}`)
    }
    const e = reuseTimerEntry(handle, this.seq++, at, priority, fn, "WallClock")
    return this.push(e)
  }

  private push(e: Entry): Entry {
    this.heap.push(e)
    this.live++
    // inside a wake the loop re-arms when it finishes; otherwise only an earlier deadline needs it
    if (!this.dispatching && this.running && (this.armedAt === undefined || e.at < this.armedAt)) this.arm()
    return e
  }

  /** Runs `fn` after `delayNs` of clock time from now. */
  after(delayNs: number, fn: () => void, priority = 0): TimerHandle {
    return this.schedule((this.now() + Math.max(0, Math.round(delayNs))) as Ns, fn, priority)
  }

  cancel(handle: TimerHandle): void {
    const e = handle as Entry
    if (e.fn !== undefined) {
      e.fn = undefined
      this.live--
    }
  }

  /** Pending (not cancelled, not yet run) callbacks. */
  get pending(): number {
    return this.live
  }

  /** Whether the clock has started and has neither stopped nor failed. */
  get running(): boolean {
    return this.t0 !== undefined && this.stoppedAt === undefined
  }

  /** Anchors time 0 at this instant and starts running due callbacks. Callable once. */
  start(): void {
    if (this.t0 !== undefined) throw new Error("WallClock.start: the clock was already started")
    this.t0 = process.hrtime.bigint()
    this.arm()
  }

  /**
   * Stops the clock: nothing more runs (pending callbacks stay pending), time freezes, `done`
   * resolves and so do `runUntil` waiters. A no-op after a stop or failure.
   */
  stop(): void {
    if (this.stoppedAt !== undefined) return
    this.stoppedAt = this.t0 === undefined ? 0 : this.read()
    this.disarm()
    this.settle.resolve()
    for (const w of this.waiters.splice(0)) w.resolve()
  }

  /**
   * Starts the clock if needed and resolves once `until()` holds, then stops it. The condition is
   * checked at start and after every wake, so it must change only inside clock callbacks (which is
   * how the graph runs). Rejects as `done` does; resolves early if someone else stops the clock.
   */
  runUntil(until: () => boolean): Promise<void> {
    const reached = new Promise<void>((resolve) => this.waiters.push({ until, resolve }))
    if (this.t0 === undefined) this.start()
    this.checkWaiters()
    // the race makes a failure reject this promise as well as `done`
    return Promise.race([reached, this.done])
  }

  /** Lag (now − due, clock ns) of every callback run so far. */
  lagStats(): LagStats {
    return this.lags.stats()
  }

  private read(): number {
    const wallNs = Number(process.hrtime.bigint() - (this.t0 as bigint))
    return this.speed === 1 ? wallNs : Math.floor(wallNs * this.speed)
  }

  private readonly wake = (): void => {
    this.timeout = undefined
    this.immediate = undefined
    this.armedAt = undefined
    if (!this.running) return
    this.wakes++
    this.dispatching = true
    try {
      let now = this.read()
      for (;;) {
        const top = this.heap.top()
        if (top === undefined || top.at > now) break
        this.heap.pop()
        const fn = top.fn as () => void
        top.fn = undefined
        this.live--
        const lag = now - top.at
        this.lags.record(lag)
        if (lag > this.maxLagNs) {
          this.fail(new ClockLagExceeded({
            lagNs: lag,
            maxLagNs: this.maxLagNs,
            atNs: top.at,
            message: `live clock fell ${ms(lag)} behind (bound ${ms(this.maxLagNs)}) at t=${ms(top.at)}: ` +
              "the host cannot keep up in real time",
          }))
          return
        }
        this.events++
        fn()
        if (!this.running) return
        // read after each callback: its own run time, and anything it scheduled at the present, count
        now = this.read()
      }
    } catch (e) {
      this.fail(e)
      return
    } finally {
      this.dispatching = false
    }
    this.checkWaiters()
    this.arm()
  }

  private checkWaiters(): void {
    if (this.waiters.length === 0) return
    for (const w of this.waiters) {
      if (w.until()) {
        this.stop()
        return
      }
    }
  }

  private fail(e: unknown): void {
    if (this.stoppedAt !== undefined) return
    this.stoppedAt = this.read()
    this.disarm()
    this.waiters.length = 0
    this.settle.reject(e)
  }

  /** Arms one wake for the earliest pending deadline, replacing any armed one. */
  private arm(): void {
    this.disarm()
    if (!this.running) return
    const top = this.heap.top()
    if (top === undefined) return
    this.armedAt = top.at
    const gapWallNs = (top.at - this.read()) / this.speed
    if (gapWallNs > TIMER_MIN_GAP_NS) {
      this.timeout = setTimeout(this.wake, Math.min(TIMER_MAX_MS, Math.floor((gapWallNs - TIMER_EARLY_NS) / 1e6)))
    } else {
      // an immediate fires within microseconds, so nothing scheduled meanwhile can be earlier than it
      this.armedAt = Number.NEGATIVE_INFINITY
      this.immediate = setImmediate(this.wake)
    }
  }

  private disarm(): void {
    if (this.timeout !== undefined) clearTimeout(this.timeout)
    if (this.immediate !== undefined) clearImmediate(this.immediate)
    this.timeout = undefined
    this.immediate = undefined
    this.armedAt = undefined
  }
}
