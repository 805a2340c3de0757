import { checkHeadDim } from "../kvFormat.js"

/**
 * Dimensions of a Llama-architecture decoder (the fields of a Hugging Face `config.json` that shape
 * the weights and the math): `intermediate` is the MLP width, `ropeTheta` the RoPE base, `rmsEps`
 * the RMSNorm epsilon.
 * @example const dims: DecoderDims = { layers: 32, hidden: 4096, qHeads: 32, kvHeads: 8, headDim: 128, intermediate: 14336, vocab: 128256, ropeTheta: 500000, rmsEps: 1e-5 }
 */
export interface DecoderDims {
  readonly layers: number
  readonly hidden: number
  readonly qHeads: number
  readonly kvHeads: number
  readonly headDim: number
  readonly intermediate: number
  readonly vocab: number
  readonly ropeTheta: number
  readonly rmsEps: number
}

const positiveInt = (x: number): boolean => Number.isInteger(x) && x > 0

/**
 * The first problem with `d`, as one line that says what to change, or undefined when the kernels
 * can run it: heads divide evenly (GQA), the head dim suits the attention kernels, hidden is a
 * multiple of 4 (RMSNorm and the matmul read rows whole), RoPE base and epsilon are positive.
 * @example checkDecoderDims({ ...dims, kvHeads: 3 }) // "dims.qHeads (32) must be a multiple of dims.kvHeads (3)"
 */
export const checkDecoderDims = (d: DecoderDims): string | undefined => {
  for (const k of ["layers", "hidden", "qHeads", "kvHeads", "headDim", "intermediate", "vocab"] as const)
    if (!positiveInt(d[k])) return `dims.${k} must be a positive integer (got ${d[k]})`
  if (d.qHeads % d.kvHeads !== 0) return `dims.qHeads (${d.qHeads}) must be a multiple of dims.kvHeads (${d.kvHeads})`
  const hd = checkHeadDim(d.headDim)
  if (hd !== undefined) return `dims.headDim: ${hd}`
  if (d.hidden % 4 !== 0) return `dims.hidden must be a multiple of 4 (got ${d.hidden})`
  if (d.vocab >= 2 ** 31) return `dims.vocab must be below 2^31 (got ${d.vocab})`
  if (!(d.ropeTheta > 1) || !Number.isFinite(d.ropeTheta)) return `dims.ropeTheta must be a finite number above 1 (got ${d.ropeTheta})`
  if (!(d.rmsEps > 0) || !Number.isFinite(d.rmsEps)) return `dims.rmsEps must be a positive finite number (got ${d.rmsEps})`
  return undefined
}
