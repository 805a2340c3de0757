import * as S from "effect/Schema"
import { UsageError } from "../core/errors.js"
import { Live, type Scenario } from "../core/scenario.js"
import type { Resolved } from "../engine/resolved.js"
import { checkDecoderDims, type DecoderDims } from "../gpu/decoder/decoderDims.js"
import { resolveScenario } from "../sim/resolve.js"

export type ExecutorKind = "webgpu" | "priced"

/** Llama dims of the scenario's model, for the decoder (RoPE base and epsilon: Llama 3's). */
export const decoderDimsOf = (r: Resolved): DecoderDims => ({
  layers: r.model.layers, hidden: r.model.hidden, qHeads: r.model.qHeads, kvHeads: r.model.kvHeads, headDim: r.model.headDim,
  intermediate: r.model.ffn, vocab: r.model.vocab, ropeTheta: 500_000, rmsEps: 1e-5,
})

const usage = (message: string): UsageError => new UsageError({ message })

/**
 * What `moska live`, `replay --live` and `moska serve` check before a device or the database is
 * touched: the `live` section with its defaults, the executor (`--executor` over `live.executor`),
 * the scenario with continuous batching capped at the device's KV slots (webgpu), resolved
 * (CapacityExceeded: exit 2), and what the WebGPU decoder can run today (one device holding the
 * corpus, whole iterations, real prefill, dims its kernels take). `command` names the command in
 * the messages. `remote` (live --bind, and its workers): the GPU work runs on worker processes, one
 * device each, so a disaggregated scenario with any pool sizes is theirs to run (remoteDeployment checks the rest).
 * @example const { scenario, resolved, live, kind } = prepareLiveScenario(input, opts.executor, "live")
 */
export const prepareLiveScenario = (input: Scenario, executor: string | undefined, command: "live" | "serve", remote = false) => {
  const live = S.decodeUnknownSync(Live)(input.live ?? {})
  const kind = executor ?? live.executor
  if (kind !== "webgpu" && kind !== "priced") throw usage(`--executor must be webgpu or priced (got "${kind}")`)
  // A device holds `slots` requests' KV: continuous batching cannot go wider than that.
  const scenario: Scenario = kind === "webgpu" ? { ...input, policy: { ...input.policy, maxBatch: Math.min(input.policy.maxBatch, live.slots) } } : input
  const resolved = resolveScenario(scenario)
  if (kind === "webgpu") {
    const cmd = `${command} --executor webgpu`
    if (resolved.disaggregated && !remote) throw usage(`${cmd} runs MoSKA colocated on one device: set policy.disaggregated=false (or use --executor priced, or --bind with webgpu workers)`)
    if (resolved.unique.workers !== 1 && !remote) throw usage(`${cmd} drives one device: set hardware.unique.count=1 (got ${resolved.unique.workers} workers)`)
    if (scenario.policy.granularity !== "iteration") throw usage(`${cmd} runs whole iterations: set policy.granularity=iteration`)
    if (!scenario.policy.prefill) throw usage(`${cmd} prefills every prompt for real: set policy.prefill=true`)
    if (live.maxContextTokens % 16 !== 0) throw usage(`live.maxContextTokens must be a multiple of 16 (got ${live.maxContextTokens})`)
    const dims = checkDecoderDims(decoderDimsOf(resolved))
    if (dims !== undefined) throw usage(`model: ${dims}`)
  }
  return { scenario, resolved, live, kind: kind as ExecutorKind }
}
