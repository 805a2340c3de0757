import { Observable } from "rxjs"
import { describe, expect, it } from "vitest"
import { GPU_PRESETS } from "../../src/core/hardware.js"
import type { GpuExecutor, WorkDone, WorkItem } from "../../src/core/executor.js"
import type { KernelSpec } from "../../src/core/kernels.js"
import { executeWork } from "../../src/engine/executeWork.js"
import { PricedExecutor } from "../../src/engine/pricedExecutor.js"
import { roofline } from "../../src/sim/roofline.js"
import { VirtualClock } from "../../src/sim/virtualClock.js"

const gemm = (m: number): KernelSpec => ({ kind: "gemm", m, n: 4096, k: 4096, dtype: "fp8", count: 32 })
const shared = gemm(64)
const items = (): WorkItem[] => [
  { workerId: "a", label: "1", kernels: [shared, gemm(8)], queries: 1 },
  { workerId: "a", label: "2", kernels: [shared, gemm(16)], queries: 1 },
  { workerId: "b", label: "3", kernels: [gemm(32)], queries: 1 },
  { workerId: "a", label: "4", kernels: [shared, gemm(8)], queries: 1 },
]

// What the engine sees from one executor: completion order, times, flops, bytes and per-kernel prices.
const trace = (submit: (ex: PricedExecutor, item: WorkItem, next: (d: WorkDone) => void) => void) => {
  const clock = new VirtualClock()
  const ex = new PricedExecutor(clock, () => roofline(GPU_PRESETS.H200))
  const seen: Array<[string, number, number, number, number, number[], number]> = []
  for (const it of items()) submit(ex, it, (d) => seen.push([d.item.label, d.startNs, d.endNs, d.flops, d.bytes, d.costs.map((c) => c.ns), clock.now()]))
  clock.run()
  return { seen, busy: [...ex.busy()] }
}

describe("executeWork", () => {
  it("completes a priced executor's items as execute().subscribe() does: same order, times and prices", () => {
    const viaObservable = trace((ex, it, next) => ex.execute(it).subscribe(next))
    const direct = trace((ex, it, next) => executeWork(ex, it, next, (e) => { throw e }, undefined))
    expect(direct).toEqual(viaObservable)
    expect(direct.seen.map((s) => s[0])).toEqual(["3", "1", "2", "4"])
  })

  it("goes through execute for any other executor (a wrapper that taps it keeps seeing every item)", () => {
    const clock = new VirtualClock()
    const inner = new PricedExecutor(clock, () => roofline(GPU_PRESETS.H200))
    const tapped: string[] = []
    const wrapper: GpuExecutor = {
      execute: (item) => new Observable<WorkDone>((s) => inner.execute(item).subscribe({ next: (d) => { tapped.push(d.item.label); s.next(d) }, complete: () => s.complete() })),
      freeAtNs: (id) => inner.freeAtNs(id),
    }
    const done: string[] = []
    for (const it of items()) executeWork(wrapper, it, (d, tag) => done.push(`${tag}${d.item.label}`), (e) => { throw e }, "w")
    clock.run()
    expect(tapped).toEqual(["3", "1", "2", "4"])
    expect(done).toEqual(tapped.map((l) => `w${l}`))
  })

  it("hands a throw from the completion callback to the error callback, at the completion", () => {
    const clock = new VirtualClock()
    const ex = new PricedExecutor(clock, () => roofline(GPU_PRESETS.H200))
    const errors: unknown[] = []
    executeWork(ex, (items()[0] as WorkItem), () => { throw new Error("boom") }, (e) => errors.push(e), undefined)
    expect(errors).toEqual([])
    clock.run()
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom"])
  })

  it("chains as execute() does when each completion submits the next item (pooled completion records reused), and hands each its arg", () => {
    const run = (direct: boolean) => {
      const clock = new VirtualClock()
      const ex = new PricedExecutor(clock, () => roofline(GPU_PRESETS.H200))
      const seen: Array<[string, number, number, number, number]> = []
      const all = items()
      const go = (i: number): void => {
        const it = all[i % all.length] as WorkItem
        const next = (d: WorkDone, n: number): void => {
          seen.push([d.item.label, n, d.startNs, d.endNs, clock.now()])
          if (n < 12) {
            go(n + 1)
            go(n + 2) // two in flight at once: two records, each reused after its completion
          }
        }
        if (direct) executeWork(ex, it, next, (e) => { throw e }, i)
        else ex.execute(it).subscribe((d) => next(d, i))
      }
      go(0)
      clock.run()
      return { seen, events: clock.events }
    }
    const direct = run(true)
    expect(direct).toEqual(run(false))
    expect(direct.seen.length).toBeGreaterThan(100)
  })
})
