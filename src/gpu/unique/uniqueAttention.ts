import type { GpuContext } from "../device.js"
import { gpuOps, type Pass } from "../gpuOps.js"
import { kvEntries, kvSegments, type GpuKv } from "../kvBuffers.js"
import { UNIQUE_BINDINGS, UNIQUE_TILE } from "./unique.wgsl.js"
import { uniquePipeline, type UniqueVariant } from "./uniquePipeline.js"

export interface UniqueJob {
  /** Queries f32 [B, Hq, D]. */
  readonly q: GPUBuffer
  /** Unique K/V, rows laid out [B, U, Hkv]. */
  readonly kv: GpuKv
  /** Valid prefix per request, u32 [B]. */
  readonly lens: GPUBuffer
  readonly requests: number
  readonly tokens: number
  readonly kvHeads: number
  readonly qHeads: number
  /** Keys per split (a multiple of 128); default: enough splits for ~4096 workgroups. */
  readonly splitLen?: number
  /** Extra partial slots to allocate after the unique ones (the shared partials, for one merge). */
  readonly extraSlots?: number
}

export interface UniquePlan {
  readonly passes: Pass[]
  readonly nsplit: number
  readonly splitLen: number
  /** Partials [B·Hq·nsplit, D] and LSEs; slot of (b, hq, s) = (b·Hq + hq)·nsplit + s. */
  readonly po: GPUBuffer
  readonly pl: GPUBuffer
  /** The kernel that runs (see uniquePipeline). */
  readonly variant: UniqueVariant
}

/**
 * Default split: about `targetWorkgroups` workgroups, but at least `minSplit` keys (or all of them)
 * per split, since each workgroup pays a fixed prologue/epilogue. On the H200 (lane-group kernel,
 * f16) 8192 workgroups of 4096 keys beat 4096 of 8192 at B = 64, while splits under 2048 keys lost
 * at B = 16 (docs/kernels-h200.md). MOSKA_UNIQUE_TARGET_WG / MOSKA_UNIQUE_MIN_SPLIT override for tuning runs.
 */
export const uniqueSplitLen = (
  requests: number,
  kvHeads: number,
  tokens: number,
  targetWorkgroups = Number(process.env.MOSKA_UNIQUE_TARGET_WG ?? 8192),
  minSplit = Number(process.env.MOSKA_UNIQUE_MIN_SPLIT ?? 2048),
): number => {
  const tiles = Math.max(1, Math.ceil(tokens / UNIQUE_TILE))
  const nsplit = Math.min(tiles, Math.max(1, Math.ceil(targetWorkgroups / Math.max(1, requests * kvHeads))))
  const minTiles = Math.min(tiles, Math.max(1, Math.ceil(minSplit / UNIQUE_TILE)))
  return Math.max(minTiles, Math.ceil(tiles / nsplit)) * UNIQUE_TILE
}

/** The unique kernels' Params (UNIQUE_PARAMS) by name; the scale 1/√D comes from the KV's head dim. */
export interface UniqueParams {
  readonly b0: number
  readonly U: number
  readonly Hkv: number
  readonly nsplit: number
  readonly splitLen: number
  readonly nwg: number
  readonly srow0: number
  readonly reqStride: number
  readonly s0: number
  readonly nsplitLocal: number
}

/** One dispatch of a unique kernel over the K/V segment `seg` (the hosts here and perRequestAttention). */
export const uniquePass = (
  gpu: GpuContext,
  pipeline: GPUComputePipeline,
  job: Pick<UniqueJob, "q" | "kv" | "lens">,
  seg: { readonly offset: number; readonly size: number },
  out: { readonly po: GPUBuffer; readonly pl: GPUBuffer },
  p: UniqueParams,
): Pass => {
  const params = gpuOps.uniform(gpu, [p.b0, p.U, p.Hkv, p.nsplit, p.splitLen, p.nwg, gpuOps.f32Bits(1 / Math.sqrt(job.kv.dim)), p.srow0, p.reqStride, p.s0, p.nsplitLocal, 0])
  const group = UNIQUE_BINDINGS.group(gpu.device, UNIQUE_BINDINGS.layout(gpu.device), {
    q: { buffer: job.q },
    ...kvEntries(job.kv, seg),
    lens: { buffer: job.lens },
    po: { buffer: out.po },
    pl: { buffer: out.pl },
    params: { buffer: params },
  })
  return { pipeline, group, workgroups: gpuOps.grid(gpu, p.nwg) }
}

/**
 * Host of unique (per-request, flash-decoding) attention: one pass per bindable segment of the
 * unique KV; partials per split go to `po`/`pl` for the merge kernel to reduce.
 * @example const plan = await uniqueAttention(gpu, job); await gpuOps.submit(gpu, "unique", plan.passes)
 */
export const uniqueAttention = async (gpu: GpuContext, job: UniqueJob): Promise<UniquePlan> => {
  const { kv, requests: B, tokens: U, kvHeads: Hkv, qHeads: Hq } = job
  const G = Hq / Hkv
  if (!Number.isInteger(G) || G < 1) throw new Error(`query heads (${Hq}) must be a multiple of KV heads (${Hkv})`)
  const splitLen = job.splitLen ?? uniqueSplitLen(B, Hkv, U)
  if (splitLen % UNIQUE_TILE !== 0 || splitLen <= 0) throw new Error(`splitLen must be a positive multiple of ${UNIQUE_TILE} (got ${splitLen})`)
  const nsplit = Math.max(1, Math.ceil(U / splitLen))
  const D = kv.dim
  const { pipeline, variant } = await uniquePipeline(gpu, D, G, kv.format)
  const slots = B * Hq * nsplit + (job.extraSlots ?? 0)
  const po = gpuOps.buffer(gpu, slots * D * 4, "unique.po")
  const pl = gpuOps.buffer(gpu, slots * 4, "unique.pl")
  const passes: Pass[] = []
  for (const seg of kvSegments(gpu, kv, U * Hkv, B)) {
    if (seg.units === 0) continue
    const nwg = seg.units * Hkv * nsplit
    passes.push(uniquePass(gpu, pipeline, job, seg, { po, pl }, { b0: seg.unit0, U, Hkv, nsplit, splitLen, nwg, srow0: seg.unit0 * U * Hkv, reqStride: U, s0: 0, nsplitLocal: nsplit }))
  }
  return { passes, nsplit, splitLen, po, pl, variant }
}
