import { defineBindings } from "../bindings.js"

/** Centroid bindings: one segment (whole chunks) of a layer's shared K, the layer's centroids [N, Hkv, D]. */
export const CENTROID_BINDINGS = defineBindings({ k: "read<f32>", cent: "rw<f32>", params: "uniform" })

/**
 * One thread per (chunk, KV head, dim) of the segment: the mean of the chunk's keys (the last chunk
 * of the corpus may be short), summed in f32 in token order.
 */
export const centroidWgsl = (): string => /* wgsl */ `
struct Params { chunks: u32, c0: u32, chunkTokens: u32, segTokens: u32, row: u32, _a: u32, _b: u32, _c: u32 }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let g = (wg.x + wg.y * nw.x) * 256u + t;
  if (g >= params.chunks * params.row) { return; }
  let c = g / params.row;
  let j = g % params.row;
  let t0 = c * params.chunkTokens;
  let n = min(params.chunkTokens, params.segTokens - t0);
  var s = 0.0;
  for (var i = 0u; i < n; i++) { s += k[(t0 + i) * params.row + j]; }
  cent[(params.c0 + c) * params.row + j] = s / f32(n);
}
`
