import { CapacityExceeded, InputFileInvalid } from "../../core/errors.js"
import type { GpuContext } from "../device.js"
import { gpuOps, type Pass } from "../gpuOps.js"
import type { DecoderDims } from "./decoderDims.js"
import { decoderHash } from "./decoderHash.js"
import { decoderKernel } from "./decoderKernel.js"
import { decoderTensors } from "./decoderTensors.js"
import type { SafetensorsFile } from "./safetensors.js"
import { WEIGHT_FILL_BINDINGS, weightFillWgsl } from "./weightFill.wgsl.js"

/** Rows [n0, n0 + n) of a dense weight, in their own buffer (one storage binding). */
export interface WeightPart {
  readonly n0: number
  readonly n: number
  readonly buffer: GPUBuffer
}

/** A weight [rows, cols] in `nn.Linear` layout, split by rows into parts that each fit one binding. */
export interface DenseWeight {
  readonly rows: number
  readonly cols: number
  readonly parts: readonly WeightPart[]
}

export interface LayerWeights {
  readonly inNorm: GPUBuffer
  readonly postNorm: GPUBuffer
  /** q_proj | k_proj | v_proj stacked by rows: one matmul for all three. */
  readonly qkv: DenseWeight
  readonly o: DenseWeight
  /** gate_proj | up_proj stacked by rows. */
  readonly gateUp: DenseWeight
  readonly down: DenseWeight
}

/** The decoder's weights on the GPU, f32. */
export interface GpuWeights {
  readonly embed: DenseWeight
  /** The embedding itself when the checkpoint ties them (no lm_head.weight). */
  readonly lmHead: DenseWeight
  readonly finalNorm: GPUBuffer
  readonly layers: readonly LayerWeights[]
}

/** Rows per part so a part fits one storage binding; parts start on 256-byte boundaries by construction (own buffers). */
const rowsPerPart = (gpu: GpuContext, what: string, rows: number, cols: number): number => {
  const max = gpu.limits.maxStorageBufferBindingSize
  if (rows * cols * 4 <= max) return rows
  const n = Math.floor(max / (cols * 4))
  if (n < 1) throw new CapacityExceeded({ what: `one row of ${what} (${cols} f32)`, needBytes: cols * 4, capacityBytes: max })
  return n
}

/** Buffer sizes the weights will take, without allocating (for the capacity check). */
export const weightBuffers = (gpu: GpuContext, dims: DecoderDims, tied: boolean): Array<{ what: string; bytes: number }> => {
  const { hidden: H, qHeads: Hq, kvHeads: Hkv, headDim: D, intermediate: I, vocab: V } = dims
  const out: Array<{ what: string; bytes: number }> = []
  const dense = (what: string, rows: number, cols: number): void => {
    const per = rowsPerPart(gpu, what, rows, cols)
    for (let n0 = 0; n0 < rows; n0 += per) out.push({ what, bytes: Math.min(per, rows - n0) * cols * 4 })
  }
  dense("model.embed_tokens.weight", V, H)
  if (!tied) dense("lm_head.weight", V, H)
  out.push({ what: "model.norm.weight", bytes: H * 4 })
  for (let l = 0; l < dims.layers; l++) {
    out.push({ what: `model.layers.${l} norms`, bytes: 2 * H * 4 })
    dense(`model.layers.${l}.self_attn.qkv`, (Hq + 2 * Hkv) * D, H)
    dense(`model.layers.${l}.self_attn.o_proj.weight`, H, Hq * D)
    dense(`model.layers.${l}.mlp.gate_up`, 2 * I, H)
    dense(`model.layers.${l}.mlp.down_proj.weight`, H, I)
  }
  return out
}

