import { defineBindings } from "../bindings.js"

/** Embedding lookup bindings: token ids, one row-part of the table, hidden states, step counts. */
export const EMBED_BINDINGS = defineBindings({ ids: "read<i32>", table: "read<f32>", out: "rw<f32>", counts: "read<u32>", params: "uniform" })

/**
 * One thread per hidden element: row r copies its token's embedding row when the token falls in
 * this part of the table [v0, v0 + nv) (tables over the binding limit are split by rows).
 */
export const embedWgsl = (): string => /* wgsl */ `
struct Params { H: u32, v0: u32, nv: u32, countWord: u32 }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let i = (wg.x + wg.y * nw.x) * 256u + t;
  if (i >= counts[params.countWord] * params.H) { return; }
  let r = i / params.H;
  let id = u32(ids[r]);
  if (id < params.v0 || id >= params.v0 + params.nv) { return; }
  out[i] = table[(id - params.v0) * params.H + i % params.H];
}
`
