import { readFileSync } from "node:fs"
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import { kernelsMeasurements, type KernelsBenchJson } from "../../../src/bench/kernelsMeasurements.js"
import { GPU_PRESETS } from "../../../src/core/hardware.js"
import { fitCalibration } from "../../../src/sim/hw/calibration.js"
import { decodeMeasurementFile } from "../../../src/sim/hw/measurementFile.js"

// A committed H200 run of `moska bench kernels --json --kv int8` (docs/kernels-h200.md, final4).
const FILE = "docs/kernels-h200/final4-kernels-int8.json"
const bench = JSON.parse(readFileSync(FILE, "utf8")) as KernelsBenchJson

describe("kernels-bench rows as measurements (moska's own kernels, impl default)", () => {
  const { measurements, skipped } = kernelsMeasurements([{ file: FILE, bench }], ["int8"])

  it("keeps the unique and dense shared rows with the shapes they ran, and says why the others are out", () => {
    expect(measurements.map((m) => m.id)).toEqual([
      "webgpu-int8-unique-u-65536-b-16", "webgpu-int8-unique-u-65536-b-64",
      "webgpu-int8-shared-dense-s-1048576-b-16", "webgpu-int8-shared-dense-s-1048576-b-64", "webgpu-int8-shared-dense-s-1048576-b-256",
    ])
    const u = measurements[1]!
    expect(u.spec).toEqual({ kind: "decodeAttention", requests: 64, totalTokens: 64 * 65536, maxTokens: 65536, qHeads: 32, kvHeads: 8, headDim: 128, layers: 1, kvDtype: "int8", mathDtype: "int8" })
    expect(u.seconds).toBeCloseTo(bench.rows.find((r) => r.key === "unique U=65536 B=64")!.ms / 1e3, 12)
    // 256 chunks of 4096 tokens × 8 KV heads, every one of the 256 requests on each
    expect(measurements[4]!.spec).toMatchObject({ kind: "sharedAttention", chunkTokens: 4096, histogram: [{ queries: 256, units: 2048 }], groupSize: 4, kvDtype: "int8" })
    expect(new Set(skipped.map((s) => s.why))).toEqual(new Set(["router + shared + merge in one time", "routed histogram not recorded by the bench", "request stride 0: L2 serves the shared reads"]))
    expect(skipped).toHaveLength(bench.rows.length - 5)
  })

  it("keeps only the formats asked for", () => {
    expect(kernelsMeasurements([{ file: FILE, bench }], ["f32"]).measurements).toEqual([])
  })

  it("is a valid measurement file; moska calibrate fits a class only from 4 points on", () => {
    const decoded = decodeMeasurementFile({ format: "moska-measurements/1", gpu: "H200", measurements }, "mem")
    if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
    const one = fitCalibration(GPU_PRESETS.H200!, decoded.right.measurements)
    expect(one.fits).toEqual([])
    expect(one.unfitted.map((u) => `${u.klass}:${u.points}`)).toEqual(["decodeAttention.default:2", "sharedAttention.default:3"])
    // A second run of the same shapes (final5) gives each class enough points.
    const FILE5 = "docs/kernels-h200/final5-kernels-int8.json"
    const two = kernelsMeasurements([{ file: FILE, bench }, { file: FILE5, bench: JSON.parse(readFileSync(FILE5, "utf8")) as KernelsBenchJson }], ["int8"]).measurements
    expect(two.map((m) => m.id)).toContain("webgpu-int8-unique-u-65536-b-16-r2")
    const fitted = fitCalibration(GPU_PRESETS.H200!, two)
    expect(fitted.fits.map((f) => `${f.klass}:${f.points}`)).toEqual(["decodeAttention.default:4", "sharedAttention.default:6"])
  })
})
