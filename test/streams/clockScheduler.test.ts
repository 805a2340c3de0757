import { bufferTime, delay, interval, of, take } from "rxjs"
import { describe, expect, it } from "vitest"
import { clockScheduler } from "../../src/streams/clockScheduler.js"
import { VirtualClock } from "../../src/sim/virtualClock.js"

describe("clockScheduler", () => {
  it("runs RxJS delay in virtual nanoseconds", () => {
    const clock = new VirtualClock()
    const s = clockScheduler(clock)
    const seen: Array<[string, number]> = []
    of("a", "b").pipe(delay(1_500, s)).subscribe((v) => seen.push([v, clock.now()]))
    expect(seen).toEqual([])
    clock.run()
    expect(seen).toEqual([["a", 1_500], ["b", 1_500]])
  })

  it("runs bufferTime windows on the virtual clock", () => {
    const clock = new VirtualClock()
    const s = clockScheduler(clock)
    const out: Array<[number[], number]> = []
    interval(300, s).pipe(take(7), bufferTime(1_000, s)).subscribe((b) => out.push([b, clock.now()]))
    clock.run()
    expect(out[0]).toEqual([[0, 1, 2], 1_000])
    expect(out[1]).toEqual([[3, 4, 5], 2_000])
    expect(out[2]).toEqual([[6], 2_100])
  })

  it("cancels pending work when the subscription ends", () => {
    const clock = new VirtualClock()
    const s = clockScheduler(clock)
    const seen: number[] = []
    const sub = of(1).pipe(delay(100, s)).subscribe((v) => seen.push(v))
    sub.unsubscribe()
    clock.run()
    expect(seen).toEqual([])
    expect(clock.events).toBe(0)
  })

  it("reports the clock's time as now()", () => {
    const clock = new VirtualClock()
    const s = clockScheduler(clock)
    clock.schedule(clock.now(), () => undefined)
    clock.run(42 as never)
    expect(s.now()).toBe(42)
  })
})
