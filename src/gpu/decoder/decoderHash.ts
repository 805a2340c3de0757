/**
 * The counter-based hash behind every synthetic tensor and every sampled token: PCG's output
 * permutation of one LCG step (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020), in
 * WGSL and as its exact JS twin, so the float64 reference regenerates the very values the GPU fills
 * and re-draws the very noise the sampler adds. Values are built from integers times powers of two,
 * so they are exact in f32 on both sides.
 * @example decoderHash.weight(decoderHash.tensorSeed(1, "model.norm.weight"), 0, "norm") // 1 ± 1/8
 */
const pcg = (v: number): number => {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0
  return ((word >>> 22) ^ word) >>> 0
}

/** WGSL of `pcg` (identical arithmetic, wrapping u32). */
const PCG_WGSL = `fn pcg(v: u32) -> u32 { let state = v * 747796405u + 2891336453u; let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u; return (word >> 22u) ^ word; }`

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** Seed of one named tensor (a Hugging Face tensor name, or `corpus.{l}.k` / `.v` / `.bias`). */
const tensorSeed = (seed: number, name: string): number => pcg((seed >>> 0) ^ fnv1a(name))

/** Element hash: element `i` of the tensor with seed `st`. */
const element = (st: number, i: number): number => pcg(pcg(i >>> 0) ^ st)

/**
 * Synthetic weight value: "dense" is uniform on ±2⁻⁵ (std ≈ 0.018, the N(0, 0.02) scale of Llama's
 * initializer), in steps of 2⁻²⁸; "norm" is 1 ± 1/8 in steps of 2⁻²² (so a norm weight that is not
 * applied shows). Both exact in f32.
 */
const weight = (st: number, i: number, kind: "dense" | "norm"): number => {
  const h = element(st, i)
  return kind === "dense" ? ((h >>> 8) - 8388608) * 2 ** -28 : 1 + ((h >>> 12) - 524288) * 2 ** -22
}

/** WGSL twins of `element` and `weight` (kind 0 = dense, 1 = norm). */
const WEIGHT_WGSL = `${PCG_WGSL}
fn element(st: u32, i: u32) -> u32 { return pcg(pcg(i) ^ st); }
fn weightValue(st: u32, i: u32, kind: u32) -> f32 {
  let h = element(st, i);
  if (kind == 0u) { return f32(i32(h >> 8u) - 8388608) * ${2 ** -28}; }
  return 1.0 + f32(i32(h >> 12u) - 524288) * ${2 ** -22};
}`

/**
 * Synthetic corpus value: a 12-bit noise term plus, for keys, a 12-bit term shared by every token
 * of a chunk (per KV head and dim), times 2⁻¹²: keys of one chunk cluster around their centroid, as
 * keys of one document do, so top-k routing has real choices to make. Exact in f32.
 */
const corpus = (noiseSeed: number, biasSeed: number | undefined, i: number, biasIndex: number): number => {
  const noise = (element(noiseSeed, i) >>> 20) - 2048
  const bias = biasSeed === undefined ? 0 : (element(biasSeed, biasIndex) >>> 20) - 2048
  return (noise + bias) * 2 ** -12
}

/** Uniform in (0, 1) from a hash: 24 bits, centred in its bucket so it is never 0 or 1. */
const unit = (h: number): number => ((h >>> 8) + 0.5) * 2 ** -24

/**
 * Gumbel noise for sampling vocabulary entry `v` of the token drawn at counter `ctr` (the position
 * it is drawn for) by a request with seed `seed`: argmax(logits / T + g) samples softmax(logits / T).
 */
const gumbel = (seed: number, ctr: number, v: number): number => -Math.log(-Math.log(unit(pcg((seed >>> 0) ^ pcg((ctr >>> 0) ^ pcg(v >>> 0))))))

const GUMBEL_WGSL = `fn gumbel(seed: u32, ctr: u32, v: u32) -> f32 {
  let u = (f32(pcg(seed ^ pcg(ctr ^ pcg(v))) >> 8u) + 0.5) * ${2 ** -24};
  return -log(-log(u));
}`

export const decoderHash = { pcg, PCG_WGSL, fnv1a, tensorSeed, element, weight, WEIGHT_WGSL, corpus, unit, gumbel, GUMBEL_WGSL }
