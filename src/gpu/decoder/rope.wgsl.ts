import { defineBindings } from "../bindings.js"

/** RoPE bindings: the fused q|k|v rows (rotated in place), per-row cos|sin table, step counts. */
export const ROPE_BINDINGS = defineBindings({ qkv: "rw<f32>", cs: "read<f32>", counts: "read<u32>", params: "uniform" })

/**
 * Llama's rotate-half RoPE on the q and k heads of each row: for i < D/2,
 * (x_i, x_{i+D/2}) ← (x_i·cos − x_{i+D/2}·sin, x_{i+D/2}·cos + x_i·sin) with the row's angles
 * pos·θ^(−2i/D). The host writes cos/sin per row ([r, D] = cos[D/2] | sin[D/2]) from float64
 * angles: an f32 pos·freq loses the angle at long positions (pos 10⁶ → ~0.06 rad).
 */
export const ropeWgsl = (): string => /* wgsl */ `
struct Params { D: u32, heads: u32, W: u32, countWord: u32 }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let g = (wg.x + wg.y * nw.x) * 256u + t;
  let half = params.D / 2u;
  let perRow = params.heads * half;
  if (g >= counts[params.countWord] * perRow) { return; }
  let r = g / perRow;
  let hh = (g % perRow) / half;
  let i = g % half;
  let base = r * params.W + hh * params.D;
  let c = cs[r * params.D + i];
  let s = cs[r * params.D + half + i];
  let x1 = qkv[base + i];
  let x2 = qkv[base + half + i];
  qkv[base + i] = x1 * c - x2 * s;
  qkv[base + half + i] = x2 * c + x1 * s;
}
`
