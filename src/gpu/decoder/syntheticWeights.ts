import type { DecoderDims } from "./decoderDims.js"
import { decoderHash } from "./decoderHash.js"
import { decoderTensors } from "./decoderTensors.js"

/**
 * The synthetic weights the GPU fills for `seed`, generated on the host (same hash, same exact
 * values), keyed by Hugging Face tensor name. For the float64 reference and for writing test
 * checkpoints; at real model sizes use the GPU fill instead.
 * @example const w = syntheticWeights(dims, 7); w.get("model.norm.weight")
 */
export const syntheticWeights = (dims: DecoderDims, seed: number): Map<string, Float32Array> => {
  const out = new Map<string, Float32Array>()
  for (const t of decoderTensors(dims)) {
    const n = t.shape.reduce((a, b) => a * b, 1)
    const st = decoderHash.tensorSeed(seed, t.name)
    const a = new Float32Array(n)
    for (let i = 0; i < n; i++) a[i] = decoderHash.weight(st, i, t.kind)
    out.set(t.name, a)
  }
  return out
}
