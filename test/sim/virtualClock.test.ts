import { describe, expect, it } from "vitest"
import type { Ns } from "../../src/core/units.js"
import { VirtualClock } from "../../src/sim/virtualClock.js"

const at = (n: number) => n as Ns

describe("VirtualClock", () => {
  it("runs callbacks in (time, priority, insertion) order", () => {
    const clock = new VirtualClock()
    const log: string[] = []
    clock.schedule(at(20), () => log.push("t20 p0"), 0)
    clock.schedule(at(10), () => log.push("t10 p5 first"), 5)
    clock.schedule(at(10), () => log.push("t10 p1"), 1)
    clock.schedule(at(10), () => log.push("t10 p5 second"), 5)
    clock.schedule(at(5), () => log.push("t5 p9"), 9)
    clock.run()
    expect(log).toEqual(["t5 p9", "t10 p1", "t10 p5 first", "t10 p5 second", "t20 p0"])
    expect(clock.now()).toBe(20)
    expect(clock.events).toBe(5)
  })

  it("keeps FIFO order among many equal keys (heap ties break by sequence)", () => {
    const clock = new VirtualClock()
    const log: number[] = []
    for (let i = 0; i < 200; i++) clock.schedule(at(7), () => log.push(i), 3)
    clock.run()
    expect(log).toEqual([...Array(200).keys()])
  })

  it("skips cancelled callbacks and cancelling twice or after running is a no-op", () => {
    const clock = new VirtualClock()
    const log: string[] = []
    const a = clock.schedule(at(1), () => log.push("a"))
    const b = clock.schedule(at(2), () => log.push("b"))
    clock.schedule(at(3), () => log.push("c"))
    clock.cancel(b)
    clock.cancel(b)
    expect(clock.pending).toBe(2)
    clock.step()
    clock.cancel(a)
    clock.run()
    expect(log).toEqual(["a", "c"])
    expect(clock.events).toBe(2)
  })

  it("reschedules a run entry as a new schedule would (new seq, counted once per run), and refuses one still queued", () => {
    const clock = new VirtualClock()
    const log: string[] = []
    const h = clock.schedule(at(1), () => log.push("h1"))
    expect(() => clock.reschedule(h, at(2), () => log.push("x"))).toThrow(/still queued/)
    clock.schedule(at(5), () => log.push("other"), 0)
    clock.step()
    // equal (time, priority) as "other", scheduled after it: runs after it
    expect(clock.reschedule(h, at(5), () => log.push("h2"), 0)).toBe(h)
    const c = clock.schedule(at(6), () => log.push("cancelled"))
    clock.cancel(c)
    // cancelled but not yet dropped from the heap: still queued
    expect(() => clock.reschedule(c, at(7), () => log.push("y"))).toThrow(/still queued/)
    expect(() => clock.reschedule(h, at(0), () => log.push("z"))).toThrow(RangeError)
    clock.run()
    expect(log).toEqual(["h1", "other", "h2"])
    expect(clock.events).toBe(3)
    clock.reschedule(c, at(8), () => log.push("c again"))
    clock.cancel(c)
    clock.run()
    expect(log).toEqual(["h1", "other", "h2"])
    expect(clock.pending).toBe(0)
  })

  it("lets callbacks schedule at the current instant, after what is already due then", () => {
    const clock = new VirtualClock()
    const log: string[] = []
    clock.schedule(at(4), () => {
      log.push("first")
      clock.schedule(clock.now(), () => log.push("nested"), 0)
    }, 0)
    clock.schedule(at(4), () => log.push("second"), 0)
    clock.run()
    expect(log).toEqual(["first", "second", "nested"])
  })

  it("runs up to `until` inclusive and then stands at `until`", () => {
    const clock = new VirtualClock()
    const log: number[] = []
    for (const t of [5, 10, 15]) clock.schedule(at(t), () => log.push(t))
    expect(clock.run(at(10))).toBe(2)
    expect(clock.now()).toBe(10)
    expect(clock.peek()).toBe(15)
    expect(clock.run(at(12))).toBe(0)
    expect(clock.now()).toBe(12)
    clock.run()
    expect(log).toEqual([5, 10, 15])
  })

  it("peeks past cancelled entries and reports idle as undefined", () => {
    const clock = new VirtualClock()
    const h = clock.schedule(at(1), () => undefined)
    clock.schedule(at(2), () => undefined)
    clock.cancel(h)
    expect(clock.peek()).toBe(2)
    clock.run()
    expect(clock.peek()).toBeUndefined()
    expect(clock.step()).toBe(false)
  })

  it("rejects times in the past and non-integer times", () => {
    const clock = new VirtualClock()
    clock.schedule(at(10), () => undefined)
    clock.run()
    expect(() => clock.schedule(at(9), () => undefined)).toThrow(/≥ now/)
    expect(() => clock.schedule(at(10.5), () => undefined)).toThrow(/integer/)
  })

  it("orders a large random schedule exactly like a stable sort on (time, priority)", () => {
    const clock = new VirtualClock()
    const items: Array<{ t: number; p: number; i: number }> = []
    let x = 12345
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0)
    for (let i = 0; i < 5000; i++) items.push({ t: next() % 100, p: next() % 4, i })
    const log: number[] = []
    for (const it of items) clock.schedule(at(it.t), () => log.push(it.i), it.p)
    clock.run()
    const expected = [...items].sort((a, b) => a.t - b.t || a.p - b.p || a.i - b.i).map((v) => v.i)
    expect(log).toEqual(expected)
  })
})
