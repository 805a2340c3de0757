import type { BoundBy, CostModel, CostModelFactory, KernelCost } from "../core/costModel.js"
import { bytesPer, type DType } from "../core/dtype.js"
import type { GpuSpec } from "../core/hardware.js"
import { ACTIVATION_BYTES, PARTIAL_BYTES, type KernelSpec } from "../core/kernels.js"
import type { Ns } from "../core/units.js"


// Where a format has no tensor path on a device, math falls back along this chain (FP8 on A100 runs at FP16 rate).
const FALLBACK: Record<DType, readonly DType[]> = {
  fp8: ["fp8", "fp16", "bf16"],
  int8: ["int8", "fp16", "bf16"],
  int4: ["int8", "fp16", "bf16"],
  fp16: ["fp16", "bf16"],
  bf16: ["bf16", "fp16"],
  fp32: ["fp32"],
}

/** Peak math rate (FLOP/s) of `dtype` on `gpu`: its tensor rate, a fallback tensor rate, or the SIMT FP32 rate. */
export const peakFlops = (gpu: GpuSpec, dtype: DType): number => {
  for (const d of FALLBACK[dtype]) {
    const r = gpu.tensorFlops[d]
    if (r !== undefined && r > 0) return r
  }
  return gpu.simtFp32Flops
}

/** FLOPs and bytes of one kernel spec (exact arithmetic shared by every cost model). */
export const workOf = (spec: KernelSpec): { flops: number; bytes: number; mathDtype: DType | null } => {
  switch (spec.kind) {
    case "gemm": {
      const b = bytesPer[spec.dtype]
      return {
        flops: 2 * spec.m * spec.n * spec.k * spec.count,
        bytes: (spec.k * spec.n * b + (spec.m * spec.k + spec.m * spec.n) * ACTIVATION_BYTES) * spec.count,
        mathDtype: spec.dtype,
      }
    }
    case "decodeAttention": {
      const kv = spec.totalTokens * 2 * spec.kvHeads * spec.headDim * bytesPer[spec.kvDtype]
      const qo = spec.requests * spec.qHeads * spec.headDim * 2 * ACTIVATION_BYTES
      return {
        flops: 4 * spec.qHeads * spec.headDim * spec.totalTokens * spec.layers,
        bytes: (kv + qo) * spec.layers,
        mathDtype: spec.mathDtype,
      }
    }
    case "sharedAttention": {
      let units = 0
      let rows = 0
      for (const h of spec.histogram) {
        units += h.units
        rows += h.units * h.queries * spec.groupSize
      }
      const kv = units * spec.chunkTokens * 2 * spec.headDim * bytesPer[spec.kvDtype]
      const qo = rows * spec.headDim * 2 * ACTIVATION_BYTES + rows * PARTIAL_BYTES
      return {
        flops: 4 * rows * spec.chunkTokens * spec.headDim * spec.layers,
        bytes: (kv + qo) * spec.layers,
        mathDtype: spec.mathDtype,
      }
    }
    case "router": {
      const rows = spec.requests * spec.kvHeads * spec.groupSize
      return {
        flops: 2 * rows * spec.headDim * spec.chunks * spec.layers,
        bytes: (spec.chunks * spec.kvHeads * spec.headDim * bytesPer[spec.dtype] + rows * spec.headDim * ACTIVATION_BYTES + spec.requests * spec.topK * 4) * spec.layers,
        mathDtype: spec.dtype,
      }
    }
    case "merge":
      return {
        flops: 4 * spec.rows * spec.ways * spec.headDim * spec.layers,
        bytes: spec.rows * (spec.ways + 1) * (spec.headDim + 1) * PARTIAL_BYTES * spec.layers,
        mathDtype: "fp32",
      }
    case "transfer":
      return { flops: 0, bytes: spec.bytes, mathDtype: null }
  }
}

/**
 * The first cost model: `ns = max(FLOPs / peak(dtype), bytes / HBM bandwidth) + launch`, one launch
 * per spec (a spec may cover all layers of an iteration). Transfers: `messages · latency +
 * bytes / link bandwidth`, no launch. Pure and deterministic; ns are rounded to integers.
 * @example roofline(GPU_PRESETS.H200).price({ kind: "gemm", m: 64, n: 4096, k: 4096, dtype: "fp8", count: 32 })
 */
export const roofline: CostModelFactory = (gpu: GpuSpec): CostModel => {
  // The device is fixed per model: each format's peak is looked up once, not per kernel priced
  // (a long replay prices millions); the values are those peakFlops returns.
  const peaks = new Map<DType, number>()
  const peakOf = (d: DType): number => {
    let r = peaks.get(d)
    if (r === undefined) {
      r = peakFlops(gpu, d)
      peaks.set(d, r)
    }
    return r
  }
  return {
    name: "roofline",
    gpu,
    price(spec: KernelSpec): KernelCost {
      const { flops, bytes, mathDtype } = workOf(spec)
      if (spec.kind === "transfer") {
        const ns = Math.round(spec.messages * spec.link.latencyNs + (bytes / spec.link.bandwidthBps) * 1e9)
        return { ns: ns as Ns, flops, bytes, boundBy: "link" }
      }
      const computeNs = mathDtype === null ? 0 : (flops / peakOf(mathDtype)) * 1e9
      const memoryNs = (bytes / gpu.hbmBandwidthBps) * 1e9
      const boundBy: BoundBy = flops === 0 && bytes === 0 ? "latency" : computeNs >= memoryNs ? "compute" : "memory"
      return { ns: Math.round(Math.max(computeNs, memoryNs) + gpu.launchNs) as Ns, flops, bytes, boundBy }
    },
  }
}
