import { defineBindings } from "../bindings.js"

/** Merge kernel bindings: partial outputs/LSEs, per-row slot lists (CSR), merged outputs. */
export const MERGE_BINDINGS = defineBindings({
  po: "read<f32>",
  pl: "read<f32>",
  slots: "read<u32>",
  offs: "read<u32>",
  out: "rw<f32>",
  lse: "rw<f32>",
  params: "uniform",
})

/**
 * One workgroup per output row: exact n-way LSE merge of the partials listed in
 * `slots[offs[row] .. offs[row+1])`. Empty partials (lse ≤ EMPTY/2) weigh 0; a row with none
 * left gets o = 0 and lse = -inf (bit pattern), so no NaN leaks.
 */
export const mergeWgsl = (dim: number): string => /* wgsl */ `
struct Params { rows: u32, outRow0: u32, negInfBits: u32, _b: u32 }
const D: u32 = ${dim}u;
const WG: u32 = 64u;
const EMPTY_HALF: f32 = -5e29;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wg.x + wg.y * nw.x;
  if (row >= params.rows) { return; }
  let a = offs[row];
  let b = offs[row + 1u];
  var m = EMPTY_HALF;
  for (var i = a; i < b; i++) { m = max(m, pl[slots[i]]); }
  let orow = params.outRow0 + row;
  if (m <= EMPTY_HALF) {
    for (var d = t; d < D; d += WG) { out[orow * D + d] = 0.0; }
    // -inf comes from the host (0xff800000): WGSL rejects a constant -inf.
    if (t == 0u) { lse[orow] = bitcast<f32>(params.negInfBits); }
    return;
  }
  var sum = 0.0;
  for (var i = a; i < b; i++) { sum += exp(pl[slots[i]] - m); }
  for (var d = t; d < D; d += WG) {
    var acc = 0.0;
    for (var i = a; i < b; i++) {
      let s = slots[i];
      acc += exp(pl[s] - m) * po[s * D + d];
    }
    out[orow * D + d] = acc / sum;
  }
  if (t == 0u) { lse[orow] = m + log(sum); }
}
`
