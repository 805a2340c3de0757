import type { GpuContext } from "../device.js"
import { gpuOps } from "../gpuOps.js"
import { elemsPerVec, type KvFormat } from "../kvFormat.js"
import { UNIQUE_BINDINGS, uniqueWgsl } from "./unique.wgsl.js"
import { LANES_WG, lanesFit, uniqueLanesWgsl } from "./uniqueLanes.wgsl.js"

/**
 * Which unique-attention kernel runs: `lanes` (coalesced lane groups, the default where it fits; groups merged
 * by subgroup shuffles and one barrier), `lanes-serial` (the same with the one-barrier-per-group merge),
 * `tile` (a key per thread), `tile-coalesced`.
 */
export type UniqueVariant = "lanes" | "lanes-serial" | "tile" | "tile-coalesced"

/** Workgroup memory the folded epilogue may take for its per-block slices (the serial one needs one slice). */
const FOLD_MAX_BYTES = 16384

/**
 * Whether the lane-group kernel merges its groups by folding (see uniqueLanesWgsl): the default, 1.5-8% faster
 * on the H200 (docs/kernels-h200.md, sweep 16), unless MOSKA_UNIQUE_EPILOGUE=serial or the slices (one per
 * smallest subgroup) would take more than FOLD_MAX_BYTES.
 */
const lanesFold = (gpu: GpuContext, dim: number, group: number, wg: number): boolean => {
  const e = process.env.MOSKA_UNIQUE_EPILOGUE
  if (e !== undefined && e !== "fold" && e !== "serial") throw new Error(`MOSKA_UNIQUE_EPILOGUE=${e}: want fold or serial`)
  return e !== "serial" && gpu.subgroupMinSize > 0 && (wg / gpu.subgroupMinSize) * group * dim * 4 <= FOLD_MAX_BYTES
}

/**
 * Picks and compiles the unique-attention kernel for (D, G, format) on this device. The lane-group
 * kernel needs subgroups whose minimum size holds a key row's vec4 columns; otherwise the
 * key-per-thread tile kernel runs. MOSKA_UNIQUE_EPILOGUE=serial picks the lane-group kernel's older group merge;
 * MOSKA_UNIQUE_KERNEL=tile forces the tile kernel (and
 * MOSKA_UNIQUE_COALESCED=1 its coalesced-scoring variant, slower on the H200: docs/kernels-h200.md).
 * @example const { pipeline, variant } = await uniquePipeline(gpu, 128, 4, "f16")
 */
export const uniquePipeline = async (gpu: GpuContext, dim: number, group: number, format: KvFormat): Promise<{ pipeline: GPUComputePipeline; variant: UniqueVariant }> => {
  const sg = gpu.features.has("subgroups")
  const forced = process.env.MOSKA_UNIQUE_KERNEL
  if (forced !== "tile" && lanesFit(dim, format, sg, gpu.subgroupMinSize)) {
    // MOSKA_UNIQUE_WG: workgroup size for tuning runs (64, 128 or 256; default LANES_WG).
    const wg = Number(process.env.MOSKA_UNIQUE_WG ?? LANES_WG)
    if (![64, 128, 256].includes(wg)) throw new Error(`MOSKA_UNIQUE_WG must be 64, 128 or 256 (got ${process.env.MOSKA_UNIQUE_WG})`)
    const fold = lanesFold(gpu, dim, group, wg) ? gpu.subgroupMinSize : 0
    // Consecutive workgroups take the KV heads of one split, i.e. neighbouring slices of the same token rows:
    // 2% faster at B = 16 on the H200 (sweep 22). MOSKA_UNIQUE_ORDER=splits restores split-major order.
    const order = process.env.MOSKA_UNIQUE_ORDER
    if (order !== undefined && order !== "heads" && order !== "splits") throw new Error(`MOSKA_UNIQUE_ORDER=${order}: want heads or splits`)
    const hi = order !== "splits"
    // MOSKA_UNIQUE_VLOAD=late: V loads after the softmax (uniqueLanesWgsl's lateV), to test whether register
    // pressure (G·NV partial dots beside NV in-flight V vectors) is what keeps unique decode under the anchor's bandwidth.
    const vl = process.env.MOSKA_UNIQUE_VLOAD
    if (vl !== undefined && vl !== "early" && vl !== "late") throw new Error(`MOSKA_UNIQUE_VLOAD=${vl}: want early or late`)
    const late = vl === "late"
    const pipeline = await gpuOps.pipeline(gpu, `unique-lanes:${dim}:${group}:${format}:${wg}:${fold}:${hi}:${late}`, UNIQUE_BINDINGS, uniqueLanesWgsl(dim, group, format, wg, fold, hi, late))
    return { pipeline, variant: fold > 0 ? "lanes" : "lanes-serial" }
  }
  const nv = dim / elemsPerVec(format)
  const co = sg && process.env.MOSKA_UNIQUE_COALESCED === "1" && (nv & (nv - 1)) === 0 && nv <= gpu.subgroupMinSize
  const pipeline = await gpuOps.pipeline(gpu, `unique:${dim}:${group}:${format}:${sg}:${co}`, UNIQUE_BINDINGS, uniqueWgsl(dim, group, format, sg, co))
  return { pipeline, variant: co ? "tile-coalesced" : "tile" }
}
