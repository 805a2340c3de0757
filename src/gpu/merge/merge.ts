import type { GpuContext } from "../device.js"
import { gpuOps, type Pass } from "../gpuOps.js"
import { MERGE_BINDINGS, mergeWgsl } from "./merge.wgsl.js"

export interface MergePlan {
  /** Partial outputs [slots, D] and LSEs [slots] (GPU buffers written by the attention kernels). */
  readonly po: GPUBuffer
  readonly pl: GPUBuffer
  /** For output row r, the partial slots to merge are `slots[offs[r] .. offs[r+1])`. */
  readonly slots: Uint32Array
  readonly offs: Uint32Array
  readonly dim: number
  /** Merged outputs [rows, D] and LSEs [rows]. */
  readonly out: GPUBuffer
  readonly lse: GPUBuffer
}

/**
 * Host of the merge kernel: uploads the slot lists and returns the pass (encode it after the
 * passes that write the partials).
 * @example const pass = await mergePass(gpu, plan); await gpuOps.submit(gpu, "merge", [pass])
 */
export const mergePass = async (gpu: GpuContext, plan: MergePlan): Promise<Pass> => {
  const rows = plan.offs.length - 1
  const pipeline = await gpuOps.pipeline(gpu, `merge:${plan.dim}`, MERGE_BINDINGS, mergeWgsl(plan.dim))
  const slots = gpuOps.upload(gpu, plan.slots, "merge.slots")
  const offs = gpuOps.upload(gpu, plan.offs, "merge.offs")
  const params = gpuOps.uniform(gpu, [rows, 0, 0xff800000, 0])
  const group = MERGE_BINDINGS.group(gpu.device, MERGE_BINDINGS.layout(gpu.device), {
    po: { buffer: plan.po },
    pl: { buffer: plan.pl },
    slots: { buffer: slots },
    offs: { buffer: offs },
    out: { buffer: plan.out },
    lse: { buffer: plan.lse },
    params: { buffer: params },
  })
  return { pipeline, group, workgroups: gpuOps.grid(gpu, rows) }
}
