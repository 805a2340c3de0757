import * as Either from "effect/Either"
import type { Scenario, ScenarioInput } from "../../../core/scenario.js"
import { decodeScenario } from "../../../core/scenarioLoader.js"

/** The three "beyond the paper" studies of issue 4. */
export type BeyondStudy = "load" | "skew" | "window"

/** One simulator run of a study: what varies, and the decoded scenario that runs it. */
export interface BeyondPoint {
  readonly study: BeyondStudy
  /** System label for the tables (moska variants are told apart by policy). */
  readonly system: string
  /** The swept value, for the tables: arrival rate (req/s), Zipf exponent (0 = uniform), or the batcher policy. */
  readonly x: number | string
  readonly scenario: Scenario
}

/** Sizes of the sweeps; `tiny` is for tests (seconds), `full` for docs/beyond-paper.md (minutes). */
export interface BeyondScale {
  /** Load study: shared corpus tokens, unique replicas and shared GPUs of moska (baselines get the sum, sharded). */
  readonly loadSharedTokens: number
  readonly loadUniqueReplicas: number
  readonly loadSharedGpus: number
  /** Poisson arrival rates, requests/s, light to past saturation. */
  readonly rates: readonly number[]
  readonly loadRequests: number
  /** Skew and window studies: a smaller corpus (exact routing prices one kernel row per chunk). */
  readonly routingSharedTokens: number
  readonly routingUniqueReplicas: number
  /** Requests in flight per unique replica (closed loop; the memory limit is 27 at 64K unique tokens). */
  readonly routingConcurrencyPerReplica: number
  readonly routingWaves: number
  readonly zipfExponents: readonly number[]
  /** Window policies: windowNs × maxRows. */
  readonly windowsNs: readonly number[]
  readonly maxRows: readonly number[]
  /** Window policy of the `moska (window)` line of the load study. */
  readonly loadWindow: { readonly windowNs: number; readonly maxRows: number }
  readonly uniqueTokens: number
  readonly outputTokens: number
}

export const FULL_SCALE: BeyondScale = {
  loadSharedTokens: 4 * 2 ** 20,
  loadUniqueReplicas: 5,
  loadSharedGpus: 3,
  rates: [1, 2, 5, 10, 15, 20, 30, 45, 60],
  loadRequests: 400,
  routingSharedTokens: 2 ** 20,
  routingUniqueReplicas: 3,
  routingConcurrencyPerReplica: 27,
  routingWaves: 3,
  zipfExponents: [0, 0.5, 1, 1.5, 2],
  windowsNs: [1_000_000, 5_000_000, 20_000_000],
  maxRows: [8, 128],
  loadWindow: { windowNs: 5_000_000, maxRows: 128 },
  uniqueTokens: 65_536,
  outputTokens: 128,
}

/** Seconds, not minutes: a 1M corpus, short outputs, few requests (the CLI's `--quick` and the test). */
export const TINY_SCALE: BeyondScale = {
  ...FULL_SCALE,
  loadSharedTokens: 2 ** 20,
  loadUniqueReplicas: 2,
  loadSharedGpus: 1,
  rates: [2, 40],
  loadRequests: 60,
  routingUniqueReplicas: 2,
  routingConcurrencyPerReplica: 16,
  routingWaves: 1,
  zipfExponents: [0, 2],
  windowsNs: [5_000_000],
  maxRows: [128],
  uniqueTokens: 16_384,
  outputTokens: 16,
}

const base = (s: BeyondScale, device: string): Omit<ScenarioInput, "workload"> => ({
  seed: 1,
  model: "llama-3.1-8b",
  precision: { kv: "fp8", weights: "fp8", math: "fp8" },
  corpus: { sharedTokens: s.loadSharedTokens, chunkTokens: 16_384, sparsity: 0.75, routing: { kind: "uniform" } },
  hardware: { costModel: "cycle", unique: { gpu: device }, shared: { gpu: device } },
  // Decode only, as in scenarios/paper: prefill of a 64K prompt (~1 s) is the same for every system
  // and would hide the decode-side differences these studies are about.
  policy: { maxBatch: 256, prefill: false, disaggregated: true, overlap: true },
  trace: "kernels",
})

const decode = (raw: ScenarioInput, name: string): Scenario =>
  Either.getOrThrowWith(decodeScenario({ ...raw, name }, `beyond-paper/${name}`), (e) => e)

