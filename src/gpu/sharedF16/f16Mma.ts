import type { GpuContext } from "../device.js"
import type { GpuKv } from "../kvBuffers.js"
import { F16_DIM, sharedF16WorkgroupBytes } from "./sharedF16.wgsl.js"

/** Workgroup memory of the smallest f16 tensor-core kernel (32-row tiles, O in two parts, default strides), in bytes. */
export const F16_WORKGROUP_BYTES = sharedF16WorkgroupBytes({ rows: 32, oParts: 2, kvStride: 136, sStride: 72, pStride: 72, oPad: 8 })

/**
 * Why the f16 tensor-core path cannot run for this KV on this device, or undefined when it can: it needs
 * f16 KV, D = 128, shader-f16 with f16·f16→f32 16×16×16 subgroup matrices (`gpu.f16SubgroupMatrix`),
 * 32-wide subgroups and F16_WORKGROUP_BYTES of workgroup memory. `MOSKA_SHARED_F16_MMA=0` turns it off
 * (to time the f32 kernel on f16 KV in the same device call). `MOSKA_SHARED_INT8_F16=1` lets int8 KV run it too
 * (dequantized to f16 while staged, SharedF16Options.kv), instead of the int8 tensor-core kernel.
 * @example if (f16MmaBlocker(gpu, kv) === undefined) { ... }
 */
export const f16MmaBlocker = (gpu: Pick<GpuContext, "f16SubgroupMatrix" | "features" | "subgroupMinSize" | "limits">, kv: Pick<GpuKv, "format" | "dim">): string | undefined => {
  if (process.env.MOSKA_SHARED_F16_MMA === "0") return "disabled by MOSKA_SHARED_F16_MMA=0"
  const int8ok = kv.format === "int8" && process.env.MOSKA_SHARED_INT8_F16 === "1"
  if (kv.format !== "f16" && !int8ok) return `KV format ${kv.format} (needs f16${kv.format === "int8" ? ", or int8 with MOSKA_SHARED_INT8_F16=1" : ""})`
  if (kv.dim !== F16_DIM) return `head dim ${kv.dim} (needs ${F16_DIM})`
  if (!gpu.f16SubgroupMatrix) return "no f16·f16→f32 16×16×16 subgroup matrices on this device (on NVIDIA Vulkan: Dawn's vulkan_enable_f16_on_nvidia toggle, MOSKA_GPU_F16)"
  if (!gpu.features.has("subgroups") || (gpu.subgroupMinSize !== 0 && gpu.subgroupMinSize !== 32)) return "needs 32-wide subgroups"
  if (gpu.limits.maxComputeWorkgroupStorageSize < F16_WORKGROUP_BYTES) return `needs ${F16_WORKGROUP_BYTES} B of workgroup memory`
  return undefined
}
