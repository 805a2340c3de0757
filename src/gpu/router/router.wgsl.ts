import { defineBindings } from "../bindings.js"

/** Router bindings: queries, chunk centroids [N, Hkv, D], chosen chunk ids [B, Hkv, K]. */
export const ROUTER_BINDINGS = defineBindings({
  q: "read<f32>",
  cent: "read<f32>",
  out: "rw<i32>",
  params: "uniform",
})

/** Most chunks one router workgroup scores (their scores sit in workgroup memory). */
export const ROUTER_MAX_CHUNKS = 4096

/**
 * One workgroup per (request, KV head): the group-mean query is dotted with every chunk centroid,
 * then each chunk's rank is counted (higher score first, ties to the lower id) and the first K
 * ranks written in order: deterministic, no sort network, O(N²/256) per workgroup.
 */
export const routerWgsl = (dim: number, group: number, maxChunks: number): string => /* wgsl */ `
struct Params { Hkv: u32, N: u32, K: u32, nwg: u32 }
const D: u32 = ${dim}u;
const G: u32 = ${group}u;
const WG: u32 = 256u;
var<workgroup> qm: array<f32, ${dim}>;
var<workgroup> sc: array<f32, ${maxChunks}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let wid = wg.x + wg.y * nw.x;
  if (wid >= params.nwg) { return; }
  let h = wid % params.Hkv;
  let b = wid / params.Hkv;
  let Hq = params.Hkv * G;
  for (var d = t; d < D; d += WG) {
    var acc = 0.0;
    for (var g = 0u; g < G; g++) { acc += q[(b * Hq + h * G + g) * D + d]; }
    qm[d] = acc / f32(G);
  }
  workgroupBarrier();
  for (var c = t; c < params.N; c += WG) {
    var acc = 0.0;
    for (var d = 0u; d < D; d++) { acc = fma(qm[d], cent[(c * params.Hkv + h) * D + d], acc); }
    sc[c] = acc;
  }
  workgroupBarrier();
  for (var c = t; c < params.N; c += WG) {
    let s = sc[c];
    var rank = 0u;
    for (var o = 0u; o < params.N; o++) {
      let so = sc[o];
      rank += select(0u, 1u, so > s || (so == s && o < c));
    }
    if (rank < params.K) { out[(b * params.Hkv + h) * params.K + rank] = i32(c); }
  }
}
`