const allocDense = (gpu: GpuContext, what: string, rows: number, cols: number): DenseWeight => {
  const per = rowsPerPart(gpu, what, rows, cols)
  const parts: WeightPart[] = []
  for (let n0 = 0; n0 < rows; n0 += per) {
    const n = Math.min(per, rows - n0)
    parts.push({ n0, n, buffer: gpuOps.buffer(gpu, n * cols * 4, what) })
  }
  return { rows, cols, parts }
}

/** Allocates the weight buffers (unfilled). */
export const allocWeights = (gpu: GpuContext, dims: DecoderDims, tied: boolean): GpuWeights => {
  const { hidden: H, qHeads: Hq, kvHeads: Hkv, headDim: D, intermediate: I, vocab: V } = dims
  const embed = allocDense(gpu, "embed_tokens", V, H)
  return {
    embed,
    lmHead: tied ? embed : allocDense(gpu, "lm_head", V, H),
    finalNorm: gpuOps.buffer(gpu, H * 4, "norm"),
    layers: Array.from({ length: dims.layers }, (_, l) => ({
      inNorm: gpuOps.buffer(gpu, H * 4, `l${l}.input_layernorm`),
      postNorm: gpuOps.buffer(gpu, H * 4, `l${l}.post_attention_layernorm`),
      qkv: allocDense(gpu, `l${l}.qkv`, (Hq + 2 * Hkv) * D, H),
      o: allocDense(gpu, `l${l}.o_proj`, H, Hq * D),
      gateUp: allocDense(gpu, `l${l}.gate_up`, 2 * I, H),
      down: allocDense(gpu, `l${l}.down_proj`, H, I),
    })),
  }
}

export const destroyWeights = (w: GpuWeights): void => {
  const dense = (d: DenseWeight): void => d.parts.forEach((p) => p.buffer.destroy())
  dense(w.embed)
  if (w.lmHead !== w.embed) dense(w.lmHead)
  w.finalNorm.destroy()
  for (const l of w.layers) {
    l.inNorm.destroy()
    l.postNorm.destroy()
    ;[l.qkv, l.o, l.gateUp, l.down].forEach(dense)
  }
}

/** Where a Hugging Face tensor lives: a norm buffer, or rows [row0, row0 + rows) of a dense weight. */
type Target = { readonly norm: GPUBuffer } | { readonly dense: DenseWeight; readonly row0: number }

