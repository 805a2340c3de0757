import type { DType } from "../core/dtype.js"
import type { KernelSpec } from "../core/kernels.js"

/** The parts of `moska bench kernels --json` output this conversion reads. */
export interface KernelsBenchJson {
  readonly device: string
  readonly shape: { readonly Hq: number; readonly Hkv: number; readonly D: number; readonly chunkTokens: number }
  readonly rows: ReadonlyArray<{ readonly key: string; readonly kv: string; readonly ms: number; readonly note?: string }>
}

/** One entry of a `moska-measurements/1` file (docs/model-measurements.md). */
export interface KernelMeasurement {
  readonly id: string
  readonly spec: KernelSpec
  readonly impl: "default"
  readonly seconds: number
  readonly source: string
  readonly method: string
  readonly note: string
}

const KV_DTYPE: Record<string, DType> = { f32: "fp32", f16: "fp16", int8: "int8" }

/**
 * The KernelSpec a kernels-bench row measured, or the reason it is left out. Rows kept:
 * - `unique U=… B=…`: flash-decoding over B requests of U keys each, with its reduce (the merge
 *   kernel), as `decodeAttention` (the model prices the same reduce as part of the kind);
 * - `shared dense S=… B=…`: every request stacked on every (chunk, KV head) unit, as
 *   `sharedAttention` with one histogram bin (B queries × S / chunk × Hkv units). The row's time
 *   includes the merge of every row's chunk partials, which the model prices inside the kind too.
 * Rows left out, because no KernelSpec says what they did: `shared top25` (its histogram is the
 * router's draw, which the bench does not record), `moska` (router + shared + merge: three kinds in
 * one time) and `perreq` (the unique kernel with request stride 0: every request reads the same
 * corpus, so L2 serves what the model prices as HBM reads).
 * The math runs in f32 on every path except the int8 kernels (int8 dot products and subgroup
 * matrices), hence `mathDtype`.
 */
export const specOfRow = (bench: KernelsBenchJson, row: KernelsBenchJson["rows"][number]): KernelSpec | string => {
  const kvDtype = KV_DTYPE[row.kv]
  if (kvDtype === undefined) return `KV format ${row.kv} has no model dtype`
  const mathDtype: DType = kvDtype === "int8" ? "int8" : "fp32"
  const { Hq, Hkv, D, chunkTokens } = bench.shape
  const unique = /^unique U=(\d+) B=(\d+)$/.exec(row.key)
  if (unique !== null) {
    const U = Number(unique[1])
    const B = Number(unique[2])
    return { kind: "decodeAttention", requests: B, totalTokens: B * U, maxTokens: U, qHeads: Hq, kvHeads: Hkv, headDim: D, layers: 1, kvDtype, mathDtype }
  }
  const dense = /^shared dense S=(\d+) B=(\d+)$/.exec(row.key)
  if (dense !== null) {
    const S = Number(dense[1])
    const B = Number(dense[2])
    if (S % chunkTokens !== 0) return `S ${S} is not a whole number of ${chunkTokens}-token chunks`
    return { kind: "sharedAttention", chunkTokens, histogram: [{ queries: B, units: (S / chunkTokens) * Hkv }], kvHeads: Hkv, groupSize: Hq / Hkv, headDim: D, layers: 1, kvDtype, mathDtype }
  }
  if (row.key.startsWith("shared top")) return "routed histogram not recorded by the bench"
  if (row.key.startsWith("moska")) return "router + shared + merge in one time"
  if (row.key.startsWith("perreq")) return "request stride 0: L2 serves the shared reads"
  return "unknown row"
}

/**
 * Measurements (impl `default`: moska's own kernels) from kernels-bench results, keeping the rows of
 * the KV formats in `formats` (each format runs different kernels, and a class fits one set of
 * efficiency factors, so calibrate one format per device file). Also returns every left-out row with
 * its reason, for the caller to print.
 * @example const { measurements } = kernelsMeasurements([{ file: "k.json", bench }], ["f32"])
 */
export const kernelsMeasurements = (
  inputs: ReadonlyArray<{ readonly file: string; readonly bench: KernelsBenchJson }>,
  formats: readonly string[],
): { measurements: KernelMeasurement[]; skipped: Array<{ file: string; key: string; kv: string; why: string }> } => {
  const measurements: KernelMeasurement[] = []
  const skipped: Array<{ file: string; key: string; kv: string; why: string }> = []
  const seen = new Map<string, number>()
  for (const { file, bench } of inputs) {
    for (const row of bench.rows) {
      if (!formats.includes(row.kv)) continue
      const spec = specOfRow(bench, row)
      if (typeof spec === "string") {
        skipped.push({ file, key: row.key, kv: row.kv, why: spec })
        continue
      }
      // Repeats of a shape (several bench runs) keep distinct ids; calibration fits them all.
      const base = `webgpu-${row.kv}-${row.key.replace(/[ =]+/g, "-").toLowerCase()}`
      const n = (seen.get(base) ?? 0) + 1
      seen.set(base, n)
      measurements.push({
        id: n === 1 ? base : `${base}-r${n}`,
        spec,
        impl: "default",
        seconds: row.ms / 1e3,
        source: `moska bench kernels --json (${file})`,
        method: "reps in one command buffer, timed to queue completion; median of 5 batches (src/bench/kernelsTiming.ts)",
        note: `${bench.device}; ${row.note ?? ""}`.trim(),
      })
    }
  }
  return { measurements, skipped }
}
