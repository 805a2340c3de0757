import { defineBindings } from "../bindings.js"
import { decoderHash } from "./decoderHash.js"

/** Corpus fill bindings: one segment (whole chunks) of a layer's shared K and V. */
export const CORPUS_FILL_BINDINGS = defineBindings({ k: "rw<f32>", v: "rw<f32>", params: "uniform" })

/**
 * Element off + i of the segment is corpus element e = elem0 + off + i (token e / row, column e % row):
 * k = decoderHash.corpus(kSeed, biasSeed, e, chunk·row + column), v = decoderHash.corpus(vSeed, −, e).
 */
export const corpusFillWgsl = (): string => /* wgsl */ `
struct Params { elem0: u32, count: u32, row: u32, chunkTokens: u32, kSeed: u32, vSeed: u32, biasSeed: u32, off: u32 }
${decoderHash.PCG_WGSL}
fn element(st: u32, i: u32) -> u32 { return pcg(pcg(i) ^ st); }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let i = (wg.x + wg.y * nw.x) * 256u + t;
  if (i >= params.count) { return; }
  let e = params.elem0 + params.off + i;
  let bi = (e / params.row / params.chunkTokens) * params.row + e % params.row;
  let kn = i32(element(params.kSeed, e) >> 20u) - 2048 + i32(element(params.biasSeed, bi) >> 20u) - 2048;
  let vn = i32(element(params.vSeed, e) >> 20u) - 2048;
  k[params.off + i] = f32(kn) * ${2 ** -12};
  v[params.off + i] = f32(vn) * ${2 ** -12};
}
`
