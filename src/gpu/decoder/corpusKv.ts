import { InputFileInvalid } from "../../core/errors.js"
import type { GpuContext } from "../device.js"
import { gpuOps, type Pass } from "../gpuOps.js"
import { allocKv, destroyKv, kvSegments, type GpuKv } from "../kvBuffers.js"
import { CENTROID_BINDINGS, centroidWgsl } from "./centroid.wgsl.js"
import { CORPUS_FILL_BINDINGS, corpusFillWgsl } from "./corpusFill.wgsl.js"
import type { DecoderDims } from "./decoderDims.js"
import { decoderKernel } from "./decoderKernel.js"
import type { SafetensorsFile } from "./safetensors.js"
import { corpusSeeds } from "./syntheticCorpus.js"

/** The shared corpus on the GPU: per layer K/V rows [S, Hkv] of D f32, and chunk centroids [N, Hkv, D]. */
export interface GpuCorpus {
  readonly tokens: number
  readonly chunkTokens: number
  readonly chunks: number
  readonly kv: readonly GpuKv[]
  readonly centroids: readonly GPUBuffer[]
}

/** Names of layer `l`'s corpus tensors in a corpus file: [tokens, kvHeads, headDim] each. */
export const corpusTensorNames = (l: number): { k: string; v: string } => ({ k: `corpus.layers.${l}.k`, v: `corpus.layers.${l}.v` })

/** Checks a corpus file's tensors against the dims and corpus size before anything is allocated. */
export const checkCorpusFile = (st: SafetensorsFile, dims: DecoderDims, tokens: number): void => {
  const want = [tokens, dims.kvHeads, dims.headDim]
  for (let l = 0; l < dims.layers; l++)
    for (const name of Object.values(corpusTensorNames(l))) {
      const e = st.tensors.get(name)
      if (e === undefined) throw new InputFileInvalid({ file: st.file, message: `tensor ${name} is missing (want shape [${want.join(", ")}])` })
      if (e.shape.length !== 3 || e.shape.some((x, i) => x !== want[i])) throw new InputFileInvalid({ file: st.file, message: `tensor ${name} has shape [${e.shape.join(", ")}]; want [${want.join(", ")}]` })
    }
}

/**
 * Allocates the corpus, fills it on the GPU from `seed` (or uploads it from a checked corpus file)
 * and computes the chunk centroids on the GPU, once. `keep: "centroids"` (a decoder whose shared
 * attention runs elsewhere) frees each layer's K/V once its centroids are done, so `kv` is empty.
 * @example const corpus = await loadCorpus(gpu, dims, { tokens: 4096, chunkTokens: 512 }, 7, undefined)
 */
export const loadCorpus = async (gpu: GpuContext, dims: DecoderDims, c: { tokens: number; chunkTokens: number }, seed: number, file: SafetensorsFile | undefined, keep: "all" | "centroids" = "all"): Promise<GpuCorpus> => {
  const { kvHeads: Hkv, headDim: D } = dims
  const S = c.tokens
  const C = c.chunkTokens
  const N = Math.ceil(S / C)
  const row = Hkv * D
  const fill = await decoderKernel(gpu, "decoder.corpusFill", CORPUS_FILL_BINDINGS, corpusFillWgsl())
  const cent = await decoderKernel(gpu, "decoder.centroid", CENTROID_BINDINGS, centroidWgsl())
  const kv: GpuKv[] = []
  const centroids: GPUBuffer[] = []
  const temp: GPUBuffer[] = []
  for (let l = 0; l < dims.layers; l++) {
    const layer = allocKv(gpu, "f32", D, S * Hkv)
    if (keep === "all") kv.push(layer)
    const cb = gpuOps.buffer(gpu, N * row * 4, `corpus.centroids.${l}`)
    centroids.push(cb)
    const passes: Pass[] = []
    const segs = kvSegments(gpu, layer, C * Hkv, N)
    if (file === undefined) {
      const s = corpusSeeds(seed, l)
      for (const seg of segs) {
        const elem0 = seg.unit0 * C * row
        const count = Math.min(seg.units * C, S - seg.unit0 * C) * row
        for (let off = 0; off < count; off += 2 ** 24) {
          const n = Math.min(2 ** 24, count - off)
          const params = gpuOps.uniform(gpu, [elem0, n, row, C, s.k, s.v, s.bias, off], "corpusFill.params")
          temp.push(params)
          const bind = { offset: seg.offset, size: seg.size }
          passes.push({ pipeline: fill.pipeline, group: fill.group({ k: { buffer: layer.k, ...bind }, v: { buffer: layer.v, ...bind }, params }), workgroups: gpuOps.grid(gpu, Math.ceil(n / 256)) })
        }
      }
    } else {
      const names = corpusTensorNames(l)
      gpuOps.write(gpu, layer.k, file.readF32(names.k))
      gpuOps.write(gpu, layer.v, file.readF32(names.v))
    }
    for (const seg of segs) {
      const segTokens = Math.min(seg.units * C, S - seg.unit0 * C)
      const params = gpuOps.uniform(gpu, [seg.units, seg.unit0, C, segTokens, row, 0, 0, 0], "centroid.params")
      temp.push(params)
      passes.push({ pipeline: cent.pipeline, group: cent.group({ k: { buffer: layer.k, offset: seg.offset, size: seg.size }, cent: cb, params }), workgroups: gpuOps.grid(gpu, Math.ceil((seg.units * row) / 256)) })
    }
    await gpuOps.submit(gpu, `decoder corpus layer ${l}`, passes)
    if (keep === "centroids") {
      // one layer's K/V at a time: wait for its centroids before it goes
      await gpu.device.queue.onSubmittedWorkDone()
      destroyKv(layer)
    }
  }
  await gpu.device.queue.onSubmittedWorkDone()
  temp.forEach((b) => b.destroy())
  return { tokens: S, chunkTokens: C, chunks: N, kv, centroids }
}

export const destroyCorpus = (c: GpuCorpus): void => {
  c.kv.forEach(destroyKv)
  c.centroids.forEach((b) => b.destroy())
}
