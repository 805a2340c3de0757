import { describe, expect, it } from "vitest"
import { GPU_PRESETS, type GpuSpec } from "../../../src/core/hardware.js"
import { classTables, fitCalibration, fitClass, MIN_FIT_POINTS } from "../../../src/sim/hw/calibration.js"
import { fidelityReport, holdoutSplit, twinGroups } from "../../../src/sim/hw/fidelity.js"
import type { Measurement } from "../../../src/sim/hw/measurementFile.js"
import { readMeasurements } from "../../../src/sim/hw/readMeasurements.js"
import { workOf } from "../../../src/sim/roofline.js"

const H200: GpuSpec = GPU_PRESETS.H200
const all = readMeasurements(["data/measurements/h200-cuda-anchor.json", "data/measurements/h200-torch-2026.json"])
// decode attention and the router: one class with many twins, one with fewer shapes than a split can fit
const some = all.filter((m) => m.spec.kind === "decodeAttention" || m.spec.kind === "router")
const byId = (id: string): Measurement => all.find((m) => m.id === id)!

describe("twin-free held-out split", () => {
  it("joins shapes of one class whose bytes agree within 1% (the review's example) and keeps different shapes apart", () => {
    const g = twinGroups(H200, all)
    expect(g.get("decode-b32-u16384")).toBe(g.get("decode-b16-u32768"))
    expect(g.get("decode-b1-u1048576")).toBe(g.get("anchor-decode-b1-u1048576-sharedtable"))
    expect(g.get("gemm-bf16-qkv-m1024")).not.toBe(g.get("gemm-bf16-qkv-m4096"))
    expect(g.get("decode-b8-u16384")).not.toBe(g.get("decode-b32-u16384"))
  })

  it("holds no shape out whose class has a fit-set shape with bytes within 1%", () => {
    const { fit, holdout } = holdoutSplit(H200, all)
    expect(holdout.size).toBeGreaterThan(20)
    const g = twinGroups(H200, all)
    for (const id of holdout) {
      const h = byId(id)
      for (const f of fit) {
        if (f.spec.kind === "transfer" || g.get(f.id) === undefined) continue
        const a = workOf(h.spec).bytes, b = workOf(f.spec).bytes
        const sameClass = f.spec.kind === h.spec.kind && f.impl === h.impl && ("dtype" in f.spec ? f.spec.dtype : "") === ("dtype" in h.spec ? h.spec.dtype : "")
        if (sameClass) expect(Math.abs(a - b) / Math.max(a, b)).toBeGreaterThan(0.01)
      }
    }
  })
})

describe("fits need more shapes than parameters", () => {
  it("does not fit a class of 3 shapes (3 parameters) and says so; fits it from 4", () => {
    const routers = all.filter((m) => m.spec.kind === "router")
    expect(routers).toHaveLength(4)
    const three = fitCalibration(H200, routers.slice(0, 3))
    expect(three.fits).toHaveLength(0)
    expect(three.unfitted[0]).toMatchObject({ klass: "router.torch-eager", points: 3, params: 3 })
    expect(three.unfitted[0]!.reason).toContain(`≥ ${MIN_FIT_POINTS}`)
    const four = fitCalibration(H200, routers)
    expect(four.fits.map((f) => f.klass)).toEqual(["router.torch-eager"])
  })

  it("flags factors that land on the edge of the search range (unpacked SDPA's launch overhead at 0)", () => {
    const t = classTables(H200, all.filter((m) => m.spec.kind === "sharedAttention" && m.impl === "sdpa-unpacked"))[0]!
    const f = fitClass(t, t.ids.map((_, i) => i))!
    expect(f.atBound).toContain("launch floor 0")
    const d = classTables(H200, all.filter((m) => m.spec.kind === "decodeAttention"))[0]!
    expect(fitClass(d, d.ids.map((_, i) => i))!.atBound).toEqual([])
  })
})

describe("fidelity report", () => {
  const rep = fidelityReport(H200, some)

  it("prints parameters beside points for every class, and which evaluations could fit it", () => {
    const router = rep.classes.find((c) => c.klass === "router.torch-eager")!
    expect(router).toMatchObject({ shapes: 4, groups: 4, params: 3, splitFitPoints: 3, splitFitted: false, looFolds: 4, looFitted: 0 })
    const decode = rep.classes.find((c) => c.klass === "decodeAttention.sdpa")!
    expect(decode.params).toBe(3)
    expect(decode.splitFitted).toBe(true)
    expect(decode.groups).toBeLessThan(decode.shapes)
  })

  it("prices an unfitted class at datasheet rates in the split and in its leave-one-out folds", () => {
    for (const r of rep.rows.filter((x) => x.klass === "router.torch-eager")) {
      expect(r.splitFitted).toBe(false)
      expect(r.calibratedS).toBe(r.uncalibratedS)
      expect(r.looS).toBe(r.uncalibratedS)
    }
  })

  it("predicts each twin group from a fit that never saw it: leave-one-out differs from the in-sample fit", () => {
    const decode = rep.rows.filter((r) => r.klass === "decodeAttention.sdpa")
    expect(decode.every((r) => r.looS !== null && r.looFitted)).toBe(true)
    expect(decode.some((r) => r.set === "fit" && Math.abs(r.looS! - r.calibratedS) > 1e-9)).toBe(true)
    expect(rep.summary.looAll.n).toBe(rep.rows.length)
  })
})
