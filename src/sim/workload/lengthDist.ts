import type { Rng } from "../../core/rng.js"
import type { DistConfig } from "../../core/scenario.js"
import { standardNormal } from "../random/distributions.js"

/**
 * One draw of a positive integer length (tokens) from a scenario distribution: fixed,
 * uniform[min, max] (inclusive) or lognormal(median, sigma) rounded and clamped to [1, max].
 * @example drawLength({ kind: "uniform", min: 10, max: 20 }, rng) // 10..20
 */
export const drawLength = (dist: DistConfig, rng: Rng): number => {
  switch (dist.kind) {
    case "fixed":
      return dist.value
    case "uniform": {
      const lo = Math.min(dist.min, dist.max)
      const hi = Math.max(dist.min, dist.max)
      return lo + rng.int(hi - lo + 1)
    }
    case "lognormal": {
      const v = Math.max(1, Math.round(dist.median * Math.exp(dist.sigma * standardNormal(rng))))
      return dist.max === undefined ? v : Math.min(dist.max, v)
    }
  }
}

/** Mean of the distribution (lognormal: unclamped mean), for capacity reports. */
export const meanLength = (dist: DistConfig): number => {
  switch (dist.kind) {
    case "fixed":
      return dist.value
    case "uniform":
      return (dist.min + dist.max) / 2
    case "lognormal": {
      const m = dist.median * Math.exp((dist.sigma * dist.sigma) / 2)
      return dist.max === undefined ? m : Math.min(dist.max, m)
    }
  }
}
