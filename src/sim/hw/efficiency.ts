import type { GpuSpec, KernelEfficiency } from "../../core/hardware.js"

/**
 * The efficiency a kernel class runs at on a device: the calibrated factors when the device has
 * them for the class, else datasheet rates (1.0) and the device's launch latency.
 * @example efficiencyFor(gpu, "gemm.cublas.bf16") // { compute: 0.72, memory: 0.88, launchNs: 3100 }
 */
export const efficiencyFor = (gpu: GpuSpec, klass: string): KernelEfficiency =>
  gpu.efficiency?.[klass] ?? { compute: 1, memory: 1, launchNs: gpu.launchNs }
