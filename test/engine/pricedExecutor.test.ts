import { describe, expect, it } from "vitest"
import { GPU_PRESETS } from "../../src/core/hardware.js"
import type { WorkDone, WorkItem } from "../../src/core/executor.js"
import { roofline } from "../../src/sim/roofline.js"
import { PricedExecutor } from "../../src/engine/pricedExecutor.js"
import { VirtualClock } from "../../src/sim/virtualClock.js"

const gemm: WorkItem["kernels"][number] = { kind: "gemm", m: 64, n: 4096, k: 4096, dtype: "fp8", count: 32 }
const item = (workerId: string, label: string): WorkItem => ({ workerId, label, kernels: [gemm, gemm], queries: 1 })

describe("PricedExecutor", () => {
  it("runs items FIFO per worker, back to back, completing on the virtual clock", () => {
    const clock = new VirtualClock()
    const model = roofline(GPU_PRESETS.H200)
    const ex = new PricedExecutor(clock, () => model)
    const done: WorkDone[] = []
    for (const it of [item("a", "1"), item("a", "2"), item("b", "3")]) ex.execute(it).subscribe((d) => done.push(d))
    expect(done).toEqual([])
    clock.run()
    const one = 2 * model.price(gemm).ns
    expect(done.map((d) => [d.item.label, d.startNs, d.endNs])).toEqual([["1", 0, one], ["3", 0, one], ["2", one, 2 * one]])
    expect(done[0]?.costs).toHaveLength(2)
    expect(ex.busy().get("a")).toBe(2 * one)
  })

  it("does not notify an unsubscribed caller, but the device time stays spent", () => {
    const clock = new VirtualClock()
    const ex = new PricedExecutor(clock, () => roofline(GPU_PRESETS.H200))
    const seen: string[] = []
    ex.execute(item("a", "dropped")).subscribe((d) => seen.push(d.item.label)).unsubscribe()
    ex.execute(item("a", "kept")).subscribe((d) => seen.push(d.item.label))
    clock.run()
    expect(seen).toEqual(["kept"])
    expect(ex.freeAtNs("a")).toBeGreaterThan(0)
  })
})
