import { ScenarioInvalid } from "../../core/errors.js"
import type { Rng } from "../../core/rng.js"
import type { WorkloadConfig } from "../../core/scenario.js"
import { NS_PER_S, type Ns } from "../../core/units.js"
import type { RequestSpec, WorkloadSource } from "../../core/workload.js"
import { exponential, gamma } from "../random/distributions.js"
import { drawLength, meanLength } from "./lengthDist.js"
import { MAX_VIRTUAL_NS, workloadTimeIssue } from "./workloadTimeIssue.js"

export type { WorkloadSource } from "../../core/workload.js"

/**
 * Builds the request source of a scenario. Poisson: exponential gaps; gamma: gamma gaps with
 * shape 1/cv² (mean kept at 1/rate); closed: fixed concurrency, no think time; trace: the parsed
 * requests, sorted by arrival (stable), with `timeScale` applied to the gaps and `limit` to the
 * count. Lengths and gaps come from separate child streams, so changing one leaves the other alone.
 * @example makeWorkload({ kind: "poisson", ratePerS: 10, requests: 100, ... }, rng.split("workload"))
 */
export const makeWorkload = (cfg: WorkloadConfig, rng: Rng, traceRequests?: readonly RequestSpec[]): WorkloadSource => {
  if (cfg.kind === "trace") {
    if (traceRequests === undefined) throw new Error("runSimulation: workload.kind is trace but no traceRequests were given (parse the trace with src/traces first)")
    const timeIssue = workloadTimeIssue(cfg, traceRequests)
    if (timeIssue !== undefined) throw new ScenarioInvalid({ source: "scenario", issues: [timeIssue] })
    const sorted = [...traceRequests].sort((a, b) => a.arrivalNs - b.arrivalNs)
    const limited = cfg.limit === undefined ? sorted : sorted.slice(0, cfg.limit)
    const t0 = limited[0]?.arrivalNs ?? 0
    let i = 0
    let sumU = 0
    let sumO = 0
    for (const r of limited) {
      sumU += r.uniqueTokens
      sumO += r.outputTokens
    }
    return {
      kind: "open",
      total: limited.length,
      meanUnique: limited.length > 0 ? sumU / limited.length : 0,
      meanOutput: limited.length > 0 ? sumO / limited.length : 0,
      next() {
        const r = limited[i]
        if (r === undefined) return undefined
        const arrivalNs = Math.round(t0 + (r.arrivalNs - t0) * cfg.timeScale) as Ns
        const spec: RequestSpec = {
          id: r.id,
          arrivalNs,
          uniqueTokens: Math.max(0, Math.round(r.uniqueTokens)),
          outputTokens: Math.max(1, Math.round(r.outputTokens)),
          ...(r.blocks === undefined ? {} : { blocks: r.blocks }),
        }
        i++
        return spec
      },
    }
  }
  const lengths = rng.split("lengths")
  const uRng = lengths.split("unique")
  const oRng = lengths.split("output")
  const meanUnique = meanLength(cfg.uniqueTokens)
  const meanOutput = meanLength(cfg.outputTokens)
  let issued = 0
  const make = (arrivalNs: Ns): RequestSpec => ({
    id: issued++,
    arrivalNs,
    uniqueTokens: drawLength(cfg.uniqueTokens, uRng),
    outputTokens: drawLength(cfg.outputTokens, oRng),
  })
  if (cfg.kind === "closed") {
    return {
      kind: "closed",
      total: cfg.requests,
      concurrency: Math.min(cfg.concurrency, cfg.requests),
      meanUnique,
      meanOutput,
      next: (arrivalNs) => (issued < cfg.requests ? make(arrivalNs) : undefined),
    }
  }
  const gaps = rng.split("arrivals")
  const meanGapNs = NS_PER_S / cfg.ratePerS
  const gap =
    cfg.kind === "poisson"
      ? () => exponential(gaps, meanGapNs)
      : (() => {
          const shape = 1 / (cfg.cv * cfg.cv)
          const scale = meanGapNs / shape
          return () => gamma(gaps, shape) * scale
        })()
  let t = 0
  return {
    kind: "open",
    total: cfg.requests,
    meanUnique,
    meanOutput,
    next() {
      if (issued >= cfg.requests) return undefined
      if (issued > 0) t += gap()
      // the schema bounds requests / ratePerS; this catches a random draw far out in the tail
      if (!(t <= MAX_VIRTUAL_NS)) {
        throw new ScenarioInvalid({
          source: "scenario",
          issues: [{ path: "workload.ratePerS", message: `request ${issued} would arrive after ${(t / 1e9).toPrecision(3)} s, beyond the 2^53 ns (about 104 days) a run can simulate; raise ratePerS or lower requests` }],
        })
      }
      return make(Math.round(t) as Ns)
    },
  }
}
