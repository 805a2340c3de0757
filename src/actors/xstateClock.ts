import { Priority, type Clock, type TimerHandle } from "../core/clock.js"
import { NS_PER_MS, type Ns } from "../core/units.js"

/** The two-method clock xstate v5 takes in `createActor(logic, { clock })` (see xstate's `system.d.ts`). */
export interface XstateClock {
  setTimeout(fn: (...args: unknown[]) => void, timeoutMs: number): TimerHandle
  clearTimeout(id: TimerHandle): void
}

/**
 * Adapts the injected `Clock` to xstate, so `after` delays and delayed `sendTo`s fire in virtual
 * time. xstate speaks milliseconds; the clock speaks integer ns: delays are converted here and
 * rounded to the nearest ns (a window of `windowNs` is declared as `windowNs / 1e6` ms).
 * @example createActor(machine, { clock: xstateClock(virtualClock) })
 */
export const xstateClock = (clock: Clock, priority: number = Priority.dispatch): XstateClock => ({
  setTimeout: (fn, timeoutMs) =>
    clock.schedule((clock.now() + Math.max(0, Math.round(timeoutMs * NS_PER_MS))) as Ns, () => fn(), priority),
  clearTimeout: (id) => clock.cancel(id),
})