const targets = (w: GpuWeights, dims: DecoderDims): Map<string, Target> => {
  const { qHeads: Hq, kvHeads: Hkv, headDim: D, intermediate: I } = dims
  const m = new Map<string, Target>([
    ["model.embed_tokens.weight", { dense: w.embed, row0: 0 }],
    ["model.norm.weight", { norm: w.finalNorm }],
  ])
  if (w.lmHead !== w.embed) m.set("lm_head.weight", { dense: w.lmHead, row0: 0 })
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`
    m.set(`${p}input_layernorm.weight`, { norm: l.inNorm })
    m.set(`${p}post_attention_layernorm.weight`, { norm: l.postNorm })
    m.set(`${p}self_attn.q_proj.weight`, { dense: l.qkv, row0: 0 })
    m.set(`${p}self_attn.k_proj.weight`, { dense: l.qkv, row0: Hq * D })
    m.set(`${p}self_attn.v_proj.weight`, { dense: l.qkv, row0: (Hq + Hkv) * D })
    m.set(`${p}self_attn.o_proj.weight`, { dense: l.o, row0: 0 })
    m.set(`${p}mlp.gate_proj.weight`, { dense: l.gateUp, row0: 0 })
    m.set(`${p}mlp.up_proj.weight`, { dense: l.gateUp, row0: I })
    m.set(`${p}mlp.down_proj.weight`, { dense: l.down, row0: 0 })
  })
  return m
}

/** Pieces of rows [row0, row0 + rows) of `d` per part: (buffer, element offset in the part, tensor element offset, count). */
const pieces = (d: DenseWeight, row0: number, rows: number): Array<{ buffer: GPUBuffer; dst: number; src: number; count: number }> =>
  d.parts.flatMap((p) => {
    const a = Math.max(row0, p.n0)
    const b = Math.min(row0 + rows, p.n0 + p.n)
    return b > a ? [{ buffer: p.buffer, dst: (a - p.n0) * d.cols, src: (a - row0) * d.cols, count: (b - a) * d.cols }] : []
  })

/**
 * Fills every weight with the synthetic values of `seed` on the GPU (decoderHash.weight per tensor
 * name: the host's `syntheticWeights` gives the same numbers).
 */
export const fillSyntheticWeights = async (gpu: GpuContext, w: GpuWeights, dims: DecoderDims, seed: number): Promise<void> => {
  const k = await decoderKernel(gpu, "decoder.weightFill", WEIGHT_FILL_BINDINGS, weightFillWgsl())
  const at = targets(w, dims)
  const passes: Pass[] = []
  const temp: GPUBuffer[] = []
  for (const t of decoderTensors(dims)) {
    const target = at.get(t.name)
    if (target === undefined) continue // lm_head when tied
    const st = decoderHash.tensorSeed(seed, t.name)
    const kind = t.kind === "dense" ? 0 : 1
    const list = "norm" in target ? [{ buffer: target.norm, dst: 0, src: 0, count: t.shape[0]! }] : pieces(target.dense, target.row0, t.shape[0]!)
    for (const p of list) {
      // One dispatch covers at most 2^24 elements (65535 × 256 workgroups in x, y fills the rest).
      for (let o = 0; o < p.count; o += 2 ** 24) {
        const count = Math.min(2 ** 24, p.count - o)
        const params = gpuOps.uniform(gpu, [count, p.dst + o, p.src + o, st, kind, 0, 0, 0], "weightFill.params")
        temp.push(params)
        passes.push({ pipeline: k.pipeline, group: k.group({ dst: p.buffer, params }), workgroups: gpuOps.grid(gpu, Math.ceil(count / 256)) })
      }
    }
  }
  for (let i = 0; i < passes.length; i += 64) await gpuOps.submit(gpu, "decoder weight fill", passes.slice(i, i + 64))
  await gpu.device.queue.onSubmittedWorkDone()
  temp.forEach((b) => b.destroy())
}

/**
 * Checks every tensor of a checkpoint against `dims` before anything is allocated; returns whether
 * the LM head is tied to the embedding (no lm_head.weight). Throws InputFileInvalid naming the tensor.
 */
export const checkWeightsFile = (st: SafetensorsFile, dims: DecoderDims): { tied: boolean } => {
  let tied = false
  for (const t of decoderTensors(dims)) {
    const e = st.tensors.get(t.name)
    if (e === undefined) {
      if (t.name === "lm_head.weight") {
        tied = true
        continue
      }
      throw new InputFileInvalid({ file: st.file, message: `tensor ${t.name} is missing (dims want shape [${t.shape.join(", ")}])` })
    }
    if (e.shape.length !== t.shape.length || e.shape.some((x, i) => x !== t.shape[i]))
      throw new InputFileInvalid({ file: st.file, message: `tensor ${t.name} has shape [${e.shape.join(", ")}]; dims want [${t.shape.join(", ")}]` })
  }
  return { tied }
}

/** Uploads a checked checkpoint's tensors (widened to f32 on the host) into the weight buffers. */
export const uploadWeightsFile = (gpu: GpuContext, w: GpuWeights, dims: DecoderDims, st: SafetensorsFile): void => {
  const at = targets(w, dims)
  for (const [name, target] of at) {
    const data = st.readF32(name)
    if ("norm" in target) gpuOps.write(gpu, target.norm, data)
    else
      for (const p of pieces(target.dense, target.row0, data.length / target.dense.cols))
        gpu.device.queue.writeBuffer(p.buffer, p.dst * 4, data.buffer, data.byteOffset + p.src * 4, p.count * 4)
  }
}
