import type { CostModel, CostModelFactory } from "../core/costModel.js"
import { GPU_PRESETS, type GpuSpec } from "../core/hardware.js"
import type { Scenario } from "../core/scenario.js"
import { makeCycleCostModel } from "./hw/cycleCostModel.js"
import { roofline } from "./roofline.js"

/**
 * Cost models by the name a scenario gives in `hardware.costModel`. The hardware-model work adds
 * `cycle` (and calibrated devices) here; nothing else needs to change to use them.
 * @example COST_MODELS.roofline(GPU_PRESETS.H200).price(spec)
 */
export const COST_MODELS: Record<string, CostModelFactory> = {
  roofline,
  cycle: (gpu) => makeCycleCostModel(gpu),
  "cycle-event": (gpu) => makeCycleCostModel(gpu, { level: "event" }),
}

/** Calibrated or extra devices registered by name (looked up before `GPU_PRESETS`). */
export const GPU_REGISTRY: Record<string, GpuSpec> = {}

export type PoolConfig = Scenario["hardware"]["unique"]
export type PoolName = "unique" | "shared"

/** The effective parallelism of a pool: the unique pool defaults to replicas, the shared pool to sharded. */
export const poolParallel = (pool: PoolName, cfg: PoolConfig): "replicas" | "sharded" =>
  cfg.parallel ?? (pool === "unique" ? "replicas" : "sharded")

/** The device spec behind a pool's `gpu` name. Throws a plain Error naming the field when unknown. */
export const gpuByName = (name: string): GpuSpec => {
  const g = GPU_REGISTRY[name] ?? (GPU_PRESETS as Record<string, GpuSpec>)[name]
  if (g === undefined) {
    const known = [...Object.keys(GPU_PRESETS), ...Object.keys(GPU_REGISTRY)].join(", ")
    throw new Error(`hardware pool gpu must be one of ${known} (got ${JSON.stringify(name)})`)
  }
  return g
}

/**
 * `count` GPUs acting as one device (tensor/sequence parallel, work split evenly): capacities,
 * bandwidth and math rates add up; latency and per-SM facts stay those of one GPU.
 */
export const shardGpu = (gpu: GpuSpec, count: number): GpuSpec => {
  if (count === 1) return gpu
  const tensorFlops: Partial<Record<keyof GpuSpec["tensorFlops"], number>> = {}
  for (const [k, v] of Object.entries(gpu.tensorFlops)) tensorFlops[k as keyof GpuSpec["tensorFlops"]] = (v as number) * count
  return {
    ...gpu,
    name: `${gpu.name}x${count}`,
    hbmBytes: gpu.hbmBytes * count,
    hbmBandwidthBps: gpu.hbmBandwidthBps * count,
    tensorFlops,
    simtFp32Flops: gpu.simtFp32Flops * count,
    sms: gpu.sms * count,
    l2Bytes: gpu.l2Bytes * count,
    source: `${count} × ${gpu.name} sharded (${gpu.source})`,
  }
}

/**
 * The default `resolveCostModel` of `runSimulation`: the scenario's named model over the pool's
 * device, aggregated when the pool is sharded. The returned model prices the work of ONE worker of
 * the pool (a replica, or the whole sharded group). Custom resolvers must keep that meaning.
 */
export const defaultCostModelResolver =
  (costModel: string) =>
  (pool: PoolName, cfg: PoolConfig): CostModel => {
    const factory = COST_MODELS[costModel]
    if (factory === undefined) throw new Error(`hardware.costModel must be one of ${Object.keys(COST_MODELS).join(", ")} (got ${JSON.stringify(costModel)})`)
    const gpu = gpuByName(cfg.gpu)
    return factory(poolParallel(pool, cfg) === "sharded" ? shardGpu(gpu, cfg.count) : gpu)
  }
