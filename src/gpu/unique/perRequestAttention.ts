import type { GpuContext } from "../device.js"
import { gpuOps, type Pass } from "../gpuOps.js"
import { bytesPerRow } from "../kvFormat.js"
import { UNIQUE_TILE } from "./unique.wgsl.js"
import { uniquePipeline } from "./uniquePipeline.js"
import { uniquePass, uniqueSplitLen, type UniqueJob, type UniquePlan } from "./uniqueAttention.js"

/**
 * A unique-attention job whose `kv` is one corpus every request reads (rows [S, Hkv]) and whose `lens`
 * gives each request S or a shorter prefix.
 */
export type PerRequestJob = Omit<UniqueJob, "extraSlots">

/**
 * The baseline MoSKA is measured against: every request attends the shared corpus on its own
 * (decode attention, the unique kernel with request stride 0), so the corpus is streamed once
 * per request. A corpus over the storage-binding limit is bound in segments of whole splits.
 * @example const plan = await perRequestAttention(gpu, { q, kv: shared, lens, requests: 16, tokens: S, kvHeads: 8, qHeads: 32 })
 */
export const perRequestAttention = async (gpu: GpuContext, job: PerRequestJob): Promise<UniquePlan> => {
  const { kv, requests: B, tokens: S, kvHeads: Hkv, qHeads: Hq } = job
  const G = Hq / Hkv
  const D = kv.dim
  const tokenBytes = Hkv * bytesPerRow(kv.format, D)
  // A split must fit one binding (1M f16 tokens × 8 heads is exactly 2 GiB, 4 bytes over the limit).
  const maxSplit = Math.max(UNIQUE_TILE, Math.floor(gpu.limits.maxStorageBufferBindingSize / tokenBytes / UNIQUE_TILE) * UNIQUE_TILE)
  const splitLen = Math.min(job.splitLen ?? uniqueSplitLen(B, Hkv, S, 4096), maxSplit)
  if (splitLen % UNIQUE_TILE !== 0) throw new Error(`splitLen must be a multiple of ${UNIQUE_TILE}`)
  const nsplit = Math.max(1, Math.ceil(S / splitLen))
  const { pipeline, variant } = await uniquePipeline(gpu, D, G, kv.format)
  const po = gpuOps.buffer(gpu, B * Hq * nsplit * D * 4, "perreq.po")
  const pl = gpuOps.buffer(gpu, B * Hq * nsplit * 4, "perreq.pl")
  const splitsPerSeg = Math.max(1, Math.floor(gpu.limits.maxStorageBufferBindingSize / (tokenBytes * splitLen)))
  const passes: Pass[] = []
  for (let s0 = 0; s0 < nsplit; s0 += splitsPerSeg) {
    const n = Math.min(splitsPerSeg, nsplit - s0)
    const t0 = s0 * splitLen
    const offset = t0 * tokenBytes
    if (offset % 256 !== 0) throw new Error(`per-request segment offset ${offset} is not 256-byte aligned`)
    const size = Math.max(16, Math.min(n * splitLen, S - t0) * tokenBytes)
    passes.push(uniquePass(gpu, pipeline, job, { offset, size }, { po, pl }, { b0: 0, U: S, Hkv, nsplit, splitLen, nwg: B * Hkv * n, srow0: t0 * Hkv, reqStride: 0, s0, nsplitLocal: n }))
  }
  return { passes, nsplit, splitLen, po, pl, variant }
}
