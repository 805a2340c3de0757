import type { DType } from "../../core/dtype.js"
import { GPU_PRESETS, LINK_PRESETS, type GpuSpec, type LinkSpec } from "../../core/hardware.js"

/** Which math unit a tile's inner loop runs on. */
export type MathUnit = "tensor" | "simt"

/**
 * Per-SM math rate in FLOP per cycle (of `clockHz`) for a type and unit. Tensor math in a type the
 * device lacks falls back to the next wider type it has (A100 runs fp8 as bf16); SIMT math runs in
 * fp32 unless a packed half rate is listed.
 *
 * A whitepaper per-SM rate is capped so that rate × SMs × `clockHz` never exceeds the device's
 * datasheet aggregate for that type: the aggregate is the one number the vendor specifies, and the
 * two disagree when they assume different clocks. On the H200 (and H100 SXM) NVIDIA's dense FP8
 * 1979 TFLOP/s is 8192 FLOP/cycle/SM × 132 SMs × 1.830 GHz, while `clockHz` is the 1.98 GHz SM
 * clock nvidia-smi read under load; uncapped, the cycle model's FP8 peak was 8192 × 132 × 1.98 GHz
 * = 2141 TFLOP/s, 8% above the catalog's (and the roofline model's) 1979. Capped, tensor math runs
 * at 7572 FLOP per 1.98 GHz cycle (the 1.83 GHz rate: the sustained tensor clock the datasheet
 * assumes), while memory, fill and launch cycles keep `clockHz`. SIMT fp32 already agrees
 * (256 × 132 × 1.98 GHz = 66.9 of 67 TFLOP/s) and is unchanged.
 * @example smFlopsPerCycle(GPU_PRESETS.H200, "fp8", "tensor") // 7571.9 (= 1979e12 / (132 × 1.98e9))
 */
export const smFlopsPerCycle = (gpu: GpuSpec, dtype: DType, unit: MathUnit): number => {
  const order: readonly DType[] = unit === "tensor" ? TENSOR_FALLBACK[dtype] : [dtype, "fp32"]
  const explicit = gpu.smFlopsPerCycle?.[unit]
  for (const t of order) {
    const v = explicit?.[t]
    const agg = unit === "tensor" ? gpu.tensorFlops[t] : t === "fp32" ? gpu.simtFp32Flops : undefined
    const fromAgg = agg === undefined ? undefined : agg / (gpu.sms * gpu.clockHz)
    if (v !== undefined) return fromAgg === undefined ? v : Math.min(v, fromAgg)
    if (fromAgg !== undefined) return fromAgg
  }
  // no tensor path at all: the SIMT fp32 rate
  return gpu.simtFp32Flops / (gpu.sms * gpu.clockHz)
}

// int4 weights are dequantised into the math type; fp8 falls back to half precision, then fp32.
const TENSOR_FALLBACK: Record<DType, readonly DType[]> = {
  fp8: ["fp8", "bf16", "fp16", "fp32"],
  int8: ["int8", "fp8", "bf16", "fp32"],
  int4: ["int8", "fp8", "bf16", "fp32"],
  bf16: ["bf16", "fp16", "fp32"],
  fp16: ["fp16", "bf16", "fp32"],
  fp32: ["fp32"],
}

/** HBM bytes per cycle for the whole device. */
export const hbmBytesPerCycle = (gpu: GpuSpec): number => gpu.hbmBandwidthBps / gpu.clockHz

/** Every GPU preset name. */
export const GPU_NAMES: readonly string[] = Object.keys(GPU_PRESETS)

/**
 * Finds a GPU by name among the presets and any extra (user-defined or calibrated) devices; the
 * extras win, so a calibrated `H200` file replaces the preset of that name.
 * @example resolveGpu("H200").sms // 132
 */
export const resolveGpu = (name: string, extra: readonly GpuSpec[] = []): GpuSpec => {
  const found = extra.find((g) => g.name === name) ?? (GPU_PRESETS as Record<string, GpuSpec>)[name]
  if (found === undefined) {
    const known = [...GPU_NAMES, ...extra.map((g) => g.name)].join(", ")
    throw new RangeError(`unknown GPU "${name}" (known: ${known}; add a device file for others)`)
  }
  return found
}

/** Finds a link preset by name. */
export const resolveLink = (name: string): LinkSpec => {
  const found = (LINK_PRESETS as Record<string, LinkSpec>)[name]
  if (found === undefined) throw new RangeError(`unknown link "${name}" (known: ${Object.keys(LINK_PRESETS).join(", ")})`)
  return found
}
