import type { CostModel } from "../core/costModel.js"
import type { Resolved } from "./resolved.js"

/**
 * The cost model of each worker id: `shared-*` workers price with the Shared-KV pool's model, the
 * rest (unique workers, links) with the Unique-KV pool's. Memoised per id.
 * @example new PricedExecutor(clock, poolCostModelOf(resolved))
 */
export const poolCostModelOf = (resolved: Resolved): ((workerId: string) => CostModel) => {
  const models = new Map<string, CostModel>()
  return (workerId) => {
    const m = models.get(workerId)
    if (m !== undefined) return m
    const pool = workerId.startsWith("shared-") ? resolved.shared : resolved.unique
    if (pool === null) throw new Error(`no cost model for worker ${workerId}`)
    models.set(workerId, pool.cost)
    return pool.cost
  }
}
