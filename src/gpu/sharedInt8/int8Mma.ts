import type { GpuContext } from "../device.js"
import type { GpuKv } from "../kvBuffers.js"
import { INT8_DIM, sharedInt8WorkgroupBytes } from "./sharedInt8.wgsl.js"

/** Workgroup memory of the smallest int8 tensor-core kernel (unstaged), in bytes. */
export const INT8_WORKGROUP_BYTES = sharedInt8WorkgroupBytes({ stage: "none", oStride: INT8_DIM, rows: 64, transposeS: false, pStride: 64 })

/**
 * Why the int8 tensor-core path cannot run for this KV on this device, or undefined when it can:
 * it needs int8 KV, D = 128, i8 16×16×32 subgroup matrices, 32-wide subgroups and 46 KiB of
 * workgroup memory. `MOSKA_SHARED_INT8_MMA=0` turns it off (to time the f32 path on int8 KV).
 * @example if (int8MmaBlocker(gpu, kv) === undefined) { ... }
 */
export const int8MmaBlocker = (gpu: GpuContext, kv: Pick<GpuKv, "format" | "dim">): string | undefined => {
  if (process.env.MOSKA_SHARED_INT8_MMA === "0") return "disabled by MOSKA_SHARED_INT8_MMA=0"
  if (kv.format !== "int8") return `KV format ${kv.format} (needs int8)`
  if (kv.dim !== INT8_DIM) return `head dim ${kv.dim} (needs ${INT8_DIM})`
  if (!gpu.int8SubgroupMatrix) return "no i8 16×16×32 subgroup matrices on this device"
  if (!gpu.features.has("subgroups") || (gpu.subgroupMinSize !== 0 && gpu.subgroupMinSize !== 32)) return "needs 32-wide subgroups"
  if (gpu.limits.maxComputeWorkgroupStorageSize < INT8_WORKGROUP_BYTES) return `needs ${INT8_WORKGROUP_BYTES} B of workgroup memory`
  return undefined
}
