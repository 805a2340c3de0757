import type { GpuSpec } from "./hardware.js"
import type { KernelSpec } from "./kernels.js"
import type { Ns } from "./units.js"

/** What limited a kernel's time. */
export type BoundBy = "compute" | "memory" | "latency" | "link"

/** A priced kernel. `detail` carries model-specific facts (cycles, tiles, waves) for reports. */
export interface KernelCost {
  readonly ns: Ns
  readonly flops: number
  readonly bytes: number
  readonly boundBy: BoundBy
  readonly detail?: Readonly<Record<string, number | string>>
}

/**
 * Port: prices GPU work on one device. `PricedExecutor` completes work after `price(spec).ns` of
 * virtual time. Implementations: the roofline model (src/sim/roofline) and the cycle-level model
 * (src/sim/hw). Must be pure and deterministic.
 * @example const c = model.price({ kind: "gemm", m: 64, n: 4096, k: 4096, dtype: "bf16", count: 32 })
 */
export interface CostModel {
  readonly name: string
  readonly gpu: GpuSpec
  price(spec: KernelSpec): KernelCost
}

/** Builds a cost model for one device; scenarios pick one by name. */
export type CostModelFactory = (gpu: GpuSpec) => CostModel
