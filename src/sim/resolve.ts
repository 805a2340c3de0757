import type { CostModel } from "../core/costModel.js"
import { bytesPer, type DType } from "../core/dtype.js"
import { CapacityExceeded } from "../core/errors.js"
import { LINK_PRESETS, type LinkSpec } from "../core/hardware.js"
import { kvBytesPerToken, MODEL_PRESETS, type ModelSpec } from "../core/model.js"
import type { PoolResolved, Resolved } from "../engine/resolved.js"
import type { Scenario } from "../core/scenario.js"
import { defaultCostModelResolver, poolParallel, type PoolConfig, type PoolName } from "./costModels.js"

export { requestKvBytes, type PoolResolved, type Resolved, type RoutingConfig, type System } from "../engine/resolved.js"

export type CostModelResolver = (pool: PoolName, cfg: PoolConfig) => CostModel

/**
 * Expands presets and checks that the configuration can run at all. Throws `CapacityExceeded`
 * when the weights or the shared corpus cannot fit where the system keeps them.
 * @example resolveScenario(scenario).corpus.topK // 16 for 64 chunks at sparsity 0.75
 */
export const resolveScenario = (scenario: Scenario, resolveCostModel?: CostModelResolver): Resolved => {
  const model: ModelSpec = typeof scenario.model === "string" ? MODEL_PRESETS[scenario.model] : scenario.model
  const precision = scenario.precision
  const kvTok = kvBytesPerToken(model, bytesPer[precision.kv])
  const weightBytes = model.params * bytesPer[precision.weights]
  const c = scenario.corpus
  const chunks = Math.ceil(c.sharedTokens / c.chunkTokens)
  const topK = Math.min(chunks, c.topK ?? Math.max(1, Math.round((1 - c.sparsity) * chunks)))
  const corpusBytes = c.sharedTokens * kvTok
  const resolver = resolveCostModel ?? defaultCostModelResolver(scenario.hardware.costModel)
  const disaggregated = scenario.system === "moska" && scenario.policy.disaggregated
  const corpusOnUnique = scenario.system !== "private" && !disaggregated

  const pool = (name: PoolName): PoolResolved => {
    const cfg = scenario.hardware[name]
    const parallel = poolParallel(name, cfg)
    const cost = resolver(name, cfg)
    return { workers: parallel === "sharded" ? 1 : cfg.count, parallel, cost, capacityBytes: cfg.memoryFraction * cost.gpu.hbmBytes }
  }
  const unique = pool("unique")
  const shared = disaggregated ? pool("shared") : null

  if (shared !== null && corpusBytes > shared.capacityBytes) {
    throw new CapacityExceeded({
      what: `the shared corpus (${c.sharedTokens} tokens) on one Shared-KV worker (${shared.cost.gpu.name}; add GPUs to hardware.shared.count with parallel: sharded)`,
      needBytes: corpusBytes,
      capacityBytes: shared.capacityBytes,
    })
  }
  const resident = weightBytes + (corpusOnUnique ? corpusBytes : 0)
  if (resident >= unique.capacityBytes) {
    throw new CapacityExceeded({
      what: corpusOnUnique
        ? `model weights plus the shared corpus (${c.sharedTokens} tokens) on one unique worker (${unique.cost.gpu.name})`
        : `model weights on one unique worker (${unique.cost.gpu.name})`,
      needBytes: resident,
      capacityBytes: unique.capacityBytes,
    })
  }
  const sharedLink = scenario.hardware.interconnect
  const preset = LINK_PRESETS[sharedLink.link]
  const link: LinkSpec = {
    ...preset,
    bandwidthBps: sharedLink.bandwidthBps ?? preset.bandwidthBps,
    latencyNs: sharedLink.latencyNs ?? preset.latencyNs,
  }
  return {
    system: scenario.system,
    model,
    precision,
    kvBytesPerToken: kvTok,
    weightBytes,
    corpus: { sharedTokens: c.sharedTokens, chunkTokens: c.chunkTokens, chunks, topK, routing: c.routing, bytes: corpusBytes },
    disaggregated,
    corpusOnUnique,
    unique,
    shared,
    link,
    stepsPerIteration: scenario.policy.granularity === "layer" ? model.layers : 1,
    kvBudgetBytes: unique.capacityBytes - resident,
  }
}
