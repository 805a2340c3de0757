import type { Rng } from "../../core/rng.js"
import type { Resolved } from "../resolve.js"
import { randomRouting } from "./randomRouting.js"
import type { RoutingModel } from "../../engine/routingModel.js"
import { traceRouting } from "./traceRouting.js"

/**
 * The routing law of a run from `corpus.routing`. Zipf popularity follows a seeded random ranking
 * of the chunks (drawn from `rng`), so the hot chunks are not simply the first ones.
 * @example makeRouting(resolved.corpus, rng.split("router"))
 */
export const makeRouting = (corpus: Resolved["corpus"], rng: Rng): RoutingModel => {
  const { chunks, topK, routing } = corpus
  switch (routing.kind) {
    case "uniform":
      return randomRouting({ chunks, topK, weights: undefined })
    case "zipf": {
      const rank = new Int32Array(chunks)
      for (let i = 0; i < chunks; i++) rank[i] = i
      const r = rng.split("ranking")
      for (let i = chunks - 1; i > 0; i--) {
        const j = r.int(i + 1)
        const t = rank[i] as number
        rank[i] = rank[j] as number
        rank[j] = t
      }
      const weights = new Float64Array(chunks)
      for (let c = 0; c < chunks; c++) weights[c] = Math.pow((rank[c] as number) + 1, -routing.exponent)
      return randomRouting({ chunks, topK, weights })
    }
    case "trace":
      return traceRouting({ chunks, topK })
  }
}
