import type { SharedUnit } from "../shared/sharedAttention.js"

/**
 * Stacks the router's choice into shared-attention units: for each (chunk, KV head) picked by at
 * least one request, the rows b·Hq + hq of every request that picked it, times the GQA group.
 * `where[(b·Hkv + h)·K + k]` gives the unit and the unit-local index of the group's first row.
 * @example const { units, where } = routedUnits(chunks, B, Hq, Hkv, K)
 */
export const routedUnits = (chunks: Int32Array, B: number, Hq: number, Hkv: number, K: number): { units: SharedUnit[]; where: Array<{ unit: number; row: number }> } => {
  const G = Hq / Hkv
  const byKey = new Map<number, { chunk: number; kvHead: number; rows: number[] }>()
  const where: Array<{ unit: number; row: number }> = []
  const order: number[] = []
  const keys: number[] = []
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hkv; h++)
      for (let k = 0; k < K; k++) {
        const c = chunks[(b * Hkv + h) * K + k]!
        const key = c * Hkv + h
        let u = byKey.get(key)
        if (u === undefined) {
          u = { chunk: c, kvHead: h, rows: [] }
          byKey.set(key, u)
          keys.push(key)
        }
        order.push(key)
        where.push({ unit: -1, row: u.rows.length })
        for (let g = 0; g < G; g++) u.rows.push(b * Hq + h * G + g)
      }
  const index = new Map(keys.map((k, i) => [k, i]))
  where.forEach((w, i) => {
    w.unit = index.get(order[i]!)!
  })
  return { units: keys.map((k) => byKey.get(k)!), where }
}