/**
 * The runs behind docs/beyond-paper.md, as decoded scenarios on the named (calibrated) device:
 *
 * - load: Poisson arrivals at each rate for disaggregated moska (barrier and window batcher) on
 *   `loadUniqueReplicas` 1-GPU unique replicas plus a sharded shared pool of `loadSharedGpus`,
 *   against prefix and cascade on the same GPU count as one sharded replica (fast routing);
 * - skew: moska, closed loop at full memory-limited batch, exact routing (one kernel row per chunk),
 *   uniform and Zipf(s) routing, barrier batcher;
 * - window: the same scenario, uniform routing, barrier vs per-chunk time windows (windowNs × maxRows).
 * @example beyondPlan(TINY_SCALE, "H200-cal").filter((p) => p.study === "load").length // 8
 */
export const beyondPlan = (s: BeyondScale, device: string): BeyondPoint[] => {
  const b = base(s, device)
  const lengths = { uniqueTokens: { kind: "fixed", value: s.uniqueTokens }, outputTokens: { kind: "fixed", value: s.outputTokens } } as const
  const points: BeyondPoint[] = []
  const totalGpus = s.loadUniqueReplicas + s.loadSharedGpus
  const loadSystems = [
    { system: "moska (barrier)", raw: { system: "moska", batcher: { kind: "barrier" } } },
    { system: "moska (window)", raw: { system: "moska", batcher: { kind: "window", ...s.loadWindow } } },
    { system: "prefix", raw: { system: "prefix", batcher: { kind: "barrier" } } },
    { system: "cascade", raw: { system: "cascade", batcher: { kind: "barrier" } } },
  ] as const
  for (const sys of loadSystems) {
    for (const rate of s.rates) {
      const moska = sys.raw.system === "moska"
      const raw: ScenarioInput = {
        ...b,
        system: sys.raw.system,
        hardware: {
          costModel: "cycle",
          unique: moska ? { gpu: device, count: s.loadUniqueReplicas, parallel: "replicas" } : { gpu: device, count: totalGpus, parallel: "sharded" },
          shared: { gpu: device, count: s.loadSharedGpus, parallel: "sharded" },
        },
        policy: { ...b.policy, batcher: sys.raw.batcher, routingMode: "fast" },
        workload: { kind: "poisson", ratePerS: rate, requests: s.loadRequests, ...lengths },
      }
      points.push({ study: "load", system: sys.system, x: rate, scenario: decode(raw, `load-${sys.raw.system}-${sys.raw.batcher.kind}-${rate}`) })
    }
  }
  const concurrency = s.routingUniqueReplicas * s.routingConcurrencyPerReplica
  const routingRaw = (routing: NonNullable<ScenarioInput["corpus"]>["routing"], batcher: NonNullable<ScenarioInput["policy"]>["batcher"]): ScenarioInput => ({
    ...b,
    system: "moska",
    corpus: { sharedTokens: s.routingSharedTokens, chunkTokens: 16_384, sparsity: 0.75, ...(routing !== undefined ? { routing } : {}) },
    hardware: { costModel: "cycle", unique: { gpu: device, count: s.routingUniqueReplicas, parallel: "replicas" }, shared: { gpu: device, count: 1, parallel: "sharded" } },
    policy: { ...b.policy, maxBatch: s.routingConcurrencyPerReplica, routingMode: "exact", ...(batcher !== undefined ? { batcher } : {}) },
    workload: { kind: "closed", concurrency, requests: concurrency * s.routingWaves, ...lengths },
  })
  for (const z of s.zipfExponents) {
    const routing = z === 0 ? { kind: "uniform" as const } : { kind: "zipf" as const, exponent: z }
    points.push({ study: "skew", system: "moska (barrier)", x: z, scenario: decode(routingRaw(routing, { kind: "barrier" }), `skew-${z}`) })
  }
  points.push({ study: "window", system: "moska", x: "barrier", scenario: decode(routingRaw({ kind: "uniform" }, { kind: "barrier" }), "window-barrier") })
  for (const w of s.windowsNs) {
    for (const m of s.maxRows) {
      points.push({
        study: "window", system: "moska", x: `window ${w / 1e6} ms, maxRows ${m}`,
        scenario: decode(routingRaw({ kind: "uniform" }, { kind: "window", windowNs: w, maxRows: m }), `window-${w}-${m}`),
      })
    }
  }
  return points
}
